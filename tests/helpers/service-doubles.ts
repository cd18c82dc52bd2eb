/**
 * The one PutRecords double and the one PutEvents double of the unit tests. Each answers
 * every call the way the service does (a result per entry, in order, with a failed count),
 * writes or refuses entry by entry as the test decides, and keeps what it wrote.
 */
import type { EventBridgeClient, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { PutEventsCommand, type PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import { type KinesisClient, PutRecordsCommand, type PutRecordsCommandInput } from '@aws-sdk/client-kinesis';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { type DlqEnvelope, parseDlqEnvelope } from '../../shared/core/dlq.js';

/** One PutRecords entry as the double saw it. */
export interface PutEntry {
  stream: string;
  partitionKey: string;
  explicitHashKey?: string;
  data: Buffer;
  /** `data` as UTF-8 text. */
  text: string;
}

/** An error code refuses the entry; undefined writes it. `call` counts calls from 0. */
export type Refusal<E> = (entry: E, call: number) => string | undefined;

export const writeAll = (): undefined => undefined;

export interface DoubleOptions {
  /** An error to throw for the whole call (before any entry is written), or undefined. */
  failCall?: (call: number) => Error | undefined;
}

/** Answers PutRecords through `mock`; returns the entries written, in the order written. */
export function putRecordsDouble(
  mock: AwsClientStub<KinesisClient>,
  refuse: Refusal<PutEntry> = writeAll,
  options: DoubleOptions = {},
): PutEntry[] {
  const written: PutEntry[] = [];
  let call = 0;
  mock.on(PutRecordsCommand).callsFake((input: PutRecordsCommandInput) => {
    const thrown = options.failCall?.(call);
    if (thrown) {
      call++;
      throw thrown;
    }
    const stream = input.StreamName ?? input.StreamARN ?? '';
    const records = (input.Records ?? []).map((record) => {
      const data = Buffer.from(record.Data as Uint8Array);
      const entry: PutEntry = {
        stream,
        partitionKey: record.PartitionKey ?? '',
        data,
        text: data.toString('utf8'),
        ...(record.ExplicitHashKey === undefined ? {} : { explicitHashKey: record.ExplicitHashKey }),
      };
      const code = refuse(entry, call);
      if (code) return { ErrorCode: code, ErrorMessage: `${code} (injected)` };
      written.push(entry);
      return { SequenceNumber: String(written.length), ShardId: 'shardId-000000000000' };
    });
    call++;
    return { FailedRecordCount: records.filter((r) => 'ErrorCode' in r).length, Records: records };
  });
  return written;
}

/** Answers PutEvents through `mock`; returns the entries published, in the order published. */
export function putEventsDouble(
  mock: AwsClientStub<EventBridgeClient>,
  refuse: Refusal<PutEventsRequestEntry> = writeAll,
  options: DoubleOptions = {},
): PutEventsRequestEntry[] {
  const published: PutEventsRequestEntry[] = [];
  let call = 0;
  mock.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => {
    const thrown = options.failCall?.(call);
    if (thrown) {
      call++;
      throw thrown;
    }
    const entries = (input.Entries ?? []).map((entry) => {
      const code = refuse(entry, call);
      if (code) return { ErrorCode: code, ErrorMessage: `${code} (injected)` };
      published.push(entry);
      return { EventId: `ev-${published.length}` };
    });
    call++;
    return { FailedEntryCount: entries.filter((e) => 'ErrorCode' in e).length, Entries: entries };
  });
  return published;
}

/** The DLQ envelopes among `written`, parsed, in the order written. */
export function envelopesIn(written: readonly PutEntry[], dlqStream: string): DlqEnvelope[] {
  return written.filter((entry) => entry.stream === dlqStream).map((entry) => parseDlqEnvelope(entry.data));
}

/** The texts written to `stream`, in the order written. */
export function textsIn(written: readonly PutEntry[], stream: string): string[] {
  return written.filter((entry) => entry.stream === stream).map((entry) => entry.text);
}
