/**
 * The kinesis-aggregator core: one invocation of a Kinesis tumbling window. Records are
 * de-aggregated (KPL), parsed and folded into the window's state; records that cannot be
 * used go to the DLQ stream; on the window's final invocation, one result per group goes to
 * the output stream. The contract is Lambda's: state in, `{ state, batchItemFailures }` out.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { KinesisStreamRecord } from 'aws-lambda';
import { outcomeError, retryDepsOf } from '../core/batch-writer.js';
import type { KinesisAggregatorConfig, PipelineConfig } from '../core/config/schema.js';
import { dlqEntry } from '../core/dlq.js';
import {
  ConfigError,
  type DlqReason,
  KplError,
  MissingFieldError,
  RetryLaterError,
  toError,
} from '../core/errors.js';
import type { TumblingWindowEvent } from '../core/event-shape.js';
import { maxRecordBytesOf, type WriteEntry, type WriterDeps, writeRecords } from '../core/kinesis-writer.js';
import { userRecordSpans } from '../core/kpl.js';
import type { Counts, LogPort, MetricsPort } from '../core/observability.js';
import { cutPartitionKey } from '../core/partition-key.js';
import {
  compileReducer,
  type GroupResult,
  type Position,
  type Reducer,
  stateFrom,
  type Tally,
  type WindowState,
} from './aggregation.js';

export type { TumblingWindowEvent } from '../core/event-shape.js';

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
  return isUtf8(data)
    ? { encoding: 'utf8', data: data.toString('utf8') }
    : { encoding: 'base64', data: data.toString('base64') };
}

/** A record, or a user record of one, that cannot be used. */
interface DeadLetter {
  /** Index of its Kinesis record in the batch. */
  index: number;
  reason: DlqReason;
  /** For the DLQ envelope: a parser's message may quote the body. */
  message: string;
  /** For the logs: never the body. */
  detail: string;
  /** The sequence number, with `:sub-sequence` for a user record of an aggregated record. */
  recordId: string;
  payload: Buffer;
}

/** What one pass over the first records of a batch gives: their own state, and what was unusable. */
interface Fold {
  state: WindowState;
  userRecords: number;
  deadLetters: DeadLetter[];
}

/** A Fold on its way: the records taken so far are in the tally. */
type Folding = Omit<Fold, 'state'> & { tally: Tally };

/** Step 1: de-aggregate, parse and fold the first `upTo` records into a state of their own. */
function fold(records: readonly KinesisStreamRecord[], upTo: number, reducer: Reducer): Fold {
  const tally = reducer.tally();
  const out: Folding = { tally, userRecords: 0, deadLetters: [] };
  // One position for every user record: the reducer copies what it keeps of it.
  const at: Position = { seq: '', sub: 0 };
  for (let index = 0; index < upTo; index++) {
    const { kinesis } = records[index] as KinesisStreamRecord;
    const bytes = Buffer.from(kinesis.data, 'base64');
    let spans: number[] | null;
    try {
      spans = userRecordSpans(bytes);
    } catch (error) {
      if (!(error instanceof KplError)) throw error;
      const { reason, message } = error;
      const recordId = kinesis.sequenceNumber;
      out.deadLetters.push({ index, reason, message, detail: message, recordId, payload: bytes });
      continue;
    }
    at.seq = kinesis.sequenceNumber;
    if (spans === null) {
      at.sub = 0;
      foldUserRecord(out, { index, bytes, aggregated: false, ascii: null }, 0, bytes.length, at);
      continue;
    }
    const source: Source = { index, bytes, aggregated: true, ascii: asciiText(bytes, spans) };
    for (let k = 0; k < spans.length; k += 2) {
      at.sub = k / 2;
      foldUserRecord(out, source, spans[k] as number, spans[k + 1] as number, at);
    }
  }
  return { state: tally.state(), userRecords: out.userRecords, deadLetters: out.deadLetters };
}

/**
 * The text of an aggregated record's user records, from the first one's start to the last
 * one's end, when all those bytes are ASCII (then each byte is one character, and UTF-8 and
 * Latin-1 read the same text): one decode for the whole record instead of one per user record.
 * Null when any byte there is not ASCII (each user record is then decoded as UTF-8 alone).
 */
function asciiText(bytes: Buffer, spans: readonly number[]): AsciiText | null {
  if (spans.length === 0) return null;
  const from = spans[0] as number;
  const to = spans[spans.length - 1] as number;
  if (to <= from || !isAscii(bytes.subarray(from, to))) return null;
  return { from, text: bytes.toString('latin1', from, to) };
}

/** ASCII text of a record's bytes from `from` on. */
interface AsciiText {
  from: number;
  text: string;
}

/** A Kinesis record whose user records are being folded. */
interface Source {
  /** Its index in the batch. */
  index: number;
  /** Its decoded data. */
  bytes: Buffer;
  aggregated: boolean;
  /** The text of its user records when they are all ASCII (see asciiText). */
  ascii: AsciiText | null;
}

/** One user record: the bytes [start, end) of its Kinesis record's, at `at`. */
function foldUserRecord(
  out: Folding,
  { index, bytes, aggregated, ascii }: Source,
  start: number,
  end: number,
  at: Position,
): void {
  let value: unknown;
  try {
    value = JSON.parse(
      ascii ? ascii.text.slice(start - ascii.from, end - ascii.from) : bytes.toString('utf8', start, end),
    );
  } catch (error) {
    const message = `Not JSON: ${toError(error).message.slice(0, 80)}`;
    const recordId = recordIdOf(at, aggregated);
    const payload = bytes.subarray(start, end);
    out.deadLetters.push({ index, reason: 'BODY_NOT_JSON', message, detail: 'Not JSON', recordId, payload });
    return;
  }
  out.userRecords++;
  try {
    out.tally.add(value, at);
  } catch (error) {
    if (!(error instanceof MissingFieldError)) throw error;
    const { message } = error;
    const recordId = recordIdOf(at, aggregated);
    const payload = bytes.subarray(start, end);
    out.deadLetters.push({ index, reason: 'MISSING_FIELDS', message, detail: message, recordId, payload });
  }
}

/** A dead letter's record id (built only for dead letters: folding is the hot path). */
const recordIdOf = (at: Position, aggregated: boolean): string =>
  aggregated ? `${at.seq}:${at.sub}` : at.seq;

function deadLetterEntry(event: TumblingWindowEvent, letter: DeadLetter, config: PipelineConfig, now: Date) {
  const arn = event.eventSourceARN ?? event.Records[letter.index]?.eventSourceARN;
  return dlqEntry(
    config.dlq.stream,
    {
      reason: letter.reason,
      message: letter.message,
      handler: HANDLER_NAME,
      source: { type: 'kinesis', arn, id: letter.recordId, shardId: event.shardId },
      payload: utf8OrBase64(letter.payload),
    },
    now,
  );
}

/** Writes to Kinesis with the handler's retry settings and the config's record size limits. */
function write(entries: WriteEntry[], deps: AggregatorDeps) {
  return writeRecords(entries, {
    ...retryDepsOf(deps),
    kinesis: deps.kinesis,
    maxRecordBytes: (stream) => maxRecordBytesOf(deps.config, stream),
  });
}

/** One WARN per dead letter (reason and detail, never the body), up to MAX_LOGGED_DEAD_LETTERS. */
function logDeadLetters(logger: LogPort, letters: readonly DeadLetter[], written: readonly boolean[]): void {
  letters.slice(0, MAX_LOGGED_DEAD_LETTERS).forEach(({ reason, detail, recordId }, k) => {
    logger.warn('Record not usable: sent to the DLQ', {
      reason,
      detail,
      recordId,
      deadLetterWritten: written[k],
    });
  });
  if (letters.length > MAX_LOGGED_DEAD_LETTERS) {
    logger.warn('More records not usable', { notLogged: letters.length - MAX_LOGGED_DEAD_LETTERS });
  }
}

/**
 * Step 2: dead-letter what cannot be used. Gives the index of the first record whose dead
 * letter was not written (undefined when all were), and how many were.
 */
async function deadLetter(
  event: TumblingWindowEvent,
  letters: readonly DeadLetter[],
  deps: AggregatorDeps,
): Promise<{ cut: number | undefined; sentToDlq: number; failure?: Error }> {
  if (letters.length === 0) return { cut: undefined, sentToDlq: 0 };
  const now = deps.now();
  const { outcomes } = await write(
    letters.map((letter) => deadLetterEntry(event, letter, deps.config, now)),
    deps,
  );
  const written = outcomes.map((outcome) => outcome.status === 'written');
  logDeadLetters(deps.logger, letters, written);
  const unwritten = letters.filter((_, k) => !written[k]).map((letter) => letter.index);
  return {
    cut: unwritten.length > 0 ? Math.min(...unwritten) : undefined,
    sentToDlq: written.filter(Boolean).length,
    failure: unwritten.length > 0 ? outcomeError(outcomes.find((o) => o.status !== 'written')) : undefined,
  };
}

/** Step 3: merge into the window's state, and keep it within Lambda's state limit. */
function mergeWithin(event: TumblingWindowEvent, batch: WindowState, deps: AggregatorDeps) {
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
  return { state, evicted };
}

/** The output record of one group's result. */
function resultEntry(event: TumblingWindowEvent, state: WindowState, result: GroupResult, stream: string) {
  return {
    stream,
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
  };
}

/** Step 4, on the final invocation: one result per group to the output stream, or a retry. */
async function publishResults(
  event: TumblingWindowEvent,
  state: WindowState,
  counts: Counts,
  deps: AggregatorDeps,
): Promise<void> {
  const results = deps.reducer.results(state);
  const stream = deps.settings.output.stream;
  const out = await write(
    results.map((result) => resultEntry(event, state, result, stream)),
    deps,
  );
  const unwritten = out.outcomes.filter((outcome) => outcome.status !== 'written');
  const failed = unwritten.length;
  counts.groups = results.length;
  counts.resultsWritten = results.length - failed;
  deps.metrics.publish({ name: 'handler', value: HANDLER_NAME }, counts);
  if (failed > 0) {
    // Lambda retries the final invocation (with the same state) until it succeeds.
    deps.logger.error('Window results not written: failing the final invocation', {
      failed,
      groups: results.length,
    });
    throw new RetryLaterError(`${failed} of ${results.length} window results could not be written`, {
      cause: outcomeError(unwritten[0]),
    });
  }
  deps.logger.info('Window closed', { ...counts, window: event.window, shardId: event.shardId });
}

export async function aggregateWindow(
  event: TumblingWindowEvent,
  deps: AggregatorDeps,
): Promise<WindowResponse> {
  const records: KinesisStreamRecord[] = event.Records;
  const all = fold(records, records.length, deps.reducer);
  const { cut, sentToDlq, failure } = await deadLetter(event, all.deadLetters, deps);
  // A dead letter not written: hand back from its record, and keep in the state only what
  // came before it (so nothing is counted twice when Lambda sends the rest again).
  let batch = all.state;
  const batchItemFailures: { itemIdentifier: string }[] = [];
  if (cut !== undefined) {
    if (event.isFinalInvokeForWindow) {
      throw new RetryLaterError('Dead letters could not be written on the final invocation of the window', {
        cause: failure,
      });
    }
    batch = fold(records, cut, deps.reducer).state;
    batchItemFailures.push({ itemIdentifier: (records[cut] as KinesisStreamRecord).kinesis.sequenceNumber });
  }
  const { state, evicted } = mergeWithin(event, batch, deps);
  const counts: Counts = {
    records: records.length,
    userRecords: all.userRecords,
    sentToDlq,
    evictedGroups: evicted,
    handedBack: batchItemFailures.length,
  };
  if (event.isFinalInvokeForWindow) {
    await publishResults(event, state, counts, deps);
    return { state, batchItemFailures };
  }
  deps.metrics.publish({ name: 'handler', value: HANDLER_NAME }, counts);
  if (batchItemFailures.length > 0)
    deps.logger.error('Records handed back: dead letters not written', counts);
  return { state, batchItemFailures };
}
