/**
 * A stand-in for the Kinesis client (PutRecords only) whose faults come from a schedule, so
 * that a property test can generate them: per call (fails before writing, writes and then
 * loses the answer, times out after writing, refused for good) and per entry (throttled,
 * internal failure, refused). It keeps every record it wrote, in the order it wrote them,
 * across streams, and whether the client was told.
 */
import { createHash } from 'node:crypto';
import {
  type KinesisClient,
  ListShardsCommand,
  type PutRecordsCommand,
  type PutRecordsResultEntry,
  type Shard,
} from '@aws-sdk/client-kinesis';
import { deaggregate } from '../../shared/core/kpl.js';

export type CallFault = 'none' | 'unavailable' | 'ambiguous' | 'timeout' | 'refused';
export type EntryFault = 'none' | 'throttled' | 'internal' | 'refused';

/** Faults in the order calls and entries arrive; once a list runs out, nothing fails. */
export interface FaultSchedule {
  calls: readonly CallFault[];
  entries: readonly EntryFault[];
}

export interface StoredRecord {
  stream: string;
  partitionKey: string;
  data: string;
  /** The call that wrote it (0-based). */
  call: number;
  /** The client got an answer saying it was written. */
  confirmed: boolean;
  shardId: string;
  /** The Kinesis record it came in (several user records share one when aggregated). */
  kinesisRecord: number;
}

const ENTRY_ERRORS: Record<Exclude<EntryFault, 'none'>, PutRecordsResultEntry> = {
  throttled: {
    ErrorCode: 'ProvisionedThroughputExceededException',
    ErrorMessage: 'Rate exceeded (injected)',
  },
  internal: { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal service failure (injected)' },
  refused: { ErrorCode: 'KMSAccessDeniedException', ErrorMessage: 'Access denied (injected)' },
};

function callError(fault: Exclude<CallFault, 'none' | 'ambiguous'>): Error {
  if (fault === 'unavailable') {
    return Object.assign(new Error('Service Unavailable (injected)'), {
      name: 'ServiceUnavailableException',
      $metadata: { httpStatusCode: 503 },
    });
  }
  if (fault === 'refused') {
    return Object.assign(new Error('Not authorized (injected)'), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
    });
  }
  return Object.assign(new Error('Request timed out (injected)'), { name: 'TimeoutError' });
}

const text = (data: Uint8Array | string | undefined) =>
  typeof data === 'string' ? data : Buffer.from(data ?? new Uint8Array()).toString('utf8');

/** `count` shards splitting the hash-key space evenly, as ListShards lists them. */
export function evenShards(count: number): Shard[] {
  const space = 2n ** 128n;
  return Array.from({ length: count }, (_, i) => ({
    ShardId: `shardId-${String(i).padStart(12, '0')}`,
    HashKeyRange: {
      StartingHashKey: String((space * BigInt(i)) / BigInt(count)),
      EndingHashKey: String((space * BigInt(i + 1)) / BigInt(count) - 1n),
    },
    SequenceNumberRange: { StartingSequenceNumber: '1' },
  }));
}

/** The shard a record lands on: its explicit hash key, else the MD5 of its partition key. */
export function landingShard(
  shards: readonly Shard[],
  partitionKey: string,
  explicitHashKey?: string,
): string {
  const hash =
    explicitHashKey === undefined
      ? BigInt(`0x${createHash('md5').update(partitionKey, 'utf8').digest('hex')}`)
      : BigInt(explicitHashKey);
  const shard = shards.find(
    (s) =>
      BigInt(s.HashKeyRange?.StartingHashKey ?? -1) <= hash &&
      hash <= BigInt(s.HashKeyRange?.EndingHashKey ?? -1),
  );
  return shard?.ShardId ?? 'no-shard';
}

/**
 * With `shards`, the stand-in also answers ListShards (subject to the call faults, like any
 * call) and places each record on its shard; an aggregated record is stored as the user
 * records it holds, each noting the Kinesis record it came in.
 */
export function faultyKinesis(schedule: FaultSchedule, shards: readonly Shard[] = evenShards(1)) {
  const stored: StoredRecord[] = [];
  let calls = 0;
  let entries = 0;
  let kinesisRecords = 0;
  const send = async (command: PutRecordsCommand | ListShardsCommand) => {
    const call = calls++;
    const fault = schedule.calls[call] ?? 'none';
    if (fault === 'unavailable' || fault === 'refused') throw callError(fault);
    if (command instanceof ListShardsCommand) {
      if (fault === 'ambiguous')
        throw Object.assign(new Error('socket hang up (injected)'), { code: 'ECONNRESET' });
      if (fault === 'timeout') throw callError(fault);
      return { Shards: [...shards], $metadata: {} };
    }
    const { StreamName, StreamARN, Records = [] } = command.input;
    const written: StoredRecord[] = [];
    const results = Records.map((record): PutRecordsResultEntry => {
      const entryFault = schedule.entries[entries++] ?? 'none';
      if (entryFault !== 'none') return ENTRY_ERRORS[entryFault];
      const shardId = landingShard(shards, record.PartitionKey ?? '', record.ExplicitHashKey);
      const kinesisRecord = kinesisRecords++;
      const users = deaggregate({
        data: typeof record.Data === 'string' ? Buffer.from(record.Data) : (record.Data ?? new Uint8Array()),
        partitionKey: record.PartitionKey ?? '',
        sequenceNumber: String(kinesisRecord),
      });
      for (const user of users) {
        const put = {
          stream: StreamName ?? StreamARN ?? '',
          partitionKey: user.partitionKey,
          data: text(user.data),
          call,
          confirmed: false,
          shardId,
          kinesisRecord,
        };
        stored.push(put);
        written.push(put);
      }
      return { SequenceNumber: String(stored.length), ShardId: shardId };
    });
    // The records are in the stream either way; only a clean answer tells the client so.
    if (fault === 'ambiguous')
      throw Object.assign(new Error('socket hang up (injected)'), { code: 'ECONNRESET' });
    if (fault === 'timeout') throw callError(fault);
    for (const put of written) put.confirmed = true;
    return { FailedRecordCount: results.filter((r) => r.ErrorCode).length, Records: results, $metadata: {} };
  };
  return {
    client: { send } as unknown as Pick<KinesisClient, 'send'>,
    stored,
    calls: () => calls,
  };
}
