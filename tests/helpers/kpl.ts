/** Aggregated records as the `aws-kinesis-agg` package writes them (the reference encoder). */
import { createHash } from 'node:crypto';
import agg from 'aws-kinesis-agg';

export interface PlainRecord {
  partitionKey: string;
  explicitHashKey?: string;
  data: Buffer;
}

export interface EncodedRecord {
  partitionKey: string;
  explicitHashKey?: string;
  data: Buffer;
}

/** Aggregates `records` with aws-kinesis-agg; resolves to the Kinesis records it would put. */
export function aggregateWithLibrary(records: readonly PlainRecord[]): Promise<EncodedRecord[]> {
  return new Promise((resolve, reject) => {
    const out: EncodedRecord[] = [];
    agg.aggregate(
      records.map((r) => ({ ...r })),
      (encoded: EncodedRecord, done: (err?: Error) => void) => {
        out.push(encoded);
        done();
      },
      () => resolve(out),
      (error: Error) => reject(error),
    );
  });
}

export interface LibraryUserRecord {
  partitionKey: string;
  explicitPartitionKey?: string;
  sequenceNumber: string;
  subSequenceNumber: number;
  data: string;
}

/** De-aggregates with aws-kinesis-agg (checksums on), for comparison. */
export function deaggregateWithLibrary(record: {
  data: string;
  partitionKey: string;
  sequenceNumber: string;
}): Promise<LibraryUserRecord[]> {
  return new Promise((resolve, reject) => {
    const payload = { ...record, kinesisSchemaVersion: '1.0', approximateArrivalTimestamp: 0 };
    agg.deaggregateSync(payload, true, (error: Error | null, users?: LibraryUserRecord[]) =>
      error ? reject(error) : resolve(users ?? []),
    );
  });
}

/** One user record as our own encoder writes it: indexes into the tables, or raw fields. */
export interface EncoderRecord {
  partitionKeyIndex?: number;
  explicitHashKeyIndex?: number;
  data?: Buffer;
  /** Extra bytes appended inside the Record message (unknown fields, tags). */
  extra?: Buffer;
}

/** A protobuf varint (values up to 2^53). */
export function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** A length-delimited protobuf field. */
export function lengthDelimited(field: number, body: Buffer): Buffer {
  return Buffer.concat([varint(field * 8 + 2), varint(body.length), body]);
}

/**
 * Our own KPL encoder (independent of aws-kinesis-agg, which keeps its key tables in plain
 * objects): the protobuf AggregatedRecord, written field by field. `wrapKpl` adds the magic
 * and the MD5.
 */
export function encodeAggregatedRecord(
  partitionKeys: readonly string[],
  explicitHashKeys: readonly string[],
  records: readonly EncoderRecord[],
): Buffer {
  const parts: Buffer[] = [];
  for (const key of partitionKeys) parts.push(lengthDelimited(1, Buffer.from(key, 'utf8')));
  for (const key of explicitHashKeys) parts.push(lengthDelimited(2, Buffer.from(key, 'utf8')));
  for (const record of records) {
    const body: Buffer[] = [];
    if (record.partitionKeyIndex !== undefined) body.push(varint(1 * 8), varint(record.partitionKeyIndex));
    if (record.explicitHashKeyIndex !== undefined)
      body.push(varint(2 * 8), varint(record.explicitHashKeyIndex));
    if (record.data !== undefined) body.push(lengthDelimited(3, record.data));
    if (record.extra !== undefined) body.push(record.extra);
    parts.push(lengthDelimited(3, Buffer.concat(body)));
  }
  return Buffer.concat(parts);
}

/** Magic, protobuf, MD5 of the protobuf: a whole aggregated record. */
export function wrapKpl(protobuf: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from([0xf3, 0x89, 0x9a, 0xc2]),
    protobuf,
    createHash('md5').update(protobuf).digest(),
  ]);
}
