/**
 * The kinesis-aggregator core: one invocation of a Kinesis tumbling window. Records are
 * de-aggregated (KPL), parsed and folded into the window's state; records that cannot be
 * used go to the DLQ stream; on the window's final invocation, one result per group goes to
 * the output stream. The contract is Lambda's: state in, `{ state, batchItemFailures }` out.
 */
import { createHash } from 'node:crypto';
import type { KinesisStreamRecord, KinesisStreamTumblingWindowEvent } from 'aws-lambda';
import {
  compileReducer,
  emptyState,
  MissingFieldError,
  type Position,
  type Reducer,
  stateFrom,
  type WindowState,
} from './aggregation.js';
import type { KinesisAggregatorConfig, PipelineConfig } from './config/schema.js';
import { dlqEntry } from './dlq.js';
import { ConfigError, type DlqReason, RetryLaterError } from './errors.js';
import { type WriteEntry, type WriterDeps, writeRecords } from './kinesis-writer.js';
import { deaggregate, KplError } from './kpl.js';
import type { Counts, LogPort, MetricsPort } from './observability.js';
import { cutPartitionKey } from './partition-key.js';
import { maxRecordBytesOf } from './sqs-mapping.js';

export const HANDLER_NAME = 'kinesis-aggregator';

/** Dead letters logged one by one per invocation (each with its reason); the rest are counted. */
export const MAX_LOGGED_DEAD_LETTERS = 10;

export interface AggregatorDeps {
  config: PipelineConfig;
  settings: KinesisAggregatorConfig;
  reducer: Reducer;
  kinesis: WriterDeps['kinesis'];
  logger: LogPort;
  metrics: MetricsPort;
  now: () => Date;
  remainingTimeMs?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  policy?: WriterDeps['policy'];
}

/** Lambda's tumbling-window event: @types/aws-lambda leaves out `shardId` and `eventSourceARN`. */
export type TumblingWindowEvent = KinesisStreamTumblingWindowEvent & {
  shardId: string;
  eventSourceARN: string;
};

export interface WindowResponse {
  state: WindowState;
  batchItemFailures: { itemIdentifier: string }[];
}

export function prepareAggregator(
  config: PipelineConfig,
): Pick<AggregatorDeps, 'config' | 'settings' | 'reducer'> {
  const settings = config.kinesisAggregator;
  if (!settings) throw new ConfigError(['kinesisAggregator: is not configured']);
  return { config, settings, reducer: compileReducer(settings) };
}

/** The key consumers use to drop a result they have already seen (a retried final invocation). */
export function idempotencyKey(windowStart: string, shardId: string, group: string): string {
  return createHash('sha256')
    .update(`${windowStart}\u0000${shardId}\u0000${group}`)
    .digest('hex')
    .slice(0, 32);
}

function utf8OrBase64(data: Buffer): { encoding: 'utf8' | 'base64'; data: string } {
  return Buffer.from(data.toString('utf8'), 'utf8').equals(data)
    ? { encoding: 'utf8', data: data.toString('utf8') }
    : { encoding: 'base64', data: data.toString('base64') };
}

/** One WARN per dead letter (reason and why, never the body), up to MAX_LOGGED_DEAD_LETTERS. */
function logDeadLetters(
  logger: LogPort,
  why: readonly { reason: DlqReason; detail: string; recordId: string }[],
  written: readonly boolean[] | undefined,
): void {
  why.slice(0, MAX_LOGGED_DEAD_LETTERS).forEach((entry, k) => {
    logger.warn('Record not usable: sent to the DLQ', { ...entry, deadLetterWritten: written?.[k] === true });
  });
  if (why.length > MAX_LOGGED_DEAD_LETTERS) {
    logger.warn('More records not usable', { notLogged: why.length - MAX_LOGGED_DEAD_LETTERS });
  }
}

export async function aggregateWindow(
  event: TumblingWindowEvent,
  deps: AggregatorDeps,
): Promise<WindowResponse> {
  const records: KinesisStreamRecord[] = event.Records ?? [];
  const retry = {
    remainingTimeMs: deps.remainingTimeMs,
    sleep: deps.sleep,
    random: deps.random,
    policy: deps.policy,
  };
  const dlq = (index: number, reason: DlqReason, message: string, id: string, payload: Buffer): WriteEntry =>
    dlqEntry(
      deps.config.dlq.stream,
      {
        reason,
        message,
        handler: HANDLER_NAME,
        source: {
          type: 'kinesis',
          arn: event.eventSourceARN ?? records[index]?.eventSourceARN,
          id,
          shardId: event.shardId,
        },
        payload: utf8OrBase64(payload),
      },
      deps.now(),
    );

  // 1. De-aggregate, parse and fold into this batch's own state, in one pass; what cannot be
  //    used becomes a dead letter. `upTo` replays the pass over the first records only.
  const dlqEntries: WriteEntry[] = [];
  const dlqOf: number[] = []; // Kinesis record index of each DLQ entry
  const why: { reason: DlqReason; detail: string; recordId: string }[] = []; // for the logs
  let userRecords = 0;
  const pass = (upTo: number, collect: boolean): WindowState => {
    const batch = emptyState();
    const deadLetter = (index: number, reason: DlqReason, message: string, id: string, payload: Buffer) => {
      if (!collect) return;
      dlqEntries.push(dlq(index, reason, message, id, payload));
      dlqOf.push(index);
      // A parser's message quotes the body: the logs get the reason only.
      why.push({ reason, detail: reason === 'BODY_NOT_JSON' ? 'Not JSON' : message, recordId: id });
    };
    for (let index = 0; index < Math.min(upTo, records.length); index++) {
      const { kinesis } = records[index] as KinesisStreamRecord;
      let users: ReturnType<typeof deaggregate>;
      try {
        users = deaggregate(kinesis);
      } catch (error) {
        if (!(error instanceof KplError)) throw error;
        deadLetter(
          index,
          error.reason,
          error.message,
          kinesis.sequenceNumber,
          Buffer.from(kinesis.data, 'base64'),
        );
        continue;
      }
      for (const user of users) {
        const at: Position = { seq: user.sequenceNumber, sub: user.subSequenceNumber };
        const id = () => (user.aggregated ? `${at.seq}:${at.sub}` : at.seq);
        let value: unknown;
        try {
          value = JSON.parse(user.data.toString('utf8'));
        } catch (error) {
          deadLetter(
            index,
            'BODY_NOT_JSON',
            `Not JSON: ${(error as Error).message.slice(0, 80)}`,
            id(),
            user.data,
          );
          continue;
        }
        if (collect) userRecords++;
        try {
          deps.reducer.add(batch, value, at);
        } catch (error) {
          if (!(error instanceof MissingFieldError)) throw error;
          deadLetter(index, 'MISSING_FIELDS', error.message, id(), user.data);
        }
      }
    }
    return batch;
  };
  let batch = pass(records.length, true);

  // 2. Dead-letter what cannot be used. If that fails, hand back from the first record whose
  //    dead letter failed, and keep only what came before it in the state (no double count).
  const written =
    dlqEntries.length > 0
      ? await writeRecords(dlqEntries, {
          ...retry,
          kinesis: deps.kinesis,
          maxRecordBytes: (stream) => maxRecordBytesOf(deps.config, stream),
        })
      : undefined;
  logDeadLetters(
    deps.logger,
    why,
    written?.outcomes.map((o) => o.status === 'written'),
  );
  let cut = Number.POSITIVE_INFINITY;
  dlqOf.forEach((index, k) => {
    if (written?.outcomes[k]?.status !== 'written') cut = Math.min(cut, index);
  });
  const failures: { itemIdentifier: string }[] = [];
  if (cut !== Number.POSITIVE_INFINITY) {
    if (event.isFinalInvokeForWindow) {
      throw new RetryLaterError('Dead letters could not be written on the final invocation of the window');
    }
    batch = pass(cut, false);
    failures.push({ itemIdentifier: (records[cut] as KinesisStreamRecord).kinesis.sequenceNumber });
  }

  // 3. Merge into the window's state, and keep it within Lambda's state limit.
  const state = deps.reducer.merge(stateFrom(event.state), batch);
  const evicted = deps.reducer.bound(state);
  if (evicted > 0) {
    deps.logger.warn('Window state over budget: least important groups dropped', {
      evictedGroups: evicted,
      totalEvictedGroups: state.evictedGroups,
      evictedRecords: state.evictedRecords,
      budgetBytes: deps.settings.state.maxBytes,
    });
  }
  const counts: Counts = {
    records: records.length,
    userRecords,
    sentToDlq: written?.outcomes.filter((o) => o.status === 'written').length ?? 0,
    evictedGroups: evicted,
    handedBack: failures.length,
  };

  // 4. On the final invocation, one result per group to the output stream.
  if (event.isFinalInvokeForWindow) {
    const results = deps.reducer.results(state);
    const entries: WriteEntry[] = results.map((result) => ({
      stream: deps.settings.output.stream,
      partitionKey: cutPartitionKey(result.group),
      data: JSON.stringify({
        windowStart: event.window.start,
        windowEnd: event.window.end,
        shardId: event.shardId,
        group: result.group,
        records: result.records,
        metrics: result.metrics,
        idempotencyKey: idempotencyKey(event.window.start, event.shardId, result.group),
        ...(event.isWindowTerminatedEarly ? { terminatedEarly: true } : {}),
        ...(state.evictedGroups > 0 ? { evictedGroups: state.evictedGroups } : {}),
      }),
    }));
    const out = await writeRecords(entries, {
      ...retry,
      kinesis: deps.kinesis,
      maxRecordBytes: (stream) => maxRecordBytesOf(deps.config, stream),
    });
    const failed = out.outcomes.filter((o) => o.status !== 'written').length;
    counts.groups = results.length;
    counts.resultsWritten = results.length - failed;
    deps.metrics.publish({ name: 'handler', value: HANDLER_NAME }, counts);
    if (failed > 0) {
      // Lambda retries the final invocation (with the same state) until it succeeds.
      deps.logger.error('Window results not written: failing the final invocation', {
        failed,
        groups: results.length,
      });
      throw new RetryLaterError(`${failed} of ${results.length} window results could not be written`);
    }
    deps.logger.info('Window closed', { ...counts, window: event.window, shardId: event.shardId });
    return { state, batchItemFailures: [] };
  }
  deps.metrics.publish({ name: 'handler', value: HANDLER_NAME }, counts);
  if (failures.length > 0) deps.logger.error('Records handed back: dead letters not written', counts);
  return { state, batchItemFailures: failures };
}
