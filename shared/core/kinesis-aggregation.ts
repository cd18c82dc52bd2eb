/**
 * KPL aggregation on write, shard-aware. Entries bound for a stream with `aggregation` are
 * packed into KPL aggregated records, one shard at a time: each user record goes into an
 * aggregated record for the shard its own partition key hashes to (MD5 of the key as a
 * 128-bit integer, inside the shard's hash-key range), and that aggregated record carries an
 * explicit hash key inside the same range. Every user record therefore lands on the shard it
 * would have reached if it had been written alone.
 *
 * The shard map comes from ListShards, cached per client with a TTL, and is dropped when
 * PutRecords reports a shard other than the one predicted (the stream was resharded).
 * Without a shard map (ListShards failed), entries are written plain, as without aggregation.
 *
 * Order: entries that must keep an order (a FIFO group, see SequenceOf) are packed so that
 * the aggregated records can be written one after another in the same order: all the
 * sequences that share a shard form one lane, and a lane's aggregated record holds only
 * consecutive entries of that lane on one shard. An aggregated record is written or not as
 * a whole, so all its entries share one outcome.
 */
import { createHash } from 'node:crypto';
import { type KinesisClient, ListShardsCommand, type Shard } from '@aws-sdk/client-kinesis';
import { type SequenceOf, type WriteOutcome, type WriteResult, writeBatches } from './batch-writer.js';
import { kinesisSink, type WriteEntry, type WriterDeps, writeRecords } from './kinesis-writer.js';
import { AggregateBuilder } from './kpl.js';

/** A stream's aggregation settings, as the config resolves them. */
export interface AggregationSettings {
  /** Largest aggregated record, its partition key included. */
  maxRecordBytes: number;
  /** Most user records in one aggregated record. */
  maxUserRecords: number;
  /** How long a shard map is trusted. */
  shardMapTtlSeconds: number;
}

/** An open shard's hash-key range, as 32 hex digits (so that text order is numeric order). */
export interface ShardRange {
  shardId: string;
  startHex: string;
  endHex: string;
}

const HEX_DIGITS = 32;

/** A 128-bit decimal hash key as 32 hex digits. */
export function hashKeyToHex(decimal: string): string {
  return BigInt(decimal).toString(16).padStart(HEX_DIGITS, '0');
}

/** A decimal hash key as 32 hex digits, if it is one (0 to 2^128 - 1). */
function validHashKeyHex(decimal: string): string | undefined {
  if (!/^\d{1,39}$/.test(decimal)) return undefined;
  const hex = hashKeyToHex(decimal);
  return hex.length === HEX_DIGITS ? hex : undefined;
}

/** 32 hex digits as the decimal hash key Kinesis takes. */
export function hexToHashKey(hex: string): string {
  return BigInt(`0x${hex}`).toString(10);
}

/** The hash key Kinesis derives from a partition key: MD5 of its UTF-8 bytes, as 32 hex digits. */
export function partitionKeyHash(partitionKey: string): string {
  return createHash('md5').update(partitionKey, 'utf8').digest('hex');
}

/** The open shards of a ListShards answer, by hash-key range. */
export function openShardRanges(shards: readonly Shard[]): ShardRange[] {
  return shards
    .filter((shard) => shard.SequenceNumberRange?.EndingSequenceNumber === undefined)
    .flatMap((shard) => {
      const range = shard.HashKeyRange;
      if (!shard.ShardId || !range?.StartingHashKey || !range.EndingHashKey) return [];
      return [
        {
          shardId: shard.ShardId,
          startHex: hashKeyToHex(range.StartingHashKey),
          endHex: hashKeyToHex(range.EndingHashKey),
        },
      ];
    })
    .sort((a, b) => (a.startHex < b.startHex ? -1 : a.startHex > b.startHex ? 1 : 0));
}

/** The shard whose range holds `hashHex` (ranges sorted by start), if any. */
export function shardOf(ranges: readonly ShardRange[], hashHex: string): ShardRange | undefined {
  let low = 0;
  let high = ranges.length - 1;
  let found: ShardRange | undefined;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const range = ranges[middle] as ShardRange;
    if (range.startHex <= hashHex) {
      found = range;
      low = middle + 1;
    } else high = middle - 1;
  }
  return found && hashHex <= found.endHex ? found : undefined;
}

export interface ShardMaps {
  /** The open shards of `stream`: cached if younger than `ttlMs`, else from ListShards. */
  get(stream: string, ttlMs: number): Promise<ShardRange[]>;
  /** Forget `stream`'s map: the next `get` asks ListShards. */
  invalidate(stream: string): void;
}

function listShardsParams(stream: string) {
  return stream.startsWith('arn:') ? { StreamARN: stream } : { StreamName: stream };
}

/** Every shard of `stream`, page by page. */
async function listAllShards(kinesis: Pick<KinesisClient, 'send'>, stream: string): Promise<Shard[]> {
  const shards: Shard[] = [];
  let nextToken: string | undefined;
  do {
    const page = await kinesis.send(
      new ListShardsCommand(nextToken === undefined ? listShardsParams(stream) : { NextToken: nextToken }),
    );
    shards.push(...(page.Shards ?? []));
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return shards;
}

/** Shard maps cached per stream; concurrent lookups of one stream share one ListShards. */
export function shardMapCache(kinesis: Pick<KinesisClient, 'send'>, now: () => number = Date.now): ShardMaps {
  const cache = new Map<string, { at: number; ranges: Promise<ShardRange[]> }>();
  return {
    get(stream, ttlMs) {
      const cached = cache.get(stream);
      if (cached && now() - cached.at < ttlMs) return cached.ranges;
      const ranges = listAllShards(kinesis, stream).then(openShardRanges);
      const entry = { at: now(), ranges };
      cache.set(stream, entry);
      ranges.catch(() => {
        if (cache.get(stream) === entry) cache.delete(stream);
      });
      return ranges;
    },
    invalidate(stream) {
      cache.delete(stream);
    },
  };
}

const cachesByClient = new WeakMap<object, ShardMaps>();

/** The shard-map cache of one Kinesis client: one per container, as the client is. */
export function shardMapsOf(kinesis: Pick<KinesisClient, 'send'>): ShardMaps {
  let maps = cachesByClient.get(kinesis);
  if (!maps) {
    maps = shardMapCache(kinesis);
    cachesByClient.set(kinesis, maps);
  }
  return maps;
}

/** Where an entry goes: the shard its hash key falls in, under its stream's settings. */
interface Placement {
  /** Stream and shard. */
  key: string;
  shardId: string;
  hashHex: string;
  settings: AggregationSettings;
}

/** One Kinesis record to write: an aggregated record, or one entry as it is. */
export interface PackedRecord {
  entry: WriteEntry;
  /** The input entries it holds, in order. */
  members: number[];
  /** The shard it should land on (for aggregated streams). */
  shardId?: string;
}

interface OpenRecord {
  placement: Placement;
  builder: AggregateBuilder;
  record: PackedRecord;
  firstKeyBytes: number;
}

/** Union-find over lane keys: sequences and the shards they write to. */
function laneFinder() {
  const parent = new Map<string, string>();
  const find = (key: string): string => {
    let root = key;
    for (let up = parent.get(root); up !== undefined && up !== root; up = parent.get(root)) root = up;
    for (let at = key; at !== root; ) {
      const up = parent.get(at) as string;
      parent.set(at, root);
      at = up;
    }
    return root;
  };
  const union = (a: string, b: string) => {
    const [ra, rb] = [find(a), find(b)];
    if (ra !== rb) parent.set(ra, rb);
  };
  return { find, union };
}

function startRecord(
  entries: readonly WriteEntry[],
  i: number,
  placement: Placement,
): OpenRecord | undefined {
  const entry = entries[i] as WriteEntry;
  const builder = new AggregateBuilder();
  const firstKeyBytes = Buffer.byteLength(entry.partitionKey, 'utf8');
  if (builder.sizeWith(entry) + firstKeyBytes > placement.settings.maxRecordBytes) return undefined;
  builder.add(entry);
  return { placement, builder, firstKeyBytes, record: { entry, members: [i], shardId: placement.shardId } };
}

function tryAdd(open: OpenRecord, entries: readonly WriteEntry[], i: number, placement: Placement): boolean {
  const entry = entries[i] as WriteEntry;
  const { settings } = placement;
  if (open.placement.key !== placement.key || open.builder.count >= settings.maxUserRecords) return false;
  if (open.builder.sizeWith(entry) + open.firstKeyBytes > settings.maxRecordBytes) return false;
  open.builder.add(entry);
  open.record.members.push(i);
  return true;
}

/** The aggregated record's own entry: the first user record's key, and its hash as explicit key. */
function finish(open: OpenRecord): void {
  const { record, builder, placement } = open;
  if (record.members.length < 2) return; // one user record is written as it is, as the KPL does
  record.entry = {
    stream: record.entry.stream,
    data: builder.encode(),
    partitionKey: record.entry.partitionKey,
    explicitHashKey: hexToHashKey(placement.hashHex),
  };
}

/**
 * Packs `entries` into Kinesis records. `placementOf` gives an entry's shard, or nothing for
 * an entry written as it is. Returns the records, in the order they must keep within a lane,
 * and the lane of each (undefined: no order to keep).
 */
export function packRecords(
  entries: readonly WriteEntry[],
  placementOf: (index: number) => Placement | undefined,
  sequenceOf?: SequenceOf,
): { records: PackedRecord[]; laneOf: (record: number) => string | undefined } {
  const placements = entries.map((_, i) => placementOf(i));
  const sequences = entries.map((_, i) => sequenceOf?.(i));
  const lanes = laneFinder();
  sequences.forEach((sequence, i) => {
    const placement = placements[i];
    if (sequence !== undefined && placement) lanes.union(`s:${sequence}`, `p:${placement.key}`);
  });

  const records: PackedRecord[] = [];
  const laneOfRecord: (string | undefined)[] = [];
  const opened: OpenRecord[] = [];
  const open = new Map<string, OpenRecord>();
  const push = (record: PackedRecord, lane: string | undefined) => {
    records.push(record);
    laneOfRecord.push(lane);
  };
  entries.forEach((entry, i) => {
    const sequence = sequences[i];
    const lane = sequence === undefined ? undefined : lanes.find(`s:${sequence}`);
    const placement = placements[i];
    // Entries without an order to keep share records per shard, apart from any lane's.
    const bucket = lane ?? (placement ? `u:${placement.key}` : undefined);
    const current = bucket === undefined ? undefined : open.get(bucket);
    if (placement && current && tryAdd(current, entries, i, placement)) return;
    const started = placement && startRecord(entries, i, placement);
    if (started) {
      opened.push(started);
      open.set(bucket as string, started);
      push(started.record, lane);
      return;
    }
    // Written as it is: no shard map, or too large to aggregate. In a lane, it ends the open record.
    if (lane !== undefined) open.delete(lane);
    push({ entry, members: [i], ...(placement ? { shardId: placement.shardId } : {}) }, lane);
  });
  for (const record of opened) finish(record);
  return { records, laneOf: (record) => laneOfRecord[record] };
}

export interface AggregationDeps {
  /** A stream's aggregation settings; undefined for a stream written without aggregation. */
  aggregationOf: (stream: string) => AggregationSettings | undefined;
  shardMaps: ShardMaps;
}

/** What an aggregated write did besides the entries' outcomes. */
export interface AggregationReport {
  /** Kinesis records the entries became. */
  kinesisRecords: number;
  /** Streams whose shard map was found stale (a record landed on another shard) and dropped. */
  staleShardMaps: string[];
  /** Streams written without aggregation because their shard map could not be read. */
  unaggregated: { stream: string; error: string }[];
}

/** The shard maps of the aggregated streams in `entries`; a stream whose map fails is left out. */
async function loadShardMaps(entries: readonly WriteEntry[], deps: AggregationDeps) {
  const streams = [...new Set(entries.map((entry) => entry.stream))].filter((s) => deps.aggregationOf(s));
  const maps = new Map<string, ShardRange[]>();
  const unaggregated: AggregationReport['unaggregated'] = [];
  await Promise.all(
    streams.map(async (stream) => {
      const settings = deps.aggregationOf(stream) as AggregationSettings;
      try {
        maps.set(stream, await deps.shardMaps.get(stream, settings.shardMapTtlSeconds * 1000));
      } catch (error) {
        unaggregated.push({
          stream,
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        });
      }
    }),
  );
  return { maps, unaggregated };
}

/**
 * Writes `entries`, aggregating those bound for streams with aggregation: packs them, lets
 * `write` send the packed records (with their lanes as sequences), and gives every entry the
 * outcome of the record that held it.
 */
export async function writeAggregated(
  entries: readonly WriteEntry[],
  deps: AggregationDeps,
  write: (records: WriteEntry[], sequenceOf: SequenceOf | undefined) => Promise<WriteResult>,
  sequenceOf?: SequenceOf,
): Promise<WriteResult & { aggregation: AggregationReport }> {
  const { maps, unaggregated } = await loadShardMaps(entries, deps);
  const placementOf = (i: number): Placement | undefined => {
    const entry = entries[i] as WriteEntry;
    const ranges = maps.get(entry.stream);
    if (!ranges) return undefined;
    const hashHex =
      entry.explicitHashKey === undefined
        ? partitionKeyHash(entry.partitionKey)
        : validHashKeyHex(entry.explicitHashKey);
    // A hash key Kinesis would refuse: written as it is, for Kinesis to refuse with its own error.
    if (hashHex === undefined) return undefined;
    const shard = shardOf(ranges, hashHex);
    if (!shard) return undefined;
    const settings = deps.aggregationOf(entry.stream) as AggregationSettings;
    // Records with and without an explicit hash key are not mixed: aws-kinesis-agg reads a
    // missing index as 0 and would give such a record the first explicit hash key.
    const key = `${entry.stream}\u0000${shard.shardId}${entry.explicitHashKey === undefined ? '' : '\u0000e'}`;
    return { key, shardId: shard.shardId, hashHex, settings };
  };
  const { records, laneOf } = packRecords(entries, placementOf, sequenceOf);
  const result = await write(
    records.map((record) => record.entry),
    sequenceOf ? laneOf : undefined,
  );
  const outcomes = new Array<WriteOutcome>(entries.length);
  const stale = new Set<string>();
  let retriedEntries = 0;
  records.forEach((record, k) => {
    const outcome = result.outcomes[k] as WriteOutcome;
    for (const i of record.members) outcomes[i] = outcome;
    if (outcome.status !== 'oversize' && outcome.attempts > 1) retriedEntries += record.members.length;
    if (outcome.status === 'written' && record.shardId && outcome.shardId !== record.shardId) {
      stale.add(record.entry.stream);
    }
  });
  for (const stream of stale) deps.shardMaps.invalidate(stream);
  return {
    outcomes,
    requests: result.requests,
    retriedEntries,
    aggregation: { kinesisRecords: records.length, staleShardMaps: [...stale], unaggregated },
  };
}

/**
 * writeRecords (kinesis-writer.ts), with the entries bound for a stream with aggregation
 * packed into KPL aggregated records first; each of them gets the outcome of the record that
 * held it. Without `aggregation`, or with no entry for such a stream, it is writeRecords.
 */
export async function writeRecordsAggregating(
  entries: readonly WriteEntry[],
  deps: WriterDeps & { aggregation?: AggregationDeps },
  sequenceOf?: SequenceOf,
): Promise<WriteResult & { aggregation?: AggregationReport }> {
  const { aggregation } = deps;
  if (!aggregation || !entries.some((entry) => aggregation.aggregationOf(entry.stream))) {
    return writeRecords(entries, deps, sequenceOf);
  }
  const sink = kinesisSink(deps);
  return writeAggregated(
    entries,
    aggregation,
    (records, lanes) => writeBatches(sink, records, deps, lanes),
    sequenceOf,
  );
}
