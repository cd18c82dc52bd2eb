/**
 * The KPL aggregated-record format, both directions: `deaggregate` reads what Lambda hands
 * over (from any KPL producer), `AggregateBuilder` writes it (the mapper's aggregation on
 * write), and the two are tested against each other and against `aws-kinesis-agg`.
 *
 * Format: the magic bytes F3 89 9A C2, a protobuf (proto2) AggregatedRecord, then the
 * 16-byte MD5 of the protobuf bytes.
 *   AggregatedRecord { repeated string partition_key_table = 1;
 *                      repeated string explicit_hash_key_table = 2;
 *                      repeated Record records = 3; }
 *   Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
 *            required bytes data = 3; repeated Tag tags = 4; }
 * A record without the magic is one plain user record. A record with the magic but a bad
 * MD5, or a protobuf that does not parse, is a typed error for that record alone.
 * The decoder is hand-written: one pass, no allocations beyond the results, and the user
 * records' data are views into the decoded buffer. The encoder counts its size as records
 * are added, so a caller can stop before a limit, and writes the bytes once, at the end.
 */
import { createHash } from 'node:crypto';
import { KplError } from '../core/errors.js';

export const KPL_MAGIC = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);
const MD5_BYTES = 16;
/** What every aggregated record carries besides its protobuf: the magic and the MD5 trailer. */
export const KPL_FRAME_BYTES = KPL_MAGIC.length + MD5_BYTES;

export interface UserRecord {
  partitionKey: string;
  explicitHashKey?: string;
  data: Buffer;
  /** The Kinesis record's sequence number. */
  sequenceNumber: string;
  /** The user record's index in the aggregated record (0 for a plain record). */
  subSequenceNumber: number;
  aggregated: boolean;
}

export interface KinesisRecordLike {
  data: string | Uint8Array;
  partitionKey: string;
  sequenceNumber: string;
  explicitHashKey?: string;
}

/** Reads protobuf wire format from a buffer, throwing a KplError when it runs out or goes wrong. */
class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    public end: number,
    start = 0,
  ) {
    this.pos = start;
  }

  /** Reads [start, end) of the same buffer next (one reader serves every field of a record). */
  at(start: number, end: number): this {
    this.pos = start;
    this.end = end;
    return this;
  }

  varint(): number {
    // Most varints here are one byte (tags, indexes, short lengths).
    if (this.pos < this.end) {
      const first = this.buf[this.pos] as number;
      if (first < 0x80) {
        this.pos++;
        return first;
      }
    }
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end)
        throw new KplError('KPL_CORRUPT', 'Truncated varint in the aggregated record');
      const byte = this.buf[this.pos++] as number;
      if (shift < 49) result += (byte & 0x7f) * 2 ** shift;
      else if ((byte & 0x7f) !== 0) throw new KplError('KPL_CORRUPT', 'Varint too large for an index');
      if ((byte & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new KplError('KPL_CORRUPT', 'Varint longer than 10 bytes');
    }
  }

  /** Skips a length-delimited field; gives its start (its end is then `pos`). */
  span(): number {
    const length = this.varint();
    const start = this.pos;
    if (start + length > this.end)
      throw new KplError('KPL_CORRUPT', 'Length-delimited field runs past the record');
    this.pos = start + length;
    return start;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.span();
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new KplError('KPL_CORRUPT', `Unsupported protobuf wire type ${wireType}`);
    }
    if (this.pos > this.end) throw new KplError('KPL_CORRUPT', 'Field runs past the record');
  }
}

function hasMagic(bytes: Buffer): boolean {
  return (
    bytes.length >= KPL_MAGIC.length &&
    bytes[0] === 0xf3 &&
    bytes[1] === 0x89 &&
    bytes[2] === 0x9a &&
    bytes[3] === 0xc2
  );
}

/** The aggregated record's protobuf body, between the magic and the MD5 trailer, checked. */
function bodyOf(bytes: Buffer, verifyMd5: boolean): { start: number; end: number } {
  const start = KPL_MAGIC.length;
  const end = bytes.length - MD5_BYTES;
  if (end < start) throw new KplError('KPL_CORRUPT', 'Aggregated record too short for its MD5 trailer');
  if (verifyMd5) {
    const digest = createHash('md5').update(bytes.subarray(start, end)).digest();
    if (!digest.equals(bytes.subarray(end))) {
      throw new KplError('KPL_BAD_MD5', 'The aggregated record MD5 does not match its content');
    }
  }
  return { start, end };
}

/**
 * Where the parts of an aggregated record sit in its bytes, as flat arrays of offsets (the
 * decoder's one allocation per Kinesis record, not one per user record):
 * - `partitionKeys`, `hashKeys`: [start, end) of each table entry;
 * - `records`: per user record, its data's [start, end), its partition key index and its
 *   explicit hash key index (-1 when it has none), every index checked against its table.
 */
interface Layout {
  partitionKeys: number[];
  hashKeys: number[];
  records: number[];
}

/** Numbers `records` holds per user record. */
const RECORD_SLOTS = 4;

/** Step 1: the top level of `AggregatedRecord`: the tables, and each `Record` message's span. */
function readAggregated(bytes: Buffer, start: number, end: number, out: Layout): void {
  const top = new Reader(bytes, end, start);
  while (top.pos < end) {
    const tag = top.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (wireType === 2 && field >= 1 && field <= 3) {
      const from = top.span();
      const to = top.pos;
      if (field === 1) out.partitionKeys.push(from, to);
      else if (field === 2) out.hashKeys.push(from, to);
      else out.records.push(from, to, -1, -1);
    } else {
      top.skip(wireType);
    }
  }
}

/**
 * Step 2: one `Record` message, at `out.records[at]` (its span), rewritten in place to its
 * data's span and its table indexes; throws for a record that lacks them.
 */
function readUserRecord(reader: Reader, out: Layout, at: number, index: number): void {
  const to = out.records[at + 1] as number;
  reader.at(out.records[at] as number, to);
  let partitionIndex = -1;
  let hashIndex = -1;
  let dataStart = -1;
  let dataEnd = -1;
  while (reader.pos < to) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (field === 1 && wireType === 0) partitionIndex = reader.varint();
    else if (field === 2 && wireType === 0) hashIndex = reader.varint();
    else if (field === 3 && wireType === 2) {
      dataStart = reader.span();
      dataEnd = reader.pos;
    } else reader.skip(wireType);
  }
  if (partitionIndex < 0 || partitionIndex >= out.partitionKeys.length / 2 || dataStart < 0) {
    throw new KplError('KPL_CORRUPT', `User record ${index} lacks its partition key or data`);
  }
  if (hashIndex >= out.hashKeys.length / 2) {
    throw new KplError('KPL_CORRUPT', `User record ${index} points past the explicit hash key table`);
  }
  out.records[at] = dataStart;
  out.records[at + 1] = dataEnd;
  out.records[at + 2] = partitionIndex;
  out.records[at + 3] = hashIndex;
}

/** An aggregated record's layout, checked whole before anything is handed out. */
function layoutOf(bytes: Buffer, verifyMd5: boolean): Layout {
  const { start, end } = bodyOf(bytes, verifyMd5);
  const layout: Layout = { partitionKeys: [], hashKeys: [], records: [] };
  readAggregated(bytes, start, end, layout);
  const reader = new Reader(bytes, end);
  for (let at = 0; at < layout.records.length; at += RECORD_SLOTS) {
    readUserRecord(reader, layout, at, at / RECORD_SLOTS);
  }
  return layout;
}

/** The strings of a table, from its entries' spans. */
function tableOf(bytes: Buffer, spans: readonly number[]): string[] {
  const out: string[] = [];
  for (let k = 0; k < spans.length; k += 2) out.push(bytes.toString('utf8', spans[k], spans[k + 1]));
  return out;
}

/**
 * Where each user record's data sits in `bytes` (a Kinesis record's decoded data), without
 * building the records: [start, end) pairs in record order (the sub-sequence number is the
 * pair's index); null for a plain record (no magic: its data is the whole of `bytes`).
 * Throws exactly what `deaggregate` throws for the same bytes, before giving anything.
 */
export function userRecordSpans(bytes: Buffer, verifyMd5 = true): number[] | null {
  if (!hasMagic(bytes)) return null;
  const { records } = layoutOf(bytes, verifyMd5);
  const spans: number[] = [];
  for (let at = 0; at < records.length; at += RECORD_SLOTS)
    spans.push(records[at] as number, records[at + 1] as number);
  return spans;
}

/** The user records in one Kinesis record; throws a KplError for a corrupt aggregated record. */
export function deaggregate(record: KinesisRecordLike, verifyMd5 = true): UserRecord[] {
  const bytes =
    typeof record.data === 'string' ? Buffer.from(record.data, 'base64') : Buffer.from(record.data);
  const { partitionKey: ownKey, explicitHashKey: ownHashKey, sequenceNumber } = record;
  if (!hasMagic(bytes)) {
    const hashKey = ownHashKey ? { explicitHashKey: ownHashKey } : {};
    return [
      {
        partitionKey: ownKey,
        ...hashKey,
        data: bytes,
        sequenceNumber,
        subSequenceNumber: 0,
        aggregated: false,
      },
    ];
  }
  const layout = layoutOf(bytes, verifyMd5);
  const partitionKeys = tableOf(bytes, layout.partitionKeys);
  const hashKeys = tableOf(bytes, layout.hashKeys);
  const { records } = layout;
  const out: UserRecord[] = [];
  for (let at = 0; at < records.length; at += RECORD_SLOTS) {
    const partitionKey = partitionKeys[records[at + 2] as number] as string;
    const hashIndex = records[at + 3] as number;
    const data = bytes.subarray(records[at], records[at + 1]);
    const subSequenceNumber = at / RECORD_SLOTS;
    out.push(
      hashIndex < 0
        ? { partitionKey, data, sequenceNumber, subSequenceNumber, aggregated: true }
        : {
            partitionKey,
            explicitHashKey: hashKeys[hashIndex] as string,
            data,
            sequenceNumber,
            subSequenceNumber,
            aggregated: true,
          },
    );
  }
  return out;
}

/** Bytes a protobuf varint of `value` takes (values up to 2^53). */
export function varintLength(value: number): number {
  let length = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) length++;
  return length;
}

function writeVarint(out: Buffer, at: number, value: number): number {
  let pos = at;
  let rest = value;
  while (rest >= 0x80) {
    out[pos++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  out[pos++] = rest;
  return pos;
}

/** A length-delimited field holding `length` bytes: tag, length, bytes. */
const delimitedLength = (length: number): number => 1 + varintLength(length) + length;

/** One user record to aggregate; a string stands for its UTF-8 bytes. */
export interface UserRecordInput {
  partitionKey: string;
  explicitHashKey?: string;
  data: Uint8Array | string;
}

interface Pending {
  data: Uint8Array | string;
  dataBytes: number;
  keyIndex: number;
  hashIndex: number | undefined;
  /** The Record message's own length (without its tag and length prefix). */
  bodyBytes: number;
}

/**
 * Builds one aggregated record. `sizeWith` says what the record would weigh with one more
 * user record (magic and MD5 included), `add` adds it, `encode` writes the bytes: magic,
 * `AggregatedRecord` (partition-key table, explicit-hash-key table, records, in that
 * order), MD5 of the protobuf. Keys repeated across user records are stored once.
 */
export class AggregateBuilder {
  private readonly keys = new Map<string, number>();
  private readonly hashKeys = new Map<string, number>();
  private readonly records: Pending[] = [];
  private bytes = KPL_FRAME_BYTES;

  /** User records added so far. */
  get count(): number {
    return this.records.length;
  }

  /** The aggregated record's size in bytes, magic and MD5 included. */
  get size(): number {
    return this.bytes;
  }

  /** The size with `record` added, without adding it. */
  sizeWith(record: UserRecordInput): number {
    return this.bytes + this.growth(record, byteLength(record.data)).total;
  }

  add(record: UserRecordInput): void {
    const dataBytes = byteLength(record.data);
    const { total, bodyBytes } = this.growth(record, dataBytes);
    const keyIndex = indexIn(this.keys, record.partitionKey);
    const hashIndex =
      record.explicitHashKey === undefined ? undefined : indexIn(this.hashKeys, record.explicitHashKey);
    this.records.push({ data: record.data, dataBytes, keyIndex, hashIndex, bodyBytes });
    this.bytes += total;
  }

  /** Bytes `record` adds: its Record message, and its keys if the tables lack them. */
  private growth(record: UserRecordInput, dataBytes: number): { total: number; bodyBytes: number } {
    let tables = 0;
    let keyIndex = this.keys.get(record.partitionKey);
    if (keyIndex === undefined) {
      keyIndex = this.keys.size;
      tables += delimitedLength(Buffer.byteLength(record.partitionKey, 'utf8'));
    }
    let hashBytes = 0;
    if (record.explicitHashKey !== undefined) {
      let hashIndex = this.hashKeys.get(record.explicitHashKey);
      if (hashIndex === undefined) {
        hashIndex = this.hashKeys.size;
        tables += delimitedLength(Buffer.byteLength(record.explicitHashKey, 'utf8'));
      }
      hashBytes = 1 + varintLength(hashIndex);
    }
    const bodyBytes = 1 + varintLength(keyIndex) + hashBytes + delimitedLength(dataBytes);
    return { total: tables + delimitedLength(bodyBytes), bodyBytes };
  }

  /** The whole aggregated record. */
  encode(): Buffer {
    const out = Buffer.allocUnsafe(this.bytes);
    KPL_MAGIC.copy(out, 0);
    let pos = KPL_MAGIC.length;
    const writeText = (field: number, text: string) => {
      out[pos++] = (field << 3) | 2;
      pos = writeVarint(out, pos, Buffer.byteLength(text, 'utf8'));
      pos += out.write(text, pos, 'utf8');
    };
    for (const key of this.keys.keys()) writeText(1, key);
    for (const key of this.hashKeys.keys()) writeText(2, key);
    for (const record of this.records) {
      out[pos++] = (3 << 3) | 2;
      pos = writeVarint(out, pos, record.bodyBytes);
      out[pos++] = 1 << 3;
      pos = writeVarint(out, pos, record.keyIndex);
      if (record.hashIndex !== undefined) {
        out[pos++] = 2 << 3;
        pos = writeVarint(out, pos, record.hashIndex);
      }
      out[pos++] = (3 << 3) | 2;
      pos = writeVarint(out, pos, record.dataBytes);
      if (typeof record.data === 'string') pos += out.write(record.data, pos, 'utf8');
      else {
        out.set(record.data, pos);
        pos += record.dataBytes;
      }
    }
    const body = out.subarray(KPL_MAGIC.length, pos);
    createHash('md5').update(body).digest().copy(out, pos);
    return out;
  }
}

function byteLength(data: Uint8Array | string): number {
  return typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.byteLength;
}

function indexIn(table: Map<string, number>, key: string): number {
  let index = table.get(key);
  if (index === undefined) {
    index = table.size;
    table.set(key, index);
  }
  return index;
}

/** One aggregated record holding `records`, in order. */
export function aggregate(records: readonly UserRecordInput[]): Buffer {
  const builder = new AggregateBuilder();
  for (const record of records) builder.add(record);
  return builder.encode();
}
