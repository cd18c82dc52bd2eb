/**
 * The core of the sqs-to-kinesis function: map every message of a batch, write the
 * mapped records and the DLQ envelopes through the shared writer, and hand back to SQS
 * exactly the messages that were written nowhere.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { PipelineConfig } from './config/schema.js';
import { dlqEntry } from './dlq.js';
import { type DlqReason, MappingError } from './errors.js';
import { type WriteEntry, type WriterDeps, writeRecords } from './kinesis-writer.js';
import type { Counts, LogPort, MetricsPort } from './observability.js';
import {
  type CompiledRoute,
  compileRouter,
  mapSqsRecord,
  maxRecordBytesOf,
  type Router,
} from './sqs-mapping.js';

export const HANDLER_NAME = 'sqs-to-kinesis';
/** Metric dimension value for messages whose queue has no route. */
export const UNROUTED = 'unrouted';
/** At most this many message ids are listed in one log line. */
const MAX_IDS_LOGGED = 50;

export interface MapperDeps extends Omit<WriterDeps, 'maxRecordBytes'> {
  config: PipelineConfig;
  router: Router;
  logger: LogPort;
  metrics: MetricsPort;
  now: () => Date;
}

/** Everything the handler needs that is derived from the config, built once at cold start. */
export function prepareMapper(config: PipelineConfig): Pick<MapperDeps, 'config' | 'router'> {
  return { config, router: compileRouter(config) };
}

type Fate = 'written' | 'dlq' | 'handedBack';

interface RecordPlan {
  route: CompiledRoute | undefined;
  /** Index of this record's entry in the write (its target, or its DLQ envelope). */
  entry: number;
  toDlq: boolean;
  fate?: Fate;
  error?: string;
}

function sqsSource(record: SQSRecord) {
  return {
    type: 'sqs',
    arn: record.eventSourceARN,
    id: record.messageId,
    approximateReceiveCount: Number(record.attributes?.ApproximateReceiveCount),
    sentTimestamp: record.attributes?.SentTimestamp,
    ...(record.attributes?.MessageGroupId === undefined
      ? {}
      : { messageGroupId: record.attributes.MessageGroupId }),
    messageAttributes: record.messageAttributes ?? {},
  };
}

function toDlqEntry(
  record: SQSRecord,
  reason: DlqReason,
  message: string,
  route: CompiledRoute | undefined,
  deps: MapperDeps,
): WriteEntry {
  return dlqEntry(
    deps.config.dlq.stream,
    {
      reason,
      message,
      handler: HANDLER_NAME,
      source: sqsSource(record),
      ...(route ? { target: route.stream } : {}),
      payload: { encoding: 'utf8', data: record.body ?? '' },
    },
    deps.now(),
  );
}

/** FIFO order: once a message is handed back, so is every later one of its group. */
export function applyFifoOrdering(records: readonly SQSRecord[], handedBack: boolean[]): void {
  const failedGroups = new Set<string>();
  records.forEach((record, i) => {
    const group = record.attributes?.MessageGroupId;
    if (!record.eventSourceARN?.endsWith('.fifo') || group === undefined) return;
    const key = `${record.eventSourceARN}\u0000${group}`;
    if (failedGroups.has(key)) handedBack[i] = true;
    else if (handedBack[i]) failedGroups.add(key);
  });
}

function increment(counts: Counts, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

export async function processSqsBatch(event: SQSEvent, deps: MapperDeps): Promise<SQSBatchResponse> {
  const records = event.Records ?? [];
  const entries: WriteEntry[] = [];
  const plans: RecordPlan[] = records.map((record) => {
    try {
      const mapped = mapSqsRecord(record, deps.router);
      entries.push(mapped);
      return { route: mapped.route, entry: entries.length - 1, toDlq: false };
    } catch (error) {
      const route = deps.router.get(record.eventSourceARN);
      const reason: DlqReason = error instanceof MappingError ? error.reason : 'UNEXPECTED_ERROR';
      const message = error instanceof Error ? error.message : String(error);
      if (!(error instanceof MappingError)) {
        deps.logger.error('Unexpected error while mapping a message', { messageId: record.messageId, error });
      }
      entries.push(toDlqEntry(record, reason, message, route, deps));
      return { route, entry: entries.length - 1, toDlq: true, error: reason };
    }
  });

  const maxRecordBytes = (stream: string) => maxRecordBytesOf(deps.config, stream);
  const first = await writeRecords(entries, { ...deps, maxRecordBytes });
  let requests = first.requests;
  let retried = first.retriedEntries;

  // A target entry the writer refused as oversize (mapping checks first, so rare) goes to the DLQ.
  const second: WriteEntry[] = [];
  const secondOf = new Map<number, number>();
  plans.forEach((plan, i) => {
    const outcome = first.outcomes[plan.entry];
    if (outcome?.status === 'oversize' && !plan.toDlq) {
      const record = records[i] as SQSRecord;
      const message = `Record is ${outcome.size} bytes; the stream accepts at most ${outcome.limit}`;
      secondOf.set(i, second.push(toDlqEntry(record, 'RECORD_TOO_LARGE', message, plan.route, deps)) - 1);
      plan.toDlq = true;
      plan.error = 'RECORD_TOO_LARGE';
    }
  });
  const secondResult =
    second.length > 0 ? await writeRecords(second, { ...deps, maxRecordBytes }) : undefined;
  if (secondResult) {
    requests += secondResult.requests;
    retried += secondResult.retriedEntries;
  }

  const handedBack = plans.map((plan, i) => {
    const index = secondOf.get(i);
    const outcome = index === undefined ? first.outcomes[plan.entry] : secondResult?.outcomes[index];
    if (outcome?.status === 'written') return false;
    plan.error =
      outcome?.status === 'failed'
        ? outcome.errorCode
        : plan.toDlq
          ? 'DLQ_RECORD_TOO_LARGE'
          : (plan.error ?? 'NOT_WRITTEN');
    return true;
  });
  applyFifoOrdering(records, handedBack);

  const counts = new Map<string, Counts>();
  const failures: { itemIdentifier: string }[] = [];
  const handedBackIds: string[] = [];
  const dlqIds: string[] = [];
  const dlqByReason: Counts = {};
  const failedByCode: Counts = {};
  plans.forEach((plan, i) => {
    const record = records[i] as SQSRecord;
    plan.fate = handedBack[i] ? 'handedBack' : plan.toDlq ? 'dlq' : 'written';
    const name = plan.route?.name ?? UNROUTED;
    const routeCounts = counts.get(name) ?? {
      received: 0,
      written: 0,
      sentToDlq: 0,
      handedBack: 0,
      retried: 0,
    };
    counts.set(name, routeCounts);
    increment(routeCounts, 'received');
    if (plan.fate === 'written') increment(routeCounts, 'written');
    if (plan.fate === 'dlq') {
      increment(routeCounts, 'sentToDlq');
      increment(dlqByReason, plan.error ?? 'UNKNOWN');
      if (dlqIds.length < MAX_IDS_LOGGED) dlqIds.push(record.messageId);
    }
    if (plan.fate === 'handedBack') {
      increment(routeCounts, 'handedBack');
      increment(failedByCode, plan.error ?? 'FIFO_GROUP_BLOCKED');
      failures.push({ itemIdentifier: record.messageId });
      if (handedBackIds.length < MAX_IDS_LOGGED) handedBackIds.push(record.messageId);
    }
    const outcome = first.outcomes[plan.entry];
    if (outcome && outcome.status !== 'oversize' && outcome.attempts > 1) increment(routeCounts, 'retried');
  });

  for (const [route, routeCounts] of counts) {
    deps.metrics.publish({ name: 'route', value: route }, routeCounts);
  }
  const summary = {
    received: records.length,
    written: records.length - failures.length - Object.values(dlqByReason).reduce((a, b) => a + b, 0),
    sentToDlq: dlqByReason,
    ...(dlqIds.length > 0 ? { dlqMessageIds: dlqIds } : {}),
    handedBack: failures.length,
    requests,
    retriedEntries: retried,
  };
  if (failures.length > 0) {
    deps.logger.error('Messages handed back to SQS for a retry', {
      ...summary,
      errors: failedByCode,
      messageIds: handedBackIds,
    });
  } else {
    deps.logger.info('Batch processed', summary);
  }
  return { batchItemFailures: failures };
}
