/**
 * A local stand-in for Lambda's Kinesis event source with tumbling windows: it reads a stream
 * shard by shard, assigns records to windows by arrival time, invokes the handler batch by
 * batch with the state it returned last, then once more with isFinalInvokeForWindow.
 */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Context, KinesisStreamRecord } from 'aws-lambda';
import type { TumblingWindowEvent, WindowResponse } from '../shared/kinesis-aggregator/kinesis-aggregator.js';
import { readStream } from './stream-reader.js';

export type WindowHandler = (event: TumblingWindowEvent, context: Context) => Promise<WindowResponse>;

export interface DriveOptions {
  streamName: string;
  streamArn: string;
  region: string;
  windowSeconds: number;
  batchSize: number;
  /**
   * Takes every record as arrived at this time, in place of the stream's arrival time: a run
   * whose results must not depend on the wall clock (a seeded fault run) sets it.
   */
  arrivedAt?: Date;
}

export interface DriveResult {
  windows: number;
  invocations: number;
  handedBack: number;
  /** Final invocations that failed and were retried, as Lambda retries them. */
  retriedFinals: number;
}

/** Lambda retries a failed final invocation until it succeeds; here, this many times at most. */
const MAX_FINAL_ATTEMPTS = 20;

export async function driveWindows(
  kinesis: KinesisClient,
  handler: WindowHandler,
  context: () => Context,
  options: DriveOptions,
): Promise<DriveResult> {
  const records = await readStream(kinesis, options.streamName);
  const byShardWindow = new Map<string, KinesisStreamRecord[]>();
  for (const record of records) {
    const arrived = (options.arrivedAt ?? record.arrival ?? new Date()).getTime() / 1000;
    const start = Math.floor(arrived / options.windowSeconds) * options.windowSeconds;
    const key = `${record.shardId}\u0000${start}`;
    const list = byShardWindow.get(key) ?? [];
    byShardWindow.set(key, list);
    list.push({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: record.partitionKey,
        sequenceNumber: record.sequenceNumber,
        data: Buffer.from(record.data).toString('base64'),
        approximateArrivalTimestamp: arrived,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${record.shardId}:${record.sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: 'arn:aws:iam::000000000000:role/local',
      awsRegion: options.region,
      eventSourceARN: options.streamArn,
    });
  }
  const result: DriveResult = {
    windows: byShardWindow.size,
    invocations: 0,
    handedBack: 0,
    retriedFinals: 0,
  };
  for (const [key, list] of byShardWindow) {
    const [shardId, start] = key.split('\u0000') as [string, string];
    const window = {
      start: new Date(Number(start) * 1000).toISOString(),
      end: new Date((Number(start) + options.windowSeconds) * 1000).toISOString(),
    };
    let state: unknown = {};
    const invoke = async (batch: KinesisStreamRecord[], final: boolean) => {
      const response = await handler(
        {
          Records: batch,
          window,
          state: state as TumblingWindowEvent['state'],
          shardId,
          eventSourceARN: options.streamArn,
          isFinalInvokeForWindow: final,
          isWindowTerminatedEarly: false,
        },
        context(),
      );
      result.invocations++;
      result.handedBack += response.batchItemFailures.length;
      state = JSON.parse(JSON.stringify(response.state)); // as Lambda carries it
    };
    for (let i = 0; i < list.length; i += options.batchSize)
      await invoke(list.slice(i, i + options.batchSize), false);
    for (let attempt = 1; ; attempt++) {
      try {
        await invoke([], true); // the same state each time: it failed, so Lambda kept it
        break;
      } catch (error) {
        if (attempt >= MAX_FINAL_ATTEMPTS) throw error;
        result.retriedFinals++;
      }
    }
  }
  return result;
}
