/**
 * The event-validator core: check each EventBridge event's envelope and its detail against
 * the schema configured for its source and detail-type, republish the valid ones under the
 * output source, and send everything else to the DLQ stream with every reason found.
 * Nothing is acknowledged unwritten: what could not be republished or dead-lettered yet
 * comes back in batchItemFailures (a batch: SQS, or a Pipes array) or fails the invocation
 * (one event from a rule, where there is nothing else to republish again).
 */
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { EventBridgeEvent, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { outcomeError, type RetryDeps, retryDepsOf } from '../core/batch-writer.js';
import { outputSourceOf } from '../core/config/rules.js';
import type { PipelineConfig } from '../core/config/schema.js';
import { dlqEntry } from '../core/dlq.js';
import { ConfigError, type DlqReason, RetryLaterError } from '../core/errors.js';
import {
  type EventBridgeWriterDeps,
  MAX_PUT_EVENTS_BYTES,
  PUT_EVENTS_SIZE_LIMIT,
  putEvents,
  putEventsEntrySize,
} from '../core/eventbridge-writer.js';
import { maxRecordBytesOf, type WriteEntry, type WriterDeps, writeRecords } from '../core/kinesis-writer.js';
import { type Counts, increment, type LogPort, type MetricsPort } from '../core/observability.js';
import { checkEnvelope, type Envelope } from './envelope.js';
import type { SchemaRegistry, ValidationIssue } from './schema-registry.js';

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

type Verdict =
  | { kind: 'republish'; entry: PutEventsRequestEntry }
  | { kind: 'dlq'; reason: DlqReason; message: string; errors?: ValidationIssue[]; target?: string };

type ValidatorSettings = NonNullable<PipelineConfig['eventValidator']>;

/** A source the validator must not take: one of its own outputs (a loop), or one not configured. */
function refusedSource(validator: ValidatorSettings, source: string): Verdict | undefined {
  const outputs = Object.keys(validator.sources).map((s) => outputSourceOf(validator, s));
  if (source.startsWith(validator.outputPrefix) || outputs.includes(source)) {
    return {
      kind: 'dlq',
      reason: 'LOOP',
      message: `Source ${source} is an output source: refusing to republish it`,
    };
  }
  if (!Object.hasOwn(validator.sources, source)) {
    return { kind: 'dlq', reason: 'NO_ROUTE', message: `Source ${source} is not configured` };
  }
  return undefined;
}

/** The valid event as republished: under its output source, with where it came from in its detail. */
function republished(
  validator: ValidatorSettings,
  event: Envelope,
  schema: string | null,
  trace: string | undefined,
): PutEventsRequestEntry {
  const source = event.source;
  const settings = validator.sources[source] as ValidatorSettings['sources'][string];
  const detail = {
    ...event.detail,
    [TRACE_FIELD]: {
      originalId: event.id,
      originalSource: source,
      ...(event.account ? { originalAccount: event.account } : {}),
      schema,
    },
  };
  return {
    EventBusName: settings.targetBus ?? validator.centralBus.name,
    Source: outputSourceOf(validator, source),
    DetailType: event['detail-type'],
    Detail: JSON.stringify(detail),
    Resources: event.resources ?? [],
    Time: new Date(event.time),
    ...(trace ? { TraceHeader: trace } : {}),
  };
}

/** What to do with one event: its republished entry, or why it goes to the DLQ. */
export function judge(
  raw: unknown,
  deps: Pick<ValidatorDeps, 'config' | 'schemas' | 'traceHeader'>,
): Verdict {
  const validator = deps.config.eventValidator;
  if (!validator) throw new ConfigError(['eventValidator: is not configured']);
  const envelope = checkEnvelope(raw);
  if (!envelope.success) {
    const errors = envelope.issues;
    return { kind: 'dlq', reason: 'INVALID_ENVELOPE', message: 'The event envelope is not valid', errors };
  }
  const event = envelope.data;
  const { source, 'detail-type': detailType } = event;
  const refused = refusedSource(validator, source);
  if (refused) return refused;
  const settings = validator.sources[source] as ValidatorSettings['sources'][string];
  const validate = deps.schemas.get(source, detailType);
  // `ignore` filters at the rule; one that still arrives (invoke local, Pipes) is not lost either.
  if (!validate && settings.unknownDetailType !== 'accept') {
    return { kind: 'dlq', reason: 'NO_SCHEMA', message: `No schema for ${source} / ${detailType}` };
  }
  const errors = validate ? validate(event.detail) : [];
  if (errors.length > 0) {
    return { kind: 'dlq', reason: 'INVALID_EVENT', message: `${errors.length} validation error(s)`, errors };
  }
  const schema = validate ? (settings.detailTypes[detailType]?.schema ?? null) : null;
  const entry = republished(validator, event, schema, deps.traceHeader?.());
  const size = putEventsEntrySize(entry);
  if (size <= MAX_PUT_EVENTS_BYTES) return { kind: 'republish', entry };
  return {
    kind: 'dlq',
    reason: 'ENTRY_TOO_LARGE',
    message: `The republished entry would be ${size} bytes; PutEvents takes less than ${PUT_EVENTS_SIZE_LIMIT}`,
    target: entry.EventBusName as string,
  };
}

/**
 * One input event with where it came from. `handBack` is what names it in batchItemFailures:
 * the SQS messageId (Lambda's SQS event source, or an SQS record in a Pipes array), else the
 * event's own id (a bare event in a Pipes array).
 */
interface Item {
  raw: unknown;
  text: string;
  messageId?: string;
  handBack?: string;
}

/** How the function was invoked: one event (a rule target), or a batch it can answer item by item. */
interface Input {
  items: Item[];
  batch: boolean;
}

type AnyInput = AnyEvent | readonly unknown[] | SQSEvent;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** An SQS message (from Lambda's SQS event source, or an item of a Pipes array from an SQS source). */
const isSqsRecord = (value: unknown): value is SQSRecord =>
  isObject(value) && typeof value.messageId === 'string' && typeof value.body === 'string';

function fromSqsRecord(record: SQSRecord): Item {
  let raw: unknown;
  try {
    raw = JSON.parse(record.body);
  } catch {
    raw = undefined; // fails the envelope check, with the body kept in the DLQ envelope
  }
  return { raw, text: record.body, messageId: record.messageId, handBack: record.messageId };
}

function fromBareEvent(raw: unknown): Item {
  const id = isObject(raw) && typeof raw.id === 'string' && raw.id !== '' ? raw.id : undefined;
  return { raw, text: JSON.stringify(raw) ?? String(raw), ...(id === undefined ? {} : { handBack: id }) };
}

export function readInput(input: AnyInput): Input {
  if (Array.isArray(input)) {
    return {
      batch: true,
      items: input.map((raw) => (isSqsRecord(raw) ? fromSqsRecord(raw) : fromBareEvent(raw))),
    };
  }
  if (isObject(input) && Array.isArray(input.Records)) {
    return {
      batch: true,
      items: (input.Records as unknown[]).map((raw) =>
        isSqsRecord(raw) ? fromSqsRecord(raw) : fromBareEvent(raw),
      ),
    };
  }
  return { batch: false, items: [fromBareEvent(input)] };
}

/** The verdicts of one kind, by index, each made into its write entry. */
function select<K extends Verdict['kind'], E>(
  verdicts: readonly Verdict[],
  kind: K,
  entryOf: (verdict: Extract<Verdict, { kind: K }>, index: number) => E,
): { indices: number[]; entries: E[] } {
  const indices: number[] = [];
  const entries: E[] = [];
  verdicts.forEach((verdict, i) => {
    if (verdict.kind !== kind) return;
    indices.push(i);
    entries.push(entryOf(verdict as Extract<Verdict, { kind: K }>, i));
  });
  return { indices, entries };
}

/** Events not written anywhere yet, by index, each with why: handed back or retried. */
type NotYet = Map<number, Error>;

/**
 * Step 1: PutEvents for every `republish` verdict. Written: done. Refused for good (a
 * non-retryable code): becomes a REPUBLISH_REJECTED dead letter. Still failing when the
 * retries ran out: added to `notYet`, to be handed back.
 */
async function republish(
  verdicts: Verdict[],
  notYet: NotYet,
  deps: ValidatorDeps,
  retry: RetryDeps,
): Promise<void> {
  const { indices, entries } = select(verdicts, 'republish', (verdict) => verdict.entry);
  if (entries.length === 0) return;
  const published = await putEvents(entries, { ...retry, eventBridge: deps.eventBridge });
  indices.forEach((i, k) => {
    const outcome = published.outcomes[k];
    if (outcome?.status === 'written') return;
    if (outcome?.status === 'failed' && outcome.exhausted) {
      notYet.set(i, outcomeError(outcome)); // throttled or failing right now: handed back, the source retries it
      return;
    }
    const why = outcomeError(outcome).message;
    const target = entries[k]?.EventBusName;
    verdicts[i] = {
      kind: 'dlq',
      reason: 'REPUBLISH_REJECTED',
      message: `PutEvents refused the entry (${why})`,
      ...(target ? { target } : {}),
    };
  });
}

/** The DLQ envelope's write entry for one dead-letter verdict. */
function deadLetterEntry(
  item: Item | undefined,
  verdict: Verdict & { kind: 'dlq' },
  deps: ValidatorDeps,
): WriteEntry {
  const raw = (isObject(item?.raw) ? item?.raw : undefined) as Partial<AnyEvent> | undefined;
  return dlqEntry(
    deps.config.dlq.stream,
    {
      reason: verdict.reason,
      message: verdict.message,
      handler: HANDLER_NAME,
      source: {
        type: 'eventbridge',
        arn: deps.busArn,
        id: String(raw?.id ?? item?.messageId ?? 'unknown'),
        eventSource: raw?.source,
        detailType: raw?.['detail-type'],
        account: raw?.account,
        time: raw?.time,
        ...(item?.messageId ? { messageId: item.messageId } : {}),
      },
      ...(verdict.target ? { target: verdict.target } : {}),
      ...(verdict.errors ? { errors: verdict.errors } : {}),
      payload: { encoding: 'utf8', data: item?.text ?? '' },
    },
    deps.now(),
  );
}

/**
 * Step 2: every `dlq` verdict to the DLQ stream, each with every reason found. A dead
 * letter whose write did not succeed is never acknowledged: it joins `notYet`.
 */
async function deadLetter(
  items: Item[],
  verdicts: Verdict[],
  notYet: NotYet,
  deps: ValidatorDeps,
  retry: RetryDeps,
): Promise<void> {
  const { indices, entries } = select(verdicts, 'dlq', (verdict, i) =>
    deadLetterEntry(items[i], verdict, deps),
  );
  if (entries.length === 0) return;
  const written = await writeRecords(entries, {
    ...retry,
    kinesis: deps.kinesis,
    maxRecordBytes: (stream) => maxRecordBytesOf(deps.config, stream),
  });
  indices.forEach((i, k) => {
    const outcome = written.outcomes[k];
    if (outcome?.status !== 'written') notYet.set(i, outcomeError(outcome));
  });
}

/** Step 3: one line per dead letter (its reason, never its body), counts, and a summary. */
function report(items: Item[], verdicts: Verdict[], notYet: NotYet, deps: ValidatorDeps): void {
  const counts: Counts = { received: items.length, republished: 0, sentToDlq: 0, retryLater: notYet.size };
  const reasons: Counts = {};
  verdicts.forEach((verdict, i) => {
    const raw = (isObject(items[i]?.raw) ? items[i]?.raw : {}) as Partial<AnyEvent>;
    const about = { eventId: raw.id, eventSource: raw.source, detailType: raw['detail-type'] };
    if (notYet.has(i)) {
      deps.logger.warn('Event handed back for a retry', { ...about, outcome: verdict.kind });
      return;
    }
    if (verdict.kind === 'republish') {
      increment(counts, 'republished');
      return;
    }
    increment(counts, 'sentToDlq');
    increment(reasons, verdict.reason);
    deps.logger.warn('Event sent to the DLQ stream', {
      ...about,
      reason: verdict.reason,
      why: verdict.message,
      ...(verdict.errors ? { validationErrors: verdict.errors } : {}),
    });
  });
  deps.metrics.publish({ name: 'handler', value: HANDLER_NAME }, counts);
  const summary = { ...counts, dlqByReason: reasons };
  if (notYet.size > 0) deps.logger.error('Events not yet written anywhere', summary);
  else deps.logger.info('Events validated', summary);
}

/**
 * Step 4: the answer. A batch names what was not written (each id once): only those come
 * back, so nothing already republished is republished again. One event, or an item that
 * has nothing to name it by, fails the invocation instead.
 */
function respond(input: Input, notYet: NotYet): SQSBatchResponse | undefined {
  const handBack = [...notYet.keys()].sort((a, b) => a - b).map((i) => input.items[i]?.handBack);
  if (input.batch && handBack.every((id) => id !== undefined)) {
    return { batchItemFailures: [...new Set(handBack)].map((itemIdentifier) => ({ itemIdentifier })) };
  }
  if (notYet.size > 0) {
    throw new RetryLaterError(`${notYet.size} event(s) could not be republished or dead-lettered yet`, {
      cause: notYet.values().next().value,
    });
  }
  return undefined;
}

/**
 * Validates one event (rule target), a Pipes array (bare events, or SQS messages whose
 * bodies are events) or an SQS batch. Every event ends republished, in the DLQ stream, or
 * handed back (batchItemFailures), never two of these.
 */
export async function validateEvents(
  input: AnyInput,
  deps: ValidatorDeps,
): Promise<SQSBatchResponse | undefined> {
  const read = readInput(input);
  const verdicts = read.items.map((item) => judge(item.raw, deps));
  const retry = retryDepsOf(deps);
  const notYet: NotYet = new Map();
  await republish(verdicts, notYet, deps, retry);
  await deadLetter(read.items, verdicts, notYet, deps, retry);
  report(read.items, verdicts, notYet, deps);
  return respond(read, notYet);
}
