/**
 * The Kinesis writer every handler shares.
 *
 * Entries for any number of streams go out with PutRecords in requests that respect
 * AWS's limits; entries too big for their stream are never sent; only the entries that
 * failed (or whose call failed) are retried, with exponential backoff and full jitter,
 * bounded by attempts and by the time the Lambda invocation has left. The result says,
 * entry by entry and in input order, where each one ended up.
 */
import { type KinesisClient, PutRecordsCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { DEFAULT_MAX_RECORD_SIZE_KIB } from './config/schema.js';

/** PutRecords: at most 500 entries per request. */
export const MAX_PUT_RECORDS_ENTRIES = 500;
/** PutRecords: at most 5 MiB per request, data and partition keys included. */
export const MAX_PUT_RECORDS_BYTES = 5 * 1024 * 1024;
/** A stream's default max record size (data + partition key): 1 MiB. */
export const DEFAULT_MAX_RECORD_BYTES = DEFAULT_MAX_RECORD_SIZE_KIB * 1024;
/** PutRecords requests in flight at once from one writer call. */
export const MAX_CONCURRENT_REQUESTS = 4;

export interface WriteEntry {
  /** Stream name or ARN. */
  stream: string;
  /** The record's bytes; a string stands for its UTF-8 encoding. */
  data: Uint8Array | string;
  partitionKey: string;
  explicitHashKey?: string;
}

export type WriteOutcome =
  | { status: 'written'; sequenceNumber: string; shardId: string; attempts: number }
  | { status: 'oversize'; size: number; limit: number }
  | { status: 'failed'; errorCode: string; errorMessage: string; attempts: number };

export interface WriteResult {
  /** One per input entry, same order. */
  outcomes: WriteOutcome[];
  /** PutRecords calls made, retries included. */
  requests: number;
  /** Entries sent more than once. */
  retriedEntries: number;
}

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Time kept back from the invocation's deadline: no retry starts inside it. */
  reserveMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 50,
  maxDelayMs: 2_000,
  reserveMs: 3_000,
};

export interface WriterDeps {
  kinesis: Pick<KinesisClient, 'send'>;
  /** Milliseconds the invocation has left (Lambda's `context.getRemainingTimeInMillis`). */
  remainingTimeMs?: () => number;
  /** Max record size of a stream in bytes; 1 MiB when not given. */
  maxRecordBytes?: (stream: string) => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  policy?: Partial<RetryPolicy>;
}

/** Per-entry error codes Kinesis returns that are worth retrying. */
const RETRYABLE_ENTRY_CODES = new Set(['ProvisionedThroughputExceededException', 'InternalFailure']);

/** Whole-call errors that come back as 4xx but clear on a retry. */
const RETRYABLE_CALL_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'ThrottlingException',
  'KMSThrottlingException',
  'ResourceInUseException',
  'RequestTimeout',
  'RequestTimeoutException',
]);

const utf8Length = (text: string): number => Buffer.byteLength(text, 'utf8');

/** Bytes an entry counts against the record and request limits. */
export function entrySize(entry: WriteEntry): number {
  const dataBytes = typeof entry.data === 'string' ? utf8Length(entry.data) : entry.data.byteLength;
  return dataBytes + utf8Length(entry.partitionKey);
}

/** Whether a failed call (not a per-entry failure) is worth retrying. */
export function isRetryableCallError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return true;
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (name !== undefined && RETRYABLE_CALL_ERRORS.has(name)) return true;
  const status = $metadata?.httpStatusCode;
  if (status === undefined) return true; // no response at all: network, timeout, reset
  return status === 429 || status >= 500;
}

function describeError(error: unknown): { errorCode: string; errorMessage: string } {
  if (error instanceof Error) return { errorCode: error.name, errorMessage: error.message };
  return { errorCode: 'UnknownError', errorMessage: String(error) };
}

/** Splits entry indices into PutRecords-sized requests, per stream, keeping input order. */
export function planRequests(entries: readonly WriteEntry[], indices: readonly number[]): number[][] {
  const byStream = new Map<string, number[]>();
  for (const i of indices) {
    const stream = (entries[i] as WriteEntry).stream;
    const list = byStream.get(stream) ?? [];
    if (list.length === 0) byStream.set(stream, list);
    list.push(i);
  }
  const requests: number[][] = [];
  for (const list of byStream.values()) {
    let current: number[] = [];
    let bytes = 0;
    for (const i of list) {
      const size = entrySize(entries[i] as WriteEntry);
      if (
        current.length === MAX_PUT_RECORDS_ENTRIES ||
        (current.length > 0 && bytes + size > MAX_PUT_RECORDS_BYTES)
      ) {
        requests.push(current);
        current = [];
        bytes = 0;
      }
      current.push(i);
      bytes += size;
    }
    if (current.length > 0) requests.push(current);
  }
  return requests;
}

/** Full jitter: a random delay in [0, min(cap, base * 2^(attempt-1))). */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function toRequestEntry(entry: WriteEntry): PutRecordsRequestEntry {
  // The SDK's JSON serializer base64-encodes a string blob natively from its UTF-8 bytes,
  // where a Uint8Array goes through a byte-by-byte loop in JavaScript: text stays text.
  const out: PutRecordsRequestEntry = { Data: entry.data as Uint8Array, PartitionKey: entry.partitionKey };
  if (entry.explicitHashKey !== undefined) out.ExplicitHashKey = entry.explicitHashKey;
  return out;
}

function streamParams(stream: string): { StreamName: string } | { StreamARN: string } {
  return stream.startsWith('arn:') ? { StreamARN: stream } : { StreamName: stream };
}

/** Runs `tasks` with at most `limit` in flight. */
async function runPool(tasks: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next++] as () => Promise<void>;
      await task();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}

export async function writeRecords(entries: readonly WriteEntry[], deps: WriterDeps): Promise<WriteResult> {
  const policy = { ...DEFAULT_RETRY_POLICY, ...deps.policy };
  const random = deps.random ?? Math.random;
  const sleep = deps.sleep ?? defaultSleep;
  const maxRecordBytes = deps.maxRecordBytes ?? (() => DEFAULT_MAX_RECORD_BYTES);
  const outcomes = new Array<WriteOutcome>(entries.length);
  const attempts = new Uint16Array(entries.length);
  const lastError = new Map<number, { errorCode: string; errorMessage: string }>();
  let requests = 0;

  let pending: number[] = [];
  entries.forEach((entry, i) => {
    const size = entrySize(entry);
    const limit = maxRecordBytes(entry.stream);
    if (size > limit) outcomes[i] = { status: 'oversize', size, limit };
    else pending.push(i);
  });

  for (let attempt = 1; pending.length > 0; attempt++) {
    const retry: number[] = [];
    const send = async (batch: number[]) => {
      requests++;
      for (const i of batch) attempts[i] = attempt;
      const first = entries[batch[0] as number] as WriteEntry;
      try {
        const response = await deps.kinesis.send(
          new PutRecordsCommand({
            ...streamParams(first.stream),
            Records: batch.map((i) => toRequestEntry(entries[i] as WriteEntry)),
          }),
        );
        const results = response.Records ?? [];
        batch.forEach((i, position) => {
          const result = results[position];
          if (result?.SequenceNumber && result.ShardId && !result.ErrorCode) {
            outcomes[i] = {
              status: 'written',
              sequenceNumber: result.SequenceNumber,
              shardId: result.ShardId,
              attempts: attempt,
            };
            return;
          }
          const error = {
            errorCode: result?.ErrorCode ?? 'MissingResult',
            errorMessage: result?.ErrorMessage ?? 'PutRecords returned no result for this entry',
          };
          if (RETRYABLE_ENTRY_CODES.has(error.errorCode) || error.errorCode === 'MissingResult') {
            lastError.set(i, error);
            retry.push(i);
          } else {
            outcomes[i] = { status: 'failed', ...error, attempts: attempt };
          }
        });
      } catch (thrown) {
        const error = describeError(thrown);
        if (isRetryableCallError(thrown)) {
          for (const i of batch) lastError.set(i, error);
          retry.push(...batch);
        } else {
          for (const i of batch) outcomes[i] = { status: 'failed', ...error, attempts: attempt };
        }
      }
    };
    await runPool(
      planRequests(entries, pending).map((batch) => () => send(batch)),
      MAX_CONCURRENT_REQUESTS,
    );

    pending = retry.sort((a, b) => a - b);
    if (pending.length === 0) break;
    const delay = backoffDelay(attempt, policy, random);
    const outOfAttempts = attempt >= policy.maxAttempts;
    const outOfTime = deps.remainingTimeMs !== undefined && deps.remainingTimeMs() - delay < policy.reserveMs;
    if (outOfAttempts || outOfTime) {
      const why = outOfAttempts
        ? `gave up after ${attempt} attempts`
        : 'no time left in the invocation to retry';
      for (const i of pending) {
        const error = lastError.get(i) ?? { errorCode: 'Unknown', errorMessage: '' };
        outcomes[i] = {
          status: 'failed',
          errorCode: error.errorCode,
          errorMessage: `${error.errorMessage} (${why})`,
          attempts: attempts[i] as number,
        };
      }
      break;
    }
    await sleep(delay);
  }

  let retriedEntries = 0;
  for (const count of attempts) if (count > 1) retriedEntries++;
  return { outcomes, requests, retriedEntries };
}
