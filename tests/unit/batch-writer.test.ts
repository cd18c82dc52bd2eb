/**
 * The batch-write engine on its own, with a sink double: call-error classes, entries the
 * response leaves out, retry order, the deadline at its boundary, and ordered sequences.
 */
import { describe, expect, it } from 'vitest';
import {
  type BatchSink,
  BLOCKED_BY_EARLIER_ENTRY,
  describeError,
  type EntryResult,
  entryResult,
  isRetryableCallError,
  NOT_SENT,
  planRequests,
  writeBatches,
} from '../../shared/core/batch-writer.js';
import { noSleep } from '../helpers/doubles.js';

interface Item {
  id: string;
  size?: number;
}

/** A sink whose `answer` decides each request; it records what each request carried. */
function sinkDouble(
  answer: (ids: string[], call: number) => EntryResult[] | Promise<EntryResult[]>,
  limits: { perRequest?: number; maxEntryBytes?: number } = {},
) {
  const sent: string[][] = [];
  const sink: BatchSink<Item> = {
    maxEntriesPerRequest: limits.perRequest ?? 500,
    maxBytesPerRequest: 1_000_000,
    size: (item) => item.size ?? 1,
    maxEntryBytes: () => limits.maxEntryBytes ?? 100,
    group: () => 'one',
    retryableEntryCodes: new Set(['Throttled']),
    isRetryableCallError,
    async send(items) {
      const ids = items.map((item) => item.id);
      sent.push(ids);
      return answer(ids, sent.length - 1);
    },
  };
  return { sink, sent };
}

const ok: EntryResult = { ok: true, recordId: 'r' };
const throttled: EntryResult = { ok: false, errorCode: 'Throttled', errorMessage: 'slow down' };
const refused: EntryResult = { ok: false, errorCode: 'Refused', errorMessage: 'no' };
const items = (...ids: string[]): Item[] => ids.map((id) => ({ id }));

describe('call errors', () => {
  it('retries throttling by name, 429 and 5xx by status, and a call with no response; not other 4xx', () => {
    // Act / Assess
    expect(isRetryableCallError({ name: 'SomethingNew', $metadata: { httpStatusCode: 429 } })).toBe(true);
    expect(isRetryableCallError({ name: 'SomethingNew', $metadata: { httpStatusCode: 500 } })).toBe(true);
    expect(isRetryableCallError({ name: 'SomethingNew', $metadata: { httpStatusCode: 499 } })).toBe(false);
    expect(isRetryableCallError({ name: 'RequestTimeout', $metadata: { httpStatusCode: 400 } })).toBe(true);
    expect(isRetryableCallError({ name: 'SomethingNew', $metadata: {} })).toBe(true);
    expect(isRetryableCallError('a string')).toBe(true);
    expect(isRetryableCallError(null)).toBe(true);
  });
});

describe('writeBatches', () => {
  it('retries an entry the response left out, and reports it written in the end', async () => {
    // Prepare: the first answer has a result for the first entry only.
    const { sink, sent } = sinkDouble((ids, call) => (call === 0 ? [ok] : ids.map(() => ok)));
    // Act
    const result = await writeBatches(sink, items('a', 'b'), { sleep: noSleep });
    // Assess
    expect(sent).toEqual([['a', 'b'], ['b']]);
    expect(result.outcomes.map((o) => [o.status, 'attempts' in o && o.attempts])).toEqual([
      ['written', 1],
      ['written', 2],
    ]);
    expect(result.retriedEntries).toBe(1);
  });

  it('retries in input order even when later requests answer first', async () => {
    // Prepare: two requests of two; the first answers last; every entry fails once.
    const { sink, sent } = sinkDouble(
      async (ids, call) => {
        if (call === 0) await new Promise((resolve) => setTimeout(resolve, 20));
        return ids.map(() => (call < 2 ? throttled : ok));
      },
      { perRequest: 2 },
    );
    // Act
    await writeBatches(sink, items('a', 'b', 'c', 'd'), { sleep: noSleep });
    // Assess
    expect(sent.slice(2)).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
  });

  it('retries while the wait still ends outside the reserve, and not one millisecond later', async () => {
    for (const [remaining, retried] of [
      [3_000 + 25, true],
      [3_000 + 24, false],
    ] as const) {
      // Prepare
      const { sink, sent } = sinkDouble((ids, call) => ids.map(() => (call === 0 ? throttled : ok)));
      // Act
      const result = await writeBatches(sink, items('a'), {
        sleep: noSleep,
        random: () => 0.5, // a 25 ms wait before the second attempt
        remainingTimeMs: () => remaining,
      });
      // Assess
      expect(sent.length, `${remaining} ms left`).toBe(retried ? 2 : 1);
      expect(result.outcomes[0]?.status).toBe(retried ? 'written' : 'failed');
    }
  });

  it('waits with backoff before a retry, and gives up after maxAttempts, marked exhausted', async () => {
    // Prepare
    const delays: number[] = [];
    const { sink, sent } = sinkDouble((ids) => ids.map(() => throttled));
    // Act
    const result = await writeBatches(sink, items('a'), {
      sleep: async (ms) => void delays.push(ms),
      random: () => 0.5,
      policy: { maxAttempts: 3, baseDelayMs: 100 },
    });
    // Assess
    expect(sent).toHaveLength(3);
    expect(delays).toEqual([50, 100]);
    expect(result.outcomes[0]).toEqual({
      status: 'failed',
      errorCode: 'Throttled',
      errorMessage: 'slow down (gave up after 3 attempts)',
      attempts: 3,
      exhausted: true,
    });
  });
});

describe('writeBatches with sequences', () => {
  const bySequence = (keys: (string | undefined)[]) => (i: number) => keys[i];

  it('sends one entry per sequence at a time, sequences sharing requests, in input order', async () => {
    // Prepare
    const { sink, sent } = sinkDouble((ids) => ids.map(() => ok));
    // Act
    const result = await writeBatches(
      sink,
      items('a1', 'b1', 'a2', 'x', 'a3', 'b2'),
      { sleep: noSleep },
      bySequence(['a', 'b', 'a', undefined, 'a', 'b']),
    );
    // Assess
    expect(sent).toEqual([['a1', 'b1', 'x'], ['a2', 'b2'], ['a3']]);
    expect(result.outcomes.every((o) => o.status === 'written' && o.attempts === 1)).toBe(true);
    expect(result.requests).toBe(3);
    expect(result.retriedEntries).toBe(0);
  });

  it('retries a failed head before its successor goes, and stops a sequence at a refusal', async () => {
    // Prepare: a1 is throttled once; b1 is refused for good.
    const { sink, sent } = sinkDouble((ids, call) =>
      ids.map((id) => (id === 'b1' ? refused : id === 'a1' && call === 0 ? throttled : ok)),
    );
    // Act
    const result = await writeBatches(
      sink,
      items('a1', 'b1', 'a2', 'b2', 'b3'),
      { sleep: noSleep },
      bySequence(['a', 'b', 'a', 'b', 'b']),
    );
    // Assess
    expect(sent).toEqual([['a1', 'b1'], ['a1'], ['a2']]);
    expect(result.outcomes.map((o) => o.status)).toEqual([
      'written',
      'failed',
      'written',
      'failed',
      'failed',
    ]);
    expect(result.outcomes[3]).toMatchObject({ errorCode: BLOCKED_BY_EARLIER_ENTRY, attempts: 0 });
    expect(result.outcomes[4]).toMatchObject({ errorCode: BLOCKED_BY_EARLIER_ENTRY, attempts: 0 });
    expect(result.outcomes[1]).toMatchObject({ errorCode: 'Refused', attempts: 1 });
  });

  it('stops a sequence at an oversize entry and at a refused call', async () => {
    // Prepare
    const { sink, sent } = sinkDouble(
      (ids) => {
        if (ids.includes('b1'))
          throw Object.assign(new Error('denied'), { $metadata: { httpStatusCode: 403 } });
        return ids.map(() => ok);
      },
      { maxEntryBytes: 10 },
    );
    // Act
    const result = await writeBatches(
      sink,
      [{ id: 'a1', size: 11 }, { id: 'a2' }, { id: 'b1' }, { id: 'b2' }],
      { sleep: noSleep },
      bySequence(['a', 'a', 'b', 'b']),
    );
    // Assess
    expect(sent).toEqual([['b1']]);
    expect(result.outcomes.map((o) => (o.status === 'failed' ? o.errorCode : o.status))).toEqual([
      'oversize',
      BLOCKED_BY_EARLIER_ENTRY,
      'Error',
      BLOCKED_BY_EARLIER_ENTRY,
    ]);
  });

  it('sends nothing new once the time is gone, and says which entries were never sent', async () => {
    // Prepare
    let remaining = 10_000;
    const { sink, sent } = sinkDouble((ids) => {
      remaining = 1_000;
      return ids.map(() => ok);
    });
    // Act
    const result = await writeBatches(
      sink,
      items('a1', 'a2', 'a3'),
      { sleep: noSleep, remainingTimeMs: () => remaining },
      () => 'a',
    );
    // Assess
    expect(sent).toEqual([['a1']]);
    expect(result.outcomes[1]).toMatchObject({
      status: 'failed',
      errorCode: NOT_SENT,
      attempts: 0,
      exhausted: true,
    });
    expect(result.outcomes[2]).toMatchObject({ status: 'failed', errorCode: BLOCKED_BY_EARLIER_ENTRY });
  });
});

describe('engine details', () => {
  it('reads an entry result: an id and no error is written; anything else a failure with its code', () => {
    // Act / Assess
    expect(entryResult({ id: 'r-1' }, 'PutEvents')).toEqual({ ok: true, recordId: 'r-1' });
    expect(entryResult({ id: 'r-1', errorCode: 'Throttled', errorMessage: 'slow' }, 'PutEvents')).toEqual({
      ok: false,
      errorCode: 'Throttled',
      errorMessage: 'slow',
    });
    expect(entryResult({ errorCode: 'Refused' }, 'PutEvents')).toMatchObject({
      ok: false,
      errorCode: 'Refused',
    });
    expect(entryResult(undefined, 'PutRecordBatch')).toEqual({
      ok: false,
      errorCode: 'MissingResult',
      errorMessage: 'PutRecordBatch returned no result for this entry',
    });
    expect(entryResult({}, 'PutEvents')).toMatchObject({ ok: false, errorCode: 'MissingResult' });
  });

  it('describes an Error by its name and message, anything else as UnknownError', () => {
    // Act / Assess
    expect(describeError(new RangeError('too far'))).toEqual({
      errorCode: 'RangeError',
      errorMessage: 'too far',
    });
    expect(describeError('socket hang up')).toEqual({
      errorCode: 'UnknownError',
      errorMessage: 'socket hang up',
    });
  });

  it('does not retry a call refused with a 4xx whose name it does not know', () => {
    // Act / Assess
    expect(isRetryableCallError({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } })).toBe(
      false,
    );
    expect(isRetryableCallError({ $metadata: { httpStatusCode: 403 } })).toBe(false);
  });

  it('fills a request up to exactly its byte limit, and starts a new one a byte past it', () => {
    // Prepare: 10 bytes per request, entries of 4 bytes
    const sink = {
      ...sinkDouble(() => []).sink,
      maxBytesPerRequest: 10,
      group: (item: Item) => item.id[0] ?? '',
    };
    const four = (id: string): Item => ({ id, size: 4 });
    const six = (id: string): Item => ({ id, size: 6 });
    // Act and Assess
    expect(planRequests(sink, [four('a1'), six('a2'), four('a3')], [0, 1, 2])).toEqual([[0, 1], [2]]);
    expect(planRequests(sink, [six('a1'), six('a2')], [0, 1])).toEqual([[0], [1]]);
    // A first entry bigger than the request limit still goes, alone.
    expect(planRequests(sink, [{ id: 'a1', size: 11 }, four('a2')], [0, 1])).toEqual([[0], [1]]);
    // Groups never share a request; no entries, no requests.
    expect(planRequests(sink, [four('a1'), four('b1'), four('a2')], [0, 1, 2])).toEqual([[0, 2], [1]]);
    expect(planRequests(sink, [], [])).toEqual([]);
  });

  it('sends retries in input order after a round where later entries failed first', async () => {
    // Prepare: entries 0-5 in one request; 4, 1 and 3 throttled once.
    const { sink, sent } = sinkDouble((ids, call) =>
      ids.map((id) => (call === 0 && ['4', '1', '3'].includes(id) ? throttled : ok)),
    );
    // Act
    const result = await writeBatches(sink, items('0', '1', '2', '3', '4', '5'), { sleep: noSleep });
    // Assess
    expect(sent[1]).toEqual(['1', '3', '4']);
    expect(result.retriedEntries).toBe(3);
    expect(result.outcomes.every((o) => o.status === 'written')).toBe(true);
  });

  it('waits out a backoff before a retry, and never after a round with nothing to retry', async () => {
    // Prepare
    const waits: number[] = [];
    const sleep = async (ms: number) => {
      waits.push(ms);
    };
    const { sink } = sinkDouble((ids, call) => ids.map(() => (call < 2 ? throttled : ok)));
    // Act
    await writeBatches(sink, items('a'), {
      sleep,
      random: () => 0.999,
      policy: { baseDelayMs: 100, maxDelayMs: 1_000 },
    });
    // Assess: two waits, growing (full jitter at its ceiling: 99, then 199)
    expect(waits).toEqual([99, 199]);
  });
});
