/**
 * Aggregation on write: the shard map (ListShards, its cache), where each entry goes, how
 * entries are packed (limits, lanes, order), and what a write reports per entry. The FIFO
 * order property with aggregation on is in fifo-order.test.ts; the emulator runs, read back
 * by aws-kinesis-agg, in tests/integration/kpl-aggregation.test.ts.
 */
import { ListShardsCommand, type Shard } from '@aws-sdk/client-kinesis';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WriteOutcome, WriteResult } from '../../shared/core/batch-writer.js';
import {
  type AggregationSettings,
  hashKeyToHex,
  hexToHashKey,
  openShardRanges,
  type PackedRecord,
  packRecords,
  partitionKeyHash,
  type ShardMaps,
  shardMapCache,
  shardMapsOf,
  shardOf,
  writeAggregated,
  writeRecordsAggregating,
} from '../../shared/core/kinesis-aggregation.js';
import type { WriteEntry } from '../../shared/core/kinesis-writer.js';
import { AggregateBuilder, deaggregate } from '../../shared/core/kpl.js';
import { evenShards, landingShard } from '../helpers/faulty-kinesis.js';

const SETTINGS: AggregationSettings = {
  maxRecordBytes: 51_200,
  maxUserRecords: 1000,
  shardMapTtlSeconds: 60,
};
const MAX_HASH = 2n ** 128n - 1n;

/** A hash-key space cut at `cuts` (sorted, distinct), listed in a shuffled order. */
function shardsCutAt(cuts: bigint[], order: number[]): Shard[] {
  const bounds = [0n, ...cuts, MAX_HASH + 1n];
  const shards = bounds.slice(0, -1).map((start, i) => ({
    ShardId: `shardId-${i}`,
    HashKeyRange: { StartingHashKey: String(start), EndingHashKey: String((bounds[i + 1] as bigint) - 1n) },
    SequenceNumberRange: { StartingSequenceNumber: '1' },
  }));
  return order.map((i) => shards[i % shards.length] as Shard).filter((s, i, all) => all.indexOf(s) === i);
}

describe('the shard a key hashes to', () => {
  it('is the one whose range holds the MD5 of the key, as a 128-bit number', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.bigInt({ min: 1n, max: MAX_HASH }), { maxLength: 12 }),
        fc.array(fc.nat(), { minLength: 13, maxLength: 13 }),
        fc.array(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }), {
          minLength: 1,
          maxLength: 20,
        }),
        (cuts, order, keys) => {
          // Prepare: every shard listed, in any order.
          const sorted = [...cuts].sort((a, b) => (a < b ? -1 : 1));
          const listed = shardsCutAt(sorted, [...order, ...Array.from({ length: 13 }, (_, i) => i)]);
          const ranges = openShardRanges(listed);
          for (const key of keys) {
            // Act
            const found = shardOf(ranges, partitionKeyHash(key))?.shardId;
            // Assess: against BigInt arithmetic on the listed ranges.
            expect(found, key).toBe(landingShard(listed, key));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('finds the first and last hash keys, and nothing outside the listed ranges', () => {
    // Prepare
    const ranges = openShardRanges(evenShards(4));
    // Act / Assess
    expect(shardOf(ranges, '0'.repeat(32))?.shardId).toBe('shardId-000000000000');
    expect(shardOf(ranges, 'f'.repeat(32))?.shardId).toBe('shardId-000000000003');
    expect(shardOf(ranges, hashKeyToHex(String(2n ** 126n)))?.shardId).toBe('shardId-000000000001');
    expect(shardOf(ranges, hashKeyToHex(String(2n ** 126n - 1n)))?.shardId).toBe('shardId-000000000000');
    const gap = openShardRanges(evenShards(4).filter((s) => s.ShardId !== 'shardId-000000000002'));
    expect(shardOf(gap, hashKeyToHex(String(2n ** 127n + 5n)))).toBeUndefined();
    expect(shardOf([], '0'.repeat(32))).toBeUndefined();
  });

  it('reads only open shards: a closed parent keeps its range, but its children take the keys', () => {
    // Prepare: shard 0 split into 2 and 3; 0 is closed (it has an ending sequence number).
    const [left, right] = evenShards(2) as [Shard, Shard];
    const closed = {
      ...left,
      SequenceNumberRange: { StartingSequenceNumber: '1', EndingSequenceNumber: '9' },
    };
    const half = String(2n ** 126n);
    const open = { StartingSequenceNumber: '10' };
    const children: Shard[] = [
      {
        ShardId: 'shardId-3',
        HashKeyRange: { StartingHashKey: half, EndingHashKey: String(2n ** 127n - 1n) },
        SequenceNumberRange: open,
      },
      {
        ShardId: 'shardId-2',
        HashKeyRange: { StartingHashKey: '0', EndingHashKey: String(2n ** 126n - 1n) },
        SequenceNumberRange: open,
      },
    ];
    const noRange = { ShardId: 'no-range', SequenceNumberRange: open } as Shard;
    // Act
    const ranges = openShardRanges([closed, right, ...children, noRange]);
    // Assess: sorted by start, the closed parent and the shard without a range left out.
    expect(ranges.map((r) => r.shardId)).toEqual(['shardId-2', 'shardId-3', 'shardId-000000000001']);
    expect(ranges[1]?.startHex).toBe(hashKeyToHex(half));
  });

  it('converts hash keys between decimal and 32 hex digits both ways', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_HASH }), (value) => {
        const hex = hashKeyToHex(String(value));
        expect(hex).toHaveLength(32);
        expect(hexToHashKey(hex)).toBe(String(value));
      }),
    );
    expect(partitionKeyHash('a')).toBe('0cc175b9c0f1b6a831c399e269772661');
  });
});

/** A Kinesis client that answers ListShards from `pages`, counting calls; `fail` throws instead. */
function listingClient(pages: Shard[][], fail?: () => Error | undefined) {
  const calls: { StreamName?: string; StreamARN?: string; NextToken?: string }[] = [];
  const client = {
    async send(command: ListShardsCommand) {
      expect(command).toBeInstanceOf(ListShardsCommand);
      calls.push(command.input);
      const error = fail?.();
      if (error) throw error;
      const page = command.input.NextToken === undefined ? 0 : Number(command.input.NextToken);
      const next = page + 1 < pages.length ? { NextToken: String(page + 1) } : {};
      return { Shards: pages[page], ...next };
    },
  };
  return { client, calls };
}

describe('the shard map cache', () => {
  it('reads every page of ListShards, by name or by ARN', async () => {
    // Prepare: four shards over two pages.
    const [a, b, c, d] = evenShards(4) as [Shard, Shard, Shard, Shard];
    const { client, calls } = listingClient([
      [c, a],
      [d, b],
    ]);
    const maps = shardMapCache(client);
    // Act
    const ranges = await maps.get('s', 1000);
    await maps.get('arn:aws:kinesis:us-east-1:123456789012:stream/t', 1000);
    // Assess: the next page asks by token alone, as the API requires.
    expect(ranges.map((r) => r.shardId)).toEqual([a, b, c, d].map((s) => s.ShardId));
    expect(calls).toEqual([
      { StreamName: 's' },
      { NextToken: '1' },
      { StreamARN: 'arn:aws:kinesis:us-east-1:123456789012:stream/t' },
      { NextToken: '1' },
    ]);
  });

  it('keeps a map for its TTL, shares one call between concurrent reads, and forgets on invalidate', async () => {
    // Prepare
    let now = 1_000_000;
    const { client, calls } = listingClient([evenShards(2)]);
    const maps = shardMapCache(client, () => now);
    // Act / Assess
    await Promise.all([maps.get('s', 60_000), maps.get('s', 60_000)]);
    expect(calls).toHaveLength(1);
    now = 1_059_999;
    await maps.get('s', 60_000);
    expect(calls).toHaveLength(1);
    now = 1_060_000;
    await maps.get('s', 60_000);
    expect(calls).toHaveLength(2);
    maps.invalidate('s');
    await maps.get('s', 60_000);
    expect(calls).toHaveLength(3);
    await maps.get('other', 60_000);
    expect(calls).toHaveLength(4);
  });

  it('does not keep a failure: the next read asks again', async () => {
    // Prepare
    let failing = true;
    const { client, calls } = listingClient([evenShards(1)], () =>
      failing ? Object.assign(new Error('Rate exceeded'), { name: 'LimitExceededException' }) : undefined,
    );
    const maps = shardMapCache(client);
    // Act / Assess
    await expect(maps.get('s', 60_000)).rejects.toThrow('Rate exceeded');
    failing = false;
    expect(await maps.get('s', 60_000)).toHaveLength(1);
    expect(calls).toHaveLength(2);
  });

  it('keeps a newer map when an older read fails after it', async () => {
    // Prepare: the first ListShards hangs, then fails; the second answers at once.
    let failFirst: (error: Error) => void = () => {};
    let calls = 0;
    const client = {
      async send() {
        calls++;
        if (calls === 1) return new Promise((_, reject) => (failFirst = reject));
        return { Shards: evenShards(2) };
      },
    };
    const maps = shardMapCache(client);
    // Act: an old read in flight, the map dropped, a new read done, then the old one fails.
    const old = maps.get('s', 60_000);
    maps.invalidate('s');
    await maps.get('s', 60_000);
    failFirst(new Error('late failure'));
    await expect(old).rejects.toThrow('late failure');
    // Assess: the newer map is still cached: no third call.
    expect(await maps.get('s', 60_000)).toHaveLength(2);
    expect(calls).toBe(2);
  });

  it('is one per client', () => {
    const one = listingClient([]).client;
    expect(shardMapsOf(one)).toBe(shardMapsOf(one));
    expect(shardMapsOf(one)).not.toBe(shardMapsOf(listingClient([]).client));
  });
});

const TWO_SHARDS = openShardRanges(evenShards(2));

/** Entries' placements as the writer computes them, for `packRecords`. */
function placer(
  entries: readonly WriteEntry[],
  settings: AggregationSettings,
  aggregated = (_: string) => true,
) {
  return (i: number) => {
    const entry = entries[i] as WriteEntry;
    if (!aggregated(entry.stream)) return undefined;
    const hashHex = partitionKeyHash(entry.partitionKey);
    const shard = shardOf(TWO_SHARDS, hashHex);
    if (!shard) return undefined;
    return { key: `${entry.stream}\u0000${shard.shardId}`, shardId: shard.shardId, hashHex, settings };
  };
}

const entryArb = fc.record({
  stream: fc.constantFrom('agg-a', 'agg-b', 'plain'),
  partitionKey: fc.string({ minLength: 1, maxLength: 8 }),
  data: fc.oneof(fc.string({ maxLength: 120 }), fc.string({ minLength: 600, maxLength: 1500 })),
  sequence: fc.option(fc.constantFrom('g0', 'g1', 'g2', 'g3', 'g4'), { nil: undefined }),
});

const bytes = (entry: WriteEntry) =>
  (typeof entry.data === 'string' ? Buffer.byteLength(entry.data) : entry.data.byteLength) +
  Buffer.byteLength(entry.partitionKey);

describe('packing entries into Kinesis records', () => {
  it('puts each entry in one record, within the limits, on its own shard, lanes in input order', () => {
    fc.assert(
      fc.property(
        fc.array(entryArb, { maxLength: 60 }),
        fc.integer({ min: 300, max: 4000 }),
        fc.integer({ min: 2, max: 6 }),
        (drawn, maxRecordBytes, maxUserRecords) => {
          // Prepare
          const entries: WriteEntry[] = drawn.map(({ sequence: _, ...entry }) => entry);
          const settings = { ...SETTINGS, maxRecordBytes, maxUserRecords };
          const placement = placer(entries, settings, (stream) => stream !== 'plain');
          // Act
          const { records, laneOf } = packRecords(entries, placement, (i) => drawn[i]?.sequence);
          // Assess: each entry exactly once, in input order within its record.
          const members = records.flatMap((r) => r.members);
          expect([...members].sort((a, b) => a - b)).toEqual(entries.map((_, i) => i));
          for (const [k, record] of records.entries()) {
            expect(record.members).toEqual([...record.members].sort((a, b) => a - b));
            const first = record.members[0] as number;
            if (record.members.length === 1) {
              // One entry: written as it is (a plain Kinesis record).
              expect(record.entry).toBe(entries[first]);
              continue;
            }
            // An aggregated record: one stream and shard, within the limits, holding exactly its entries.
            const place = placement(first);
            expect(place).toBeDefined();
            for (const i of record.members) expect(placement(i)?.key).toBe(place?.key);
            expect(record.members.length).toBeLessThanOrEqual(maxUserRecords);
            expect(bytes(record.entry)).toBeLessThanOrEqual(maxRecordBytes);
            expect(record.shardId).toBe(place?.shardId);
            expect(record.entry.partitionKey).toBe(entries[first]?.partitionKey);
            expect(shardOf(TWO_SHARDS, hashKeyToHex(record.entry.explicitHashKey as string))?.shardId).toBe(
              place?.shardId,
            );
            const users = deaggregate({
              ...record.entry,
              data: record.entry.data as Buffer,
              sequenceNumber: '1',
            });
            expect(users.map((u) => [u.partitionKey, u.data.toString('utf8')])).toEqual(
              record.members.map((i) => [entries[i]?.partitionKey, entries[i]?.data]),
            );
            expect(laneOf(k)).toBe(laneOf(records.indexOf(record)));
          }
          // Lanes: every entry of a sequence in one lane, and a lane's records in input order.
          const laneOfEntry = new Map<number, string | undefined>();
          records.forEach((record, k) => {
            for (const i of record.members) laneOfEntry.set(i, laneOf(k));
          });
          const bySequence = new Map<string, Set<string | undefined>>();
          drawn.forEach(({ sequence }, i) => {
            if (sequence === undefined) {
              expect(laneOfEntry.get(i)).toBeUndefined();
              return;
            }
            const lanes = bySequence.get(sequence) ?? new Set();
            lanes.add(laneOfEntry.get(i));
            bySequence.set(sequence, lanes);
          });
          for (const lanes of bySequence.values()) expect(lanes.size).toBe(1);
          const byLane = new Map<string, number[]>();
          records.forEach((record, k) => {
            const lane = laneOf(k);
            if (lane !== undefined) byLane.set(lane, [...(byLane.get(lane) ?? []), ...record.members]);
          });
          for (const list of byLane.values()) expect(list).toEqual([...list].sort((a, b) => a - b));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('packs a FIFO batch of ten groups on one shard into one record', () => {
    // Prepare: one shard, ten messages, each of its own group and key.
    const entries = Array.from({ length: 10 }, (_, i) => ({
      stream: 's',
      partitionKey: `g${i}`,
      data: `m${i}`,
    }));
    const oneShard = openShardRanges(evenShards(1));
    const placement = (i: number) => ({
      key: 's',
      shardId: (oneShard[0] as { shardId: string }).shardId,
      hashHex: partitionKeyHash(entries[i]?.partitionKey as string),
      settings: SETTINGS,
    });
    // Act
    const { records } = packRecords(entries, placement, (i) => `group-${i}`);
    // Assess: groups sharing a shard share a lane, so they share records.
    expect(records.map((r) => r.members)).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
  });

  it('closes a lane record at an entry written plain, so the lane keeps its order', () => {
    // Prepare: a group's messages to the aggregated stream, with one bound for the DLQ between.
    const entries = [
      { stream: 'agg', partitionKey: 'k', data: 'a' },
      { stream: 'agg', partitionKey: 'k', data: 'b' },
      { stream: 'dlq', partitionKey: 'k', data: 'envelope' },
      { stream: 'agg', partitionKey: 'k', data: 'c' },
      { stream: 'agg', partitionKey: 'k', data: 'd' },
    ];
    // Act
    const { records, laneOf } = packRecords(
      entries,
      placer(entries, SETTINGS, (s) => s === 'agg'),
      () => 'g',
    );
    // Assess
    expect(records.map((r) => r.members)).toEqual([[0, 1], [2], [3, 4]]);
    expect(new Set(records.map((_, k) => laneOf(k))).size).toBe(1);
  });

  it('writes an entry too big to aggregate as it is, and one without a lane beside the open record', () => {
    // Prepare: with a 300-byte limit, a 400-byte entry cannot be aggregated.
    const big = 'x'.repeat(400);
    const entries = ['a', big, 'b', 'c'].map((data) => ({ stream: 's', partitionKey: 'k', data }));
    const settings = { ...SETTINGS, maxRecordBytes: 300 };
    // Act
    const { records, laneOf } = packRecords(entries, placer(entries, settings));
    // Assess: no order to keep, so 'a', 'b' and 'c' still share a record.
    expect(records.map((r) => r.members)).toEqual([[0, 2, 3], [1]]);
    expect(records[1]?.entry).toBe(entries[1]);
    expect(records[1]?.shardId).toBe(shardOf(TWO_SHARDS, partitionKeyHash('k'))?.shardId);
    expect(laneOf(0)).toBeUndefined();
  });

  it('lets an entry open a record only if it fits alone, its key counted, to the byte', () => {
    // Prepare: 'a', then an entry exactly at the limit or one byte over, then 'b' and 'c'.
    const entriesWith = (size: number) =>
      ['a', 'x'.repeat(size), 'b', 'c'].map((data) => ({ stream: 's', partitionKey: 'key', data }));
    // A one-record aggregate of n bytes weighs n plus a fixed overhead (n from 128 to 16,383).
    const aggregatedAlone = (n: number) =>
      new AggregateBuilder().sizeWith({ partitionKey: 'key', data: 'x'.repeat(n) }) +
      Buffer.byteLength('key');
    const limit = 1000;
    const settings = { ...SETTINGS, maxRecordBytes: limit };
    const atLimit = limit - (aggregatedAlone(500) - 500);
    // Act
    const exact = packRecords(entriesWith(atLimit), placer(entriesWith(atLimit), settings)).records;
    const over = packRecords(entriesWith(atLimit + 1), placer(entriesWith(atLimit + 1), settings)).records;
    // Assess: at the limit it opens its own record ('b' and 'c' start another); over it, it is
    // written as it is and 'b' and 'c' join 'a'.
    expect(exact.map((r) => r.members)).toEqual([[0], [1], [2, 3]]);
    expect(over.map((r) => r.members)).toEqual([[0, 2, 3], [1]]);
  });

  it('keeps records with and without explicit hash keys apart, and places each by its own hash key', () => {
    // Prepare: on one shard, entries with and without an explicit hash key; one hash key that
    // points at the other shard than its partition key.
    const otherShard = (key: string) =>
      shardOf(TWO_SHARDS, partitionKeyHash(key))?.shardId === 'shardId-000000000000'
        ? String(2n ** 127n + 1n)
        : '1';
    const entries: WriteEntry[] = [
      { stream: 's', partitionKey: 'k', data: 'a' },
      { stream: 's', partitionKey: 'k', data: 'b', explicitHashKey: hexToHashKey(partitionKeyHash('k')) },
      { stream: 's', partitionKey: 'k', data: 'c' },
      { stream: 's', partitionKey: 'k', data: 'd', explicitHashKey: hexToHashKey(partitionKeyHash('k')) },
      { stream: 's', partitionKey: 'k', data: 'e', explicitHashKey: otherShard('k') },
    ];
    const maps = fixedMaps();
    const sent: WriteEntry[][] = [];
    const write = async (records: WriteEntry[]): Promise<WriteResult> => {
      sent.push(records);
      return { outcomes: records.map(() => written('x')), requests: 1, retriedEntries: 0 };
    };
    // Act
    return writeAggregated(entries, { aggregationOf: () => SETTINGS, shardMaps: maps }, write).then(() => {
      // Assess: a, c together; b, d together; e alone (plain), on the other shard's hash key.
      const records = sent[0] as WriteEntry[];
      const contents = records.map((record) =>
        typeof record.data === 'string'
          ? [record.data]
          : deaggregate({ ...record, data: record.data as Buffer, sequenceNumber: '1' }).map((u) =>
              u.data.toString(),
            ),
      );
      expect(contents).toEqual([['a', 'c'], ['b', 'd'], ['e']]);
      expect(records[2]).toBe(entries[4]);
    });
  });

  it('writes an entry plain when the shard map has no shard for its hash key', async () => {
    // Prepare: a map with a gap where the key's hash falls.
    const hash = partitionKeyHash('k');
    const gap = TWO_SHARDS.filter((range) => !(range.startHex <= hash && hash <= range.endHex));
    const entries = ['a', 'b'].map((data) => ({ stream: 's', partitionKey: 'k', data }));
    let sent: WriteEntry[] = [];
    const write = async (records: WriteEntry[]): Promise<WriteResult> => {
      sent = records;
      return { outcomes: records.map(() => written('x')), requests: 1, retriedEntries: 0 };
    };
    // Act
    await writeAggregated(entries, { aggregationOf: () => SETTINGS, shardMaps: fixedMaps(gap) }, write);
    // Assess
    expect(sent).toEqual(entries);
  });

  it('counts the aggregated record partition key against the limit', () => {
    // Prepare: two records whose aggregate is exactly at the limit with the key, one byte over without room.
    const entries = [
      { stream: 's', partitionKey: 'key', data: 'x'.repeat(100) },
      { stream: 's', partitionKey: 'key', data: 'y'.repeat(100) },
    ];
    const together = packRecords(entries, placer(entries, SETTINGS)).records[0] as PackedRecord;
    const exact = bytes(together.entry);
    // Act
    const fits = packRecords(entries, placer(entries, { ...SETTINGS, maxRecordBytes: exact }));
    const over = packRecords(entries, placer(entries, { ...SETTINGS, maxRecordBytes: exact - 1 }));
    // Assess
    expect(fits.records).toHaveLength(1);
    expect(over.records).toHaveLength(2);
  });
});

/** Shard maps that serve fixed ranges, note invalidations, or fail. */
function fixedMaps(ranges = TWO_SHARDS, error?: Error): ShardMaps & { invalidated: string[] } {
  const invalidated: string[] = [];
  return {
    invalidated,
    get: async () => {
      if (error) throw error;
      return ranges;
    },
    invalidate: (stream) => invalidated.push(stream),
  };
}

const written = (shardId: string, attempts = 1): WriteOutcome => ({
  status: 'written',
  attempts,
  sequenceNumber: '1',
  shardId,
});

describe('an aggregated write', () => {
  const entries: WriteEntry[] = Array.from({ length: 6 }, (_, i) => ({
    stream: i === 5 ? 'plain' : 'agg',
    partitionKey: `key-${i}`,
    data: `message ${i}`,
  }));
  const aggregationOf = (stream: string) => (stream === 'agg' ? SETTINGS : undefined);
  const ownShard = (i: number) => shardOf(TWO_SHARDS, partitionKeyHash(`key-${i}`))?.shardId as string;

  it('gives every entry the outcome of its record: a failed record fails all its messages', async () => {
    // Prepare: the writer fails the first aggregated record and writes the rest on the right shard.
    let sent: WriteEntry[] = [];
    const write = async (records: WriteEntry[]): Promise<WriteResult> => {
      sent = records;
      return {
        outcomes: records.map((record, k) =>
          k === 0
            ? { status: 'failed', errorCode: 'KMSAccessDeniedException', errorMessage: 'no', attempts: 1 }
            : written(landingShard(evenShards(2), record.partitionKey, record.explicitHashKey), 2),
        ),
        requests: 3,
        retriedEntries: records.length - 1,
      };
    };
    // Act
    const result = await writeAggregated(entries, { aggregationOf, shardMaps: fixedMaps() }, write);
    // Assess
    const first = deaggregate({
      ...(sent[0] as WriteEntry),
      data: sent[0]?.data as Buffer,
      sequenceNumber: '1',
    });
    const failedKeys = first.map((u) => u.partitionKey);
    expect(failedKeys.length).toBeGreaterThan(1);
    result.outcomes.forEach((outcome, i) => {
      expect(outcome.status, `entry ${i}`).toBe(failedKeys.includes(`key-${i}`) ? 'failed' : 'written');
    });
    expect(result.requests).toBe(3);
    expect(result.retriedEntries).toBe(6 - failedKeys.length);
    expect(result.aggregation).toEqual({ kinesisRecords: sent.length, staleShardMaps: [], unaggregated: [] });
    expect(sent.length).toBeLessThan(entries.length);
    expect(sent.at(-1)).toBe(entries[5]);
  });

  it('drops a stream shard map when a record lands on another shard than predicted', async () => {
    // Prepare: the service puts everything on one shard (the stream was resharded).
    const maps = fixedMaps();
    const write = async (records: WriteEntry[]): Promise<WriteResult> => ({
      outcomes: records.map(() => written('shardId-000000000009')),
      requests: 1,
      retriedEntries: 0,
    });
    // Act
    const result = await writeAggregated(entries, { aggregationOf, shardMaps: maps }, write);
    // Assess: only the aggregated stream's map is dropped; the plain stream has none.
    expect(maps.invalidated).toEqual(['agg']);
    expect(result.aggregation.staleShardMaps).toEqual(['agg']);
    expect(result.outcomes.every((o) => o.status === 'written')).toBe(true);
  });

  it('keeps the map when every record lands where predicted', async () => {
    const maps = fixedMaps();
    const write = async (records: WriteEntry[]): Promise<WriteResult> => ({
      outcomes: records.map((r) => written(landingShard(evenShards(2), r.partitionKey, r.explicitHashKey))),
      requests: 1,
      retriedEntries: 0,
    });
    const result = await writeAggregated(entries, { aggregationOf, shardMaps: maps }, write);
    expect(maps.invalidated).toEqual([]);
    expect(result.outcomes.map((o) => (o.status === 'written' ? o.shardId : o.status))).toEqual(
      entries.map((_, i) => (i === 5 ? landingShard(evenShards(2), 'key-5') : ownShard(i))),
    );
  });

  it('writes plain records when the shard map cannot be read, and says so', async () => {
    // Prepare
    let sent: WriteEntry[] = [];
    const denied = Object.assign(new Error('not allowed'), { name: 'AccessDeniedException' });
    const write = async (records: WriteEntry[]): Promise<WriteResult> => {
      sent = records;
      return { outcomes: records.map(() => written('x')), requests: 1, retriedEntries: 0 };
    };
    // Act
    const result = await writeAggregated(
      entries,
      { aggregationOf, shardMaps: fixedMaps(TWO_SHARDS, denied) },
      write,
    );
    // Assess: nothing lost, nothing aggregated, the cause reported.
    expect(sent).toEqual(entries);
    expect(result.aggregation.unaggregated).toEqual([
      { stream: 'agg', error: 'AccessDeniedException: not allowed' },
    ]);
    expect(result.aggregation.staleShardMaps).toEqual([]);
  });

  it('leaves an entry with a hash key Kinesis would refuse as it is, for Kinesis to refuse', async () => {
    // Prepare: hash keys out of range or not decimal, and one valid one.
    const odd = ['abc', String(2n ** 128n), '-1', '1e5', String(2n ** 128n - 1n)].map(
      (explicitHashKey, i) => ({
        stream: 'agg',
        partitionKey: `odd-${i}`,
        data: 'x',
        explicitHashKey,
      }),
    );
    let sent: WriteEntry[] = [];
    const write = async (records: WriteEntry[]): Promise<WriteResult> => {
      sent = records;
      return { outcomes: records.map(() => written('x')), requests: 1, retriedEntries: 0 };
    };
    // Act
    await writeAggregated(odd, { aggregationOf, shardMaps: fixedMaps() }, write);
    // Assess: the four bad ones untouched; the valid one alone, so written as it is too.
    expect(sent).toEqual(odd);
  });

  it('asks for each shard map with the stream TTL in milliseconds', async () => {
    // Prepare
    const asked: [string, number][] = [];
    const maps: ShardMaps = {
      get: async (stream, ttlMs) => {
        asked.push([stream, ttlMs]);
        return TWO_SHARDS;
      },
      invalidate: () => {},
    };
    const write = async (records: WriteEntry[]): Promise<WriteResult> => ({
      outcomes: records.map(() => written('x')),
      requests: 1,
      retriedEntries: 0,
    });
    // Act
    await writeAggregated(
      entries,
      {
        aggregationOf: (s) => (s === 'agg' ? { ...SETTINGS, shardMapTtlSeconds: 90 } : undefined),
        shardMaps: maps,
      },
      write,
    );
    // Assess: one read for the one aggregated stream.
    expect(asked).toEqual([['agg', 90_000]]);
  });

  it('passes lanes to the writer only when an order is asked for', async () => {
    // Prepare
    const lanesSeen: unknown[] = [];
    const write = async (records: WriteEntry[], lanes?: (k: number) => string | undefined) => {
      lanesSeen.push(lanes && records.map((_, k) => lanes(k)));
      return { outcomes: records.map(() => written('x')), requests: 1, retriedEntries: 0 };
    };
    // Act
    await writeAggregated(entries, { aggregationOf, shardMaps: fixedMaps() }, write);
    await writeAggregated(entries, { aggregationOf, shardMaps: fixedMaps() }, write, () => 'one');
    // Assess
    expect(lanesSeen[0]).toBeUndefined();
    expect(new Set(lanesSeen[1] as string[]).size).toBe(1);
  });

  it('is skipped when no entry goes to a stream with aggregation', async () => {
    // Prepare: a client that fails any ListShards call.
    const calls: string[] = [];
    const kinesis = {
      async send(command: { constructor: { name: string } }) {
        calls.push(command.constructor.name);
        return { Records: [{ SequenceNumber: '1', ShardId: 'shardId-000000000000' }] };
      },
    };
    // Act
    const result = await writeRecordsAggregating([{ stream: 'plain', partitionKey: 'k', data: 'd' }], {
      kinesis: kinesis as never,
      aggregation: { aggregationOf, shardMaps: fixedMaps(TWO_SHARDS, new Error('must not be asked')) },
    });
    // Assess
    expect(calls).toEqual(['PutRecordsCommand']);
    expect(result).not.toHaveProperty('aggregation');
  });
});
