/**
 * The batch-write engine behind the Kinesis and Firehose writers: entries too big for
 * their destination are never sent; the rest go out in requests that respect the
 * service's per-request limits; only the entries that failed (or whose call failed) are
 * retried, with exponential backoff and full jitter, bounded by attempts and by the time
 * the invocation has left. The result says, entry by entry and in input order, where each
 * one ended up.
 */

export type WriteOutcome =
  | { status: 'written'; attempts: number; sequenceNumber?: string; shardId?: string; recordId?: string }
  | { status: 'oversize'; size: number; limit: number }
  | {
      status: 'failed';
      errorCode: string;
      errorMessage: string;
      attempts: number;
      /** The error was worth a retry, but the attempts or the time ran out: try again later. */
      exhausted?: true;
    };

export interface WriteResult {
  /** One per input entry, same order. */
  outcomes: WriteOutcome[];
  /** Calls made, retries included. */
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

/** Requests in flight at once from one write. */
export const MAX_CONCURRENT_REQUESTS = 4;

/** What one entry's result says, as the service reported it. */
export type EntryResult =
  | { ok: true; sequenceNumber?: string; shardId?: string; recordId?: string }
  | { ok: false; errorCode: string; errorMessage: string };

/** One entry's result from what the service returned for it (an id, or an error code). */
export function entryResult(
  result: { id?: string; errorCode?: string; errorMessage?: string } | undefined,
  operation: string,
): EntryResult {
  if (result?.id && !result.errorCode) return { ok: true, recordId: result.id };
  return {
    ok: false,
    errorCode: result?.errorCode ?? 'MissingResult',
    errorMessage: result?.errorMessage ?? `${operation} returned no result for this entry`,
  };
}

/** A destination: its limits, how entries group into requests, and one request. */
export interface BatchSink<E> {
  maxEntriesPerRequest: number;
  maxBytesPerRequest: number;
  /** Bytes an entry counts against the request limit and its own limit. */
  size(entry: E): number;
  /** The largest entry the destination accepts. */
  maxEntryBytes(entry: E): number;
  /** Entries with the same group may share a request (the same stream, say). */
  group(entry: E): string;
  /** Sends one request; resolves to one result per entry, in order; throws when the call fails. */
  send(entries: readonly E[]): Promise<EntryResult[]>;
  /** Per-entry error codes worth a retry. */
  retryableEntryCodes: ReadonlySet<string>;
  /** Whole-call errors worth a retry. */
  isRetryableCallError(error: unknown): boolean;
}

export interface RetryDeps {
  /** Milliseconds the invocation has left (Lambda's `context.getRemainingTimeInMillis`). */
  remainingTimeMs?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  policy?: Partial<RetryPolicy>;
}

/** Throttling and server-side errors that arrive as 4xx but clear on a retry. */
const RETRYABLE_CALL_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'ThrottlingException',
  'ServiceUnavailableException',
  'KMSThrottlingException',
  'ResourceInUseException',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/** Whether a failed call is worth retrying: throttling, 5xx, or no response at all. */
export function isRetryableCallError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return true;
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (name !== undefined && RETRYABLE_CALL_ERRORS.has(name)) return true;
  const status = $metadata?.httpStatusCode;
  if (status === undefined) return true; // network, timeout, reset
  return status === 429 || status >= 500;
}

export function describeError(error: unknown): { errorCode: string; errorMessage: string } {
  if (error instanceof Error) return { errorCode: error.name, errorMessage: error.message };
  return { errorCode: 'UnknownError', errorMessage: String(error) };
}

/** Full jitter: a random delay in [0, min(cap, base * 2^(attempt-1))). */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/** Splits entry indices into requests within the sink's limits, per group, keeping input order. */
export function planRequests<E>(
  sink: BatchSink<E>,
  entries: readonly E[],
  indices: readonly number[],
): number[][] {
  const byGroup = new Map<string, number[]>();
  for (const i of indices) {
    const key = sink.group(entries[i] as E);
    const list = byGroup.get(key) ?? [];
    if (list.length === 0) byGroup.set(key, list);
    list.push(i);
  }
  const requests: number[][] = [];
  for (const list of byGroup.values()) {
    let current: number[] = [];
    let bytes = 0;
    for (const i of list) {
      const size = sink.size(entries[i] as E);
      const full = current.length === sink.maxEntriesPerRequest;
      if (full || (current.length > 0 && bytes + size > sink.maxBytesPerRequest)) {
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

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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

export async function writeBatches<E>(
  sink: BatchSink<E>,
  entries: readonly E[],
  deps: RetryDeps,
): Promise<WriteResult> {
  const policy = { ...DEFAULT_RETRY_POLICY, ...deps.policy };
  const random = deps.random ?? Math.random;
  const sleep = deps.sleep ?? defaultSleep;
  const outcomes = new Array<WriteOutcome>(entries.length);
  const attempts = new Uint16Array(entries.length);
  const lastError = new Map<number, { errorCode: string; errorMessage: string }>();
  let requests = 0;

  let pending: number[] = [];
  entries.forEach((entry, i) => {
    const size = sink.size(entry);
    const limit = sink.maxEntryBytes(entry);
    if (size > limit) outcomes[i] = { status: 'oversize', size, limit };
    else pending.push(i);
  });

  for (let attempt = 1; pending.length > 0; attempt++) {
    const retry: number[] = [];
    const send = async (batch: number[]) => {
      requests++;
      for (const i of batch) attempts[i] = attempt;
      try {
        const results = await sink.send(batch.map((i) => entries[i] as E));
        batch.forEach((i, position) => {
          const result: EntryResult = results[position] ?? {
            ok: false,
            errorCode: 'MissingResult',
            errorMessage: 'The response had no result for this entry',
          };
          if (result.ok) {
            const { ok: _, ...ids } = result;
            outcomes[i] = { status: 'written', attempts: attempt, ...ids };
          } else if (sink.retryableEntryCodes.has(result.errorCode) || result.errorCode === 'MissingResult') {
            lastError.set(i, result);
            retry.push(i);
          } else {
            outcomes[i] = {
              status: 'failed',
              errorCode: result.errorCode,
              errorMessage: result.errorMessage,
              attempts: attempt,
            };
          }
        });
      } catch (thrown) {
        const error = describeError(thrown);
        if (sink.isRetryableCallError(thrown)) {
          for (const i of batch) lastError.set(i, error);
          retry.push(...batch);
        } else {
          for (const i of batch) outcomes[i] = { status: 'failed', ...error, attempts: attempt };
        }
      }
    };
    await runPool(
      planRequests(sink, entries, pending).map((batch) => () => send(batch)),
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
          exhausted: true,
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
