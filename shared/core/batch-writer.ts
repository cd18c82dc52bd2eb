/**
 * The batch-write engine behind the Kinesis and Firehose writers: entries too big for
 * their destination are never sent; the rest go out in requests that respect the
 * service's per-request limits; only the entries that failed (or whose call failed) are
 * retried, with exponential backoff and full jitter, bounded by attempts and by the time
 * the invocation has left. Optionally, entries of one sequence (a FIFO message group) go
 * strictly one at a time, in order (see SequenceOf). The result says, entry by entry and in
 * input order, where each one ended up.
 */
import { WriteFailedError } from './errors.js';

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

/** Why an entry was not written, as an error (a cause, or a line in a message). */
export function outcomeError(outcome: WriteOutcome | undefined): WriteFailedError {
  if (outcome?.status === 'failed')
    return new WriteFailedError(`${outcome.errorCode}: ${outcome.errorMessage}`);
  if (outcome?.status === 'oversize') {
    return new WriteFailedError(`entry too large (${outcome.size} bytes, at most ${outcome.limit})`);
  }
  return new WriteFailedError(outcome === undefined ? 'no outcome for the entry' : 'written');
}

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

/** The retry settings picked out of a handler's deps, which carry much else besides. */
export function retryDepsOf(deps: RetryDeps): RetryDeps {
  return {
    remainingTimeMs: deps.remainingTimeMs,
    sleep: deps.sleep,
    random: deps.random,
    policy: deps.policy,
  };
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
  sizeOf: (index: number) => number = (i) => sink.size(entries[i] as E),
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
      const size = sizeOf(i);
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

/**
 * Which entries must reach their destination in order: entries with the same key are sent
 * one at a time, in input order, each only once the one before it is confirmed written; an
 * entry whose key is `undefined` keeps no order and goes out at once. Entries of different
 * keys still share requests (one entry per key per request).
 */
export type SequenceOf = (index: number) => string | undefined;

/** Error code of an entry never sent because an earlier entry of its sequence was not written. */
export const BLOCKED_BY_EARLIER_ENTRY = 'BlockedByEarlierEntry';
/** Error code of an entry never sent because the invocation ran out of time first. */
export const NOT_SENT = 'NotSent';

/** What one write keeps track of while it runs. */
interface WriteState<E> {
  sink: BatchSink<E>;
  entries: readonly E[];
  outcomes: WriteOutcome[];
  /** Times each entry was sent. */
  attempts: Uint16Array;
  /** Each entry's size, measured once. */
  sizes: Float64Array;
  lastError: Map<number, { errorCode: string; errorMessage: string }>;
  requests: number;
}

/** Entries that go out one after another; an entry without a sequence is a lane of its own. */
function buildLanes(count: number, sequenceOf: SequenceOf | undefined): number[][] {
  const lanes: number[][] = [];
  const byKey = new Map<string, number[]>();
  for (let i = 0; i < count; i++) {
    const key = sequenceOf?.(i);
    const lane = key === undefined ? undefined : byKey.get(key);
    if (lane) {
      lane.push(i);
      continue;
    }
    lanes.push([i]);
    if (key !== undefined) byKey.set(key, lanes[lanes.length - 1] as number[]);
  }
  return lanes;
}

/**
 * Drops the written heads of each lane; a lane whose head ended any other way (refused,
 * oversize, given up) stops there, and the rest of it is reported blocked, never sent.
 * Returns the heads still to send, in input order.
 */
function settleLanes<E>(lanes: number[][], state: WriteState<E>): number[] {
  const heads: number[] = [];
  for (const lane of lanes) {
    while (lane.length > 0 && state.outcomes[lane[0] as number]?.status === 'written') lane.shift();
    const head = lane[0];
    if (head === undefined) continue;
    if (state.outcomes[head] === undefined) {
      heads.push(head);
      continue;
    }
    for (const i of lane.splice(0).slice(1)) {
      state.outcomes[i] = {
        status: 'failed',
        errorCode: BLOCKED_BY_EARLIER_ENTRY,
        errorMessage: `not sent: entry ${head} of its sequence was not written`,
        attempts: 0,
      };
    }
  }
  return heads.sort((a, b) => a - b);
}

/** A written entry's outcome with the ids the service gave it (built field by field: hot path). */
function writtenOutcome(result: Extract<EntryResult, { ok: true }>, attempts: number): WriteOutcome {
  const outcome: WriteOutcome & { status: 'written' } = { status: 'written', attempts };
  if (result.sequenceNumber !== undefined) outcome.sequenceNumber = result.sequenceNumber;
  if (result.shardId !== undefined) outcome.shardId = result.shardId;
  if (result.recordId !== undefined) outcome.recordId = result.recordId;
  return outcome;
}

/** Sends one request; returns the entries worth another attempt. */
async function sendRequest<E>(state: WriteState<E>, batch: readonly number[]): Promise<number[]> {
  state.requests++;
  for (const i of batch) state.attempts[i] = (state.attempts[i] as number) + 1;
  const retry: number[] = [];
  try {
    const results = await state.sink.send(batch.map((i) => state.entries[i] as E));
    batch.forEach((i, position) => {
      const attempts = state.attempts[i] as number;
      const result: EntryResult = results[position] ?? {
        ok: false,
        errorCode: 'MissingResult',
        errorMessage: 'The response had no result for this entry',
      };
      if (result.ok) {
        state.outcomes[i] = writtenOutcome(result, attempts);
      } else if (
        state.sink.retryableEntryCodes.has(result.errorCode) ||
        result.errorCode === 'MissingResult'
      ) {
        state.lastError.set(i, result);
        retry.push(i);
      } else {
        const { errorCode, errorMessage } = result;
        state.outcomes[i] = { status: 'failed', errorCode, errorMessage, attempts };
      }
    });
  } catch (thrown) {
    const error = describeError(thrown);
    if (!state.sink.isRetryableCallError(thrown)) {
      for (const i of batch)
        state.outcomes[i] = { status: 'failed', ...error, attempts: state.attempts[i] as number };
      return [];
    }
    for (const i of batch) state.lastError.set(i, error);
    retry.push(...batch);
  }
  return retry;
}

/** One attempt at every pending entry, up to MAX_CONCURRENT_REQUESTS requests at once. */
async function sendRound<E>(state: WriteState<E>, pending: readonly number[]): Promise<number[]> {
  const retry: number[] = [];
  const send = async (batch: number[]) => {
    retry.push(...(await sendRequest(state, batch)));
  };
  const batches = planRequests(state.sink, state.entries, pending, (i) => state.sizes[i] as number);
  await runPool(
    batches.map((batch) => () => send(batch)),
    MAX_CONCURRENT_REQUESTS,
  );
  return retry;
}

/** Marks an entry given up: worth a retry later, but not in this write. */
function giveUp<E>(state: WriteState<E>, i: number, why: string): void {
  const attempts = state.attempts[i] as number;
  const error =
    attempts === 0
      ? { errorCode: NOT_SENT, errorMessage: 'never sent' }
      : (state.lastError.get(i) ?? { errorCode: 'Unknown', errorMessage: '' });
  state.outcomes[i] = {
    status: 'failed',
    errorCode: error.errorCode,
    errorMessage: `${error.errorMessage} (${why})`,
    attempts,
    exhausted: true,
  };
}

/**
 * Writes `entries` through `sink`: see the top of this file. With `sequenceOf`, entries of
 * one sequence are written strictly one after another (see SequenceOf), and a sequence
 * stops at its first entry that is not written: nothing after it is sent.
 */
export async function writeBatches<E>(
  sink: BatchSink<E>,
  entries: readonly E[],
  deps: RetryDeps,
  sequenceOf?: SequenceOf,
): Promise<WriteResult> {
  const policy = { ...DEFAULT_RETRY_POLICY, ...deps.policy };
  const random = deps.random ?? Math.random;
  const sleep = deps.sleep ?? defaultSleep;
  const state: WriteState<E> = {
    sink,
    entries,
    outcomes: new Array<WriteOutcome>(entries.length),
    attempts: new Uint16Array(entries.length),
    sizes: new Float64Array(entries.length),
    lastError: new Map(),
    requests: 0,
  };
  entries.forEach((entry, i) => {
    const size = sink.size(entry);
    state.sizes[i] = size;
    const limit = sink.maxEntryBytes(entry);
    if (size > limit) state.outcomes[i] = { status: 'oversize', size, limit };
  });
  const lanes = buildLanes(entries.length, sequenceOf);

  for (let pending = settleLanes(lanes, state); pending.length > 0; ) {
    const retries = await sendRound(state, pending);
    let delay = 0;
    if (retries.length > 0) {
      const worst = Math.max(...retries.map((i) => state.attempts[i] as number));
      delay = backoffDelay(worst, policy, random);
      for (const i of retries) {
        const attempts = state.attempts[i] as number;
        if (attempts >= policy.maxAttempts) giveUp(state, i, `gave up after ${attempts} attempts`);
      }
    }
    pending = settleLanes(lanes, state);
    if (pending.length === 0) break;
    const outOfTime = deps.remainingTimeMs !== undefined && deps.remainingTimeMs() - delay < policy.reserveMs;
    if (outOfTime) {
      for (const i of pending) giveUp(state, i, 'no time left in the invocation to retry');
      settleLanes(lanes, state);
      break;
    }
    if (retries.some((i) => state.outcomes[i] === undefined)) await sleep(delay);
  }

  let retriedEntries = 0;
  for (const count of state.attempts) if (count > 1) retriedEntries++;
  return { outcomes: state.outcomes, requests: state.requests, retriedEntries };
}
