/**
 * The core of the sqs-to-kinesis function: map every message of a batch, write the
 * mapped records and the DLQ envelopes through the shared writer, and hand back to SQS
 * exactly the messages that were written nowhere.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { isFifoQueue } from '../core/config/rules.js';
import type { PipelineConfig } from '../core/config/schema.js';
import { dlqEntry } from '../core/dlq.js';
import { type DlqReason, MappingError, toError } from '../core/errors.js';
import { type ShardMaps, shardMapsOf, writeRecordsAggregating } from '../core/kinesis-aggregation.js';
import {
  aggregationOf,
  BLOCKED_BY_EARLIER_ENTRY,
  maxRecordBytesOf,
  type WriteEntry,
  type WriteOutcome,
  type WriterDeps,
} from '../core/kinesis-writer.js';
import { type Counts, increment, type LogPort, type MetricsPort } from '../core/observability.js';
import { type CompiledRoute, compileRouter, mapSqsRecord, type Router } from './sqs-mapping.js';

export const HANDLER_NAME = 'sqs-to-kinesis';
/** Metric dimension value for messages whose queue has no route. */
export const UNROUTED = 'unrouted';
/** Why a FIFO message is handed back when an earlier message of its group was not written. */
export const FIFO_GROUP_BLOCKED = 'FIFO_GROUP_BLOCKED';
/** At most this many message ids are listed in one log line. */
const MAX_IDS_LOGGED = 50;

export interface MapperDeps extends Omit<WriterDeps, 'maxRecordBytes' | 'aggregation'> {
  config: PipelineConfig;
  /** Shard maps for streams with aggregation; by default, one cache per Kinesis client. */
  shardMaps?: ShardMaps;
  router: Router;
  logger: LogPort;
  metrics: MetricsPort;
  now: () => Date;
}

/** Everything the handler needs that is derived from the config, built once at cold start. */
export function prepareMapper(config: PipelineConfig): Pick<MapperDeps, 'config' | 'router'> {
  return { config, router: compileRouter(config) };
}

interface RecordPlan {
  route: CompiledRoute | undefined;
  /** Index of this record's entry in the write (its target, or its DLQ envelope); -1 when filtered out. */
  entry: number;
  toDlq: boolean;
  /** The route's function-side filter did not keep it: acknowledged, written nowhere. */
  filtered?: boolean;
  /** Needed more than one attempt. */
  retried?: boolean;
  /** Why the record goes to the DLQ (hand-back reasons come from the write). */
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

/**
 * The order a record must keep: its queue and message group for a FIFO queue (every
 * message of a group, mapped or DLQ-bound, is one sequence), none for a standard queue.
 */
export function fifoSequenceKey(record: SQSRecord): string | undefined {
  const group = record.attributes?.MessageGroupId;
  if (group === undefined || !isFifoQueue(record.eventSourceARN ?? '')) return undefined;
  return `${record.eventSourceARN}\u0000${group}`;
}

/**
 * Step 1: every record becomes one write entry, to its target or (unmappable) to the DLQ,
 * but a record the route's function-side filter does not keep, which becomes none.
 */
function mapBatch(records: readonly SQSRecord[], deps: MapperDeps) {
  const entries: WriteEntry[] = [];
  /** The record each entry was made from (filtered records make none). */
  const recordOfEntry: number[] = [];
  const add = (entry: WriteEntry, record: number) => {
    recordOfEntry.push(record);
    return entries.push(entry) - 1;
  };
  const plans: RecordPlan[] = records.map((record, i) => {
    const filtering = deps.router.get(record.eventSourceARN);
    if (filtering?.keep && !filtering.keep(record)) {
      return { route: filtering, entry: -1, toDlq: false, filtered: true };
    }
    try {
      const mapped = mapSqsRecord(record, deps.router);
      return { route: mapped.route, entry: add(mapped, i), toDlq: false };
    } catch (error) {
      const route = deps.router.get(record.eventSourceARN);
      const reason: DlqReason = error instanceof MappingError ? error.reason : 'UNEXPECTED_ERROR';
      const message = toError(error).message;
      if (!(error instanceof MappingError)) {
        deps.logger.error('Unexpected error while mapping a message', { messageId: record.messageId, error });
      }
      return {
        route,
        entry: add(toDlqEntry(record, reason, message, route, deps), i),
        toDlq: true,
        error: reason,
      };
    }
  });
  return { entries, plans, recordOfEntry };
}

/**
 * Step 2: one write for all entries (mapping already sent records over their stream's size
 * to the DLQ, so the writer can refuse only a DLQ envelope as oversize). A FIFO group's
 * entries go one at a time, in queue order, and the group stops at its first entry not
 * written: what is handed back is that entry and everything after it, never a written one.
 * Returns, per record, why it was written nowhere and must go back to SQS (undefined: written).
 */
async function writeBatch(
  records: readonly SQSRecord[],
  { entries, plans, recordOfEntry }: ReturnType<typeof mapBatch>,
  deps: MapperDeps,
) {
  const maxRecordBytes = (stream: string) => maxRecordBytesOf(deps.config, stream);
  const sequenceOf = (entry: number) => fifoSequenceKey(records[recordOfEntry[entry] as number] as SQSRecord);
  const aggregation = {
    aggregationOf: (stream: string) => aggregationOf(deps.config, stream),
    shardMaps: deps.shardMaps ?? shardMapsOf(deps.kinesis),
  };
  const result = await writeRecordsAggregating(entries, { ...deps, maxRecordBytes, aggregation }, sequenceOf);
  const handedBack = plans.map((plan): string | undefined => {
    if (plan.filtered) return undefined;
    const outcome = result.outcomes[plan.entry] as WriteOutcome;
    if (outcome.status === 'oversize') return 'DLQ_RECORD_TOO_LARGE';
    if (outcome.attempts > 1) plan.retried = true;
    if (outcome.status === 'written') return undefined;
    return outcome.errorCode === BLOCKED_BY_EARLIER_ENTRY ? FIFO_GROUP_BLOCKED : outcome.errorCode;
  });
  return {
    handedBack,
    requests: result.requests,
    retriedEntries: result.retriedEntries,
    aggregation: result.aggregation,
  };
}

/** Step 3: per-route counts, the failures to return, and a summary for the log. */
function tally(
  records: readonly SQSRecord[],
  plans: readonly RecordPlan[],
  handedBack: readonly (string | undefined)[],
) {
  const byRoute = new Map<string, Counts>();
  const failures: { itemIdentifier: string }[] = [];
  const dlqByReason: Counts = {};
  const failedByCode: Counts = {};
  const dlqIds: string[] = [];
  plans.forEach((plan, i) => {
    const messageId = (records[i] as SQSRecord).messageId;
    const name = plan.route?.name ?? UNROUTED;
    const counts = byRoute.get(name) ?? { received: 0, written: 0, sentToDlq: 0, handedBack: 0, retried: 0 };
    byRoute.set(name, counts);
    increment(counts, 'received');
    if (plan.retried) increment(counts, 'retried');
    const reason = handedBack[i];
    if (reason !== undefined) {
      increment(counts, 'handedBack');
      increment(failedByCode, reason);
      failures.push({ itemIdentifier: messageId });
    } else if (plan.filtered) {
      increment(counts, 'filtered');
    } else if (plan.toDlq) {
      increment(counts, 'sentToDlq');
      increment(dlqByReason, plan.error ?? 'UNKNOWN');
      if (dlqIds.length < MAX_IDS_LOGGED) dlqIds.push(messageId);
    } else {
      increment(counts, 'written');
    }
  });
  return { byRoute, failures, dlqByReason, failedByCode, dlqIds };
}

export async function processSqsBatch(event: SQSEvent, deps: MapperDeps): Promise<SQSBatchResponse> {
  const records = event.Records ?? [];
  const mapped = mapBatch(records, deps);
  const { plans } = mapped;
  const written = await writeBatch(records, mapped, deps);
  const { byRoute, failures, dlqByReason, failedByCode, dlqIds } = tally(records, plans, written.handedBack);

  for (const [route, counts] of byRoute) deps.metrics.publish({ name: 'route', value: route }, counts);
  const sentToDlq = Object.values(dlqByReason).reduce((a, b) => a + b, 0);
  const filtered = plans.filter((plan) => plan.filtered).length;
  const summary = {
    received: records.length,
    written: records.length - failures.length - sentToDlq - filtered,
    ...(filtered > 0 ? { filtered } : {}),
    sentToDlq: dlqByReason,
    ...(dlqIds.length > 0 ? { dlqMessageIds: dlqIds } : {}),
    handedBack: failures.length,
    requests: written.requests,
    retriedEntries: written.retriedEntries,
    ...(written.aggregation ? { kinesisRecords: written.aggregation.kinesisRecords } : {}),
  };
  const { staleShardMaps = [], unaggregated = [] } = written.aggregation ?? {};
  if (staleShardMaps.length > 0) {
    deps.logger.warn('A record landed on another shard than predicted: shard map refreshed', {
      streams: staleShardMaps,
    });
  }
  for (const { stream, error } of unaggregated) {
    deps.logger.warn('Shard map unavailable: records written without aggregation', { stream, error });
  }
  if (failures.length > 0) {
    deps.logger.error('Messages handed back to SQS for a retry', {
      ...summary,
      errors: failedByCode,
      messageIds: failures.slice(0, MAX_IDS_LOGGED).map((f) => f.itemIdentifier),
    });
  } else {
    deps.logger.info('Batch processed', summary);
  }
  return { batchItemFailures: failures };
}
