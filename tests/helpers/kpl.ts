/** Aggregated records as the `aws-kinesis-agg` package writes them (the reference encoder). */
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
