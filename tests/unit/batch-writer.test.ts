/**
 * The batch-write engine on its own, with a sink double: call-error classes, entries the
 * response leaves out, retry order, the deadline at its boundary, and ordered sequences.
 */
import { describe, expect, it } from 'vitest';
import {
  type BatchSink,
  BLOCKED_BY_EARLIER_ENTRY,
  type EntryResult,
  isRetryableCallError,
  NOT_SENT,
  writeBatches,
} from '../../shared/batch-writer.js';
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
      const { sink, sent } = sinkDouble((ids, call) => ids.map(() => (call === 0 ? throttled : ok)));
      const result = await writeBatches(sink, items('a'), {
        sleep: noSleep,
        random: () => 0.5, // a 25 ms wait before the second attempt
        remainingTimeMs: () => remaining,
      });
      expect(sent.length, `${remaining} ms left`).toBe(retried ? 2 : 1);
      expect(result.outcomes[0]?.status).toBe(retried ? 'written' : 'failed');
    }
  });

  it('waits with backoff before a retry, and gives up after maxAttempts, marked exhausted', async () => {
    const delays: number[] = [];
    const { sink, sent } = sinkDouble((ids) => ids.map(() => throttled));
    const result = await writeBatches(sink, items('a'), {
      sleep: async (ms) => void delays.push(ms),
      random: () => 0.5,
      policy: { maxAttempts: 3, baseDelayMs: 100 },
    });
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
    const { sink, sent } = sinkDouble((ids) => ids.map(() => ok));
    const result = await writeBatches(
      sink,
      items('a1', 'b1', 'a2', 'x', 'a3', 'b2'),
      { sleep: noSleep },
      bySequence(['a', 'b', 'a', undefined, 'a', 'b']),
    );
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
    const { sink, sent } = sinkDouble(
      (ids) => {
        if (ids.includes('b1'))
          throw Object.assign(new Error('denied'), { $metadata: { httpStatusCode: 403 } });
        return ids.map(() => ok);
      },
      { maxEntryBytes: 10 },
    );
    const result = await writeBatches(
      sink,
      [{ id: 'a1', size: 11 }, { id: 'a2' }, { id: 'b1' }, { id: 'b2' }],
      { sleep: noSleep },
      bySequence(['a', 'a', 'b', 'b']),
    );
    expect(sent).toEqual([['b1']]);
    expect(result.outcomes.map((o) => (o.status === 'failed' ? o.errorCode : o.status))).toEqual([
      'oversize',
      BLOCKED_BY_EARLIER_ENTRY,
      'Error',
      BLOCKED_BY_EARLIER_ENTRY,
    ]);
  });

  it('sends nothing new once the time is gone, and says which entries were never sent', async () => {
    let remaining = 10_000;
    const { sink, sent } = sinkDouble((ids) => {
      remaining = 1_000;
      return ids.map(() => ok);
    });
    const result = await writeBatches(
      sink,
      items('a1', 'a2', 'a3'),
      { sleep: noSleep, remainingTimeMs: () => remaining },
      () => 'a',
    );
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
