/**
 * A stand-in for the Kinesis client (PutRecords only) whose faults come from a schedule, so
 * that a property test can generate them: per call (fails before writing, writes and then
 * loses the answer, times out after writing, refused for good) and per entry (throttled,
 * internal failure, refused). It keeps every record it wrote, in the order it wrote them,
 * across streams, and whether the client was told.
 */
import type { KinesisClient, PutRecordsCommand, PutRecordsResultEntry } from '@aws-sdk/client-kinesis';

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

export function faultyKinesis(schedule: FaultSchedule) {
  const stored: StoredRecord[] = [];
  let calls = 0;
  let entries = 0;
  const send = async (command: PutRecordsCommand) => {
    const call = calls++;
    const fault = schedule.calls[call] ?? 'none';
    if (fault === 'unavailable' || fault === 'refused') throw callError(fault);
    const { StreamName, StreamARN, Records = [] } = command.input;
    const written: StoredRecord[] = [];
    const results = Records.map((record): PutRecordsResultEntry => {
      const entryFault = schedule.entries[entries++] ?? 'none';
      if (entryFault !== 'none') return ENTRY_ERRORS[entryFault];
      const put = {
        stream: StreamName ?? StreamARN ?? '',
        partitionKey: record.PartitionKey ?? '',
        data: text(record.Data),
        call,
        confirmed: false,
      };
      stored.push(put);
      written.push(put);
      return { SequenceNumber: String(stored.length), ShardId: 'shardId-000000000000' };
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
