/**
 * The event-validator core: check each EventBridge event's envelope and its detail against
 * the schema configured for its source and detail-type, republish the valid ones under the
 * output source, and send everything else to the DLQ stream with every reason found.
 * Nothing is acknowledged unwritten: what could not be republished or dead-lettered yet
 * fails the invocation (or, from SQS, comes back in batchItemFailures).
 */
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { EventBridgeEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import { outputSourceOf } from './config/rules.js';
import type { PipelineConfig } from './config/schema.js';
import { dlqEntry } from './dlq.js';
import { type DlqReason, RetryLaterError } from './errors.js';
import type { SchemaRegistry, ValidationIssue } from './event-schemas.js';
import {
  type EventBridgeWriterDeps,
  MAX_PUT_EVENTS_BYTES,
  putEvents,
  putEventsEntrySize,
} from './eventbridge-writer.js';
import { type WriteEntry, type WriterDeps, writeRecords } from './kinesis-writer.js';
import type { Counts, LogPort, MetricsPort } from './observability.js';

export const HANDLER_NAME = 'event-validator';
/** The field added to a republished event's detail, so consumers can trace it back. */
export const TRACE_FIELD = '_validation';

type AnyEvent = EventBridgeEvent<string, unknown>;

export interface ValidatorDeps {
  config: PipelineConfig;
  schemas: SchemaRegistry;
  eventBridge: EventBridgeWriterDeps['eventBridge'];
  kinesis: WriterDeps['kinesis'];
  logger: LogPort;
  metrics: MetricsPort;
  now: () => Date;
  /** The bus the input rule listens on, for the DLQ envelope. */
  busArn: string;
  /** The X-Ray trace header of this invocation, to pass on with PutEvents. */
  traceHeader?: () => string | undefined;
  remainingTimeMs?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  policy?: WriterDeps['policy'];
}

const envelopeSchema = z.object({
  id: z.string().min(1),
  'detail-type': z.string().min(1).max(256),
  source: z.string().min(1).max(256),
  account: z.string().optional(),
  time: z.iso.datetime({ offset: true }),
  region: z.string().optional(),
  resources: z.array(z.string()).optional(),
  detail: z.record(z.string(), z.unknown()),
});

type Verdict =
  | { kind: 'republish'; entry: PutEventsRequestEntry }
  | { kind: 'dlq'; reason: DlqReason; message: string; errors?: ValidationIssue[]; target?: string };

/** What to do with one event: its republished entry, or why it goes to the DLQ. */
export function judge(
  raw: unknown,
  deps: Pick<ValidatorDeps, 'config' | 'schemas' | 'traceHeader'>,
): Verdict {
  const validator = deps.config.eventValidator;
  if (!validator) throw new Error('eventValidator is not configured');
  const envelope = envelopeSchema.safeParse(raw);
  if (!envelope.success) {
    const errors = envelope.error.issues.map((issue) => ({
      path: `/${issue.path.join('/')}`,
      message: issue.message,
    }));
    return { kind: 'dlq', reason: 'INVALID_ENVELOPE', message: 'The event envelope is not valid', errors };
  }
  const event = envelope.data;
  const source = event.source;
  const outputs = Object.keys(validator.sources).map((s) => outputSourceOf(validator, s));
  if (source.startsWith(validator.outputPrefix) || outputs.includes(source)) {
    return {
      kind: 'dlq',
      reason: 'LOOP',
      message: `Source ${source} is an output source: refusing to republish it`,
    };
  }
  const settings = validator.sources[source];
  if (!settings || !Object.hasOwn(validator.sources, source)) {
    return { kind: 'dlq', reason: 'NO_ROUTE', message: `Source ${source} is not configured` };
  }
  const detailType = event['detail-type'];
  const validate = deps.schemas.get(source, detailType);
  if (!validate && settings.unknownDetailType === 'reject') {
    return { kind: 'dlq', reason: 'NO_SCHEMA', message: `No schema for ${source} / ${detailType}` };
  }
  const errors = validate ? validate(event.detail) : [];
  if (errors.length > 0) {
    return { kind: 'dlq', reason: 'INVALID_EVENT', message: `${errors.length} validation error(s)`, errors };
  }
  const target = settings.targetBus ?? validator.centralBus.name;
  const detail = {
    ...event.detail,
    [TRACE_FIELD]: {
      originalId: event.id,
      originalSource: source,
      ...(event.account ? { originalAccount: event.account } : {}),
      schema: validate ? (settings.detailTypes[detailType]?.schema ?? null) : null,
    },
  };
  const trace = deps.traceHeader?.();
  const entry: PutEventsRequestEntry = {
    EventBusName: target,
    Source: outputSourceOf(validator, source),
    DetailType: detailType,
    Detail: JSON.stringify(detail),
    Resources: event.resources ?? [],
    Time: new Date(event.time),
    ...(trace ? { TraceHeader: trace } : {}),
  };
  const size = putEventsEntrySize(entry);
  if (size > MAX_PUT_EVENTS_BYTES) {
    return {
      kind: 'dlq',
      reason: 'ENTRY_TOO_LARGE',
      message: `The republished entry would be ${size} bytes; PutEvents takes at most ${MAX_PUT_EVENTS_BYTES}`,
      target,
    };
  }
  return { kind: 'republish', entry };
}

/** One input event with where it came from (for batchItemFailures, when from SQS). */
interface Item {
  raw: unknown;
  text: string;
  messageId?: string;
}

function items(input: AnyEvent | AnyEvent[] | SQSEvent): { items: Item[]; fromSqs: boolean } {
  if (Array.isArray(input))
    return { items: input.map((raw) => ({ raw, text: JSON.stringify(raw) })), fromSqs: false };
  if (input && typeof input === 'object' && 'Records' in input && Array.isArray(input.Records)) {
    return {
      fromSqs: true,
      items: input.Records.map((record) => {
        let raw: unknown;
        try {
          raw = JSON.parse(record.body);
        } catch {
          raw = undefined; // fails the envelope check, with the body kept in the DLQ envelope
        }
        return { raw, text: record.body, messageId: record.messageId };
      }),
    };
  }
  return { items: [{ raw: input, text: JSON.stringify(input) }], fromSqs: false };
}

function increment(counts: Counts, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

export async function validateEvents(
  input: AnyEvent | AnyEvent[] | SQSEvent,
  deps: ValidatorDeps,
): Promise<SQSBatchResponse | undefined> {
  const { items: list, fromSqs } = items(input);
  const verdicts = list.map((item) => judge(item.raw, deps));
  const retry = {
    remainingTimeMs: deps.remainingTimeMs,
    sleep: deps.sleep,
    random: deps.random,
    policy: deps.policy,
  };

  // 1. Republish the valid ones.
  const republishIndex: number[] = [];
  const entries: PutEventsRequestEntry[] = [];
  verdicts.forEach((verdict, i) => {
    if (verdict.kind === 'republish') {
      republishIndex.push(i);
      entries.push(verdict.entry);
    }
  });
  const published =
    entries.length > 0 ? await putEvents(entries, { ...retry, eventBridge: deps.eventBridge }) : undefined;
  const notYet = new Set<number>();
  republishIndex.forEach((i, k) => {
    const outcome = published?.outcomes[k];
    if (outcome?.status === 'written') return;
    if (outcome?.status === 'failed' && outcome.exhausted) {
      notYet.add(i); // throttled or failing right now: Lambda's retries take it from here
      return;
    }
    const why =
      outcome?.status === 'failed' ? `${outcome.errorCode}: ${outcome.errorMessage}` : 'entry too large';
    verdicts[i] = {
      kind: 'dlq',
      reason: 'REPUBLISH_REJECTED',
      message: `PutEvents refused the entry (${why})`,
      ...(entries[k]?.EventBusName ? { target: entries[k]?.EventBusName as string } : {}),
    };
  });

  // 2. Dead-letter the rest, each with every reason found.
  const dlqIndex: number[] = [];
  const dlqEntries: WriteEntry[] = [];
  verdicts.forEach((verdict, i) => {
    if (verdict.kind !== 'dlq') return;
    const raw = list[i]?.raw as Partial<AnyEvent> | undefined;
    dlqIndex.push(i);
    dlqEntries.push(
      dlqEntry(
        deps.config.dlq.stream,
        {
          reason: verdict.reason,
          message: verdict.message,
          handler: HANDLER_NAME,
          source: {
            type: 'eventbridge',
            arn: deps.busArn,
            id: String(raw?.id ?? list[i]?.messageId ?? 'unknown'),
            eventSource: raw?.source,
            detailType: raw?.['detail-type'],
            account: raw?.account,
            time: raw?.time,
            ...(list[i]?.messageId ? { messageId: list[i]?.messageId } : {}),
          },
          ...(verdict.target ? { target: verdict.target } : {}),
          ...(verdict.errors ? { errors: verdict.errors } : {}),
          payload: { encoding: 'utf8', data: list[i]?.text ?? '' },
        },
        deps.now(),
      ),
    );
  });
  const deadLettered =
    dlqEntries.length > 0
      ? await writeRecords(dlqEntries, {
          ...retry,
          kinesis: deps.kinesis,
          maxRecordBytes: () => deps.config.dlq.settings.maxRecordSizeKiB * 1024,
        })
      : undefined;
  dlqIndex.forEach((i, k) => {
    if (deadLettered?.outcomes[k]?.status !== 'written') notYet.add(i);
  });

  // 3. Report.
  const counts: Counts = { received: list.length, republished: 0, sentToDlq: 0, retryLater: notYet.size };
  const reasons: Counts = {};
  verdicts.forEach((verdict, i) => {
    if (notYet.has(i)) return;
    if (verdict.kind === 'republish') increment(counts, 'republished');
    else {
      increment(counts, 'sentToDlq');
      increment(reasons, verdict.reason);
    }
  });
  deps.metrics.publish({ name: 'handler', value: HANDLER_NAME }, counts);
  const summary = { ...counts, dlqByReason: reasons };
  if (notYet.size > 0) deps.logger.error('Events not yet written anywhere', summary);
  else deps.logger.info('Events validated', summary);

  if (fromSqs) {
    return { batchItemFailures: [...notYet].map((i) => ({ itemIdentifier: list[i]?.messageId as string })) };
  }
  if (notYet.size > 0) {
    // Lambda retries the asynchronous invocation, then sends it to the on-failure destination.
    throw new RetryLaterError(`${notYet.size} event(s) could not be republished or dead-lettered yet`);
  }
  return undefined;
}
