/** Reads a whole stream back, shard by shard, from the trim horizon (local runs and tests). */
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
} from '@aws-sdk/client-kinesis';
import { deaggregate } from '../shared/core/kpl.js';

export interface StreamRecord {
  shardId: string;
  sequenceNumber: string;
  partitionKey: string;
  data: Uint8Array;
  arrival?: Date;
}

export async function readStream(kinesis: KinesisClient, streamName: string): Promise<StreamRecord[]> {
  const shards = await kinesis.send(new ListShardsCommand({ StreamName: streamName }));
  const out: StreamRecord[] = [];
  for (const shard of shards.Shards ?? []) {
    const shardId = shard.ShardId as string;
    let iterator = (
      await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: streamName,
          ShardId: shardId,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      )
    ).ShardIterator;
    while (iterator) {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const record of page.Records ?? []) {
        out.push({
          shardId,
          sequenceNumber: record.SequenceNumber as string,
          partitionKey: record.PartitionKey as string,
          data: record.Data as Uint8Array,
          ...(record.ApproximateArrivalTimestamp ? { arrival: record.ApproximateArrivalTimestamp } : {}),
        });
      }
      if ((page.Records ?? []).length === 0 && (page.MillisBehindLatest ?? 0) === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return out;
}

export interface UserStreamRecord extends StreamRecord {
  /** Its index in its aggregated record; 0 for a plain record. */
  subSequenceNumber: number;
  /** It came out of a KPL aggregated record. */
  aggregated: boolean;
}

/**
 * A whole stream read back as its consumers see it: KPL aggregated records opened into the
 * user records they hold (each with its own partition key), plain records as they are.
 */
export async function readUserRecords(
  kinesis: KinesisClient,
  streamName: string,
): Promise<UserStreamRecord[]> {
  return (await readStream(kinesis, streamName)).flatMap((record) =>
    deaggregate(record).map((user) => ({
      ...record,
      partitionKey: user.partitionKey,
      data: user.data,
      subSequenceNumber: user.subSequenceNumber,
      aggregated: user.aggregated,
    })),
  );
}
