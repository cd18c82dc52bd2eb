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

/**
 * Counts calls, throws the call's fault if there is one, else answers each entry in order:
 * `answer` gives its error code or writes it and gives its result.
 */
function answering<I>(options: DoubleOptions, answer: (input: I, call: number) => unknown) {
  let call = 0;
  return (input: I) => {
    const thrown = options.failCall?.(call);
    call++;
    if (thrown) throw thrown;
    return answer(input, call - 1);
  };
}

const refused = (code: string) => ({ ErrorCode: code, ErrorMessage: `${code} (injected)` });
const failedCount = (results: object[]) => results.filter((r) => 'ErrorCode' in r).length;

function putEntryOf(
  stream: string,
  record: NonNullable<PutRecordsCommandInput['Records']>[number],
): PutEntry {
  const data = Buffer.from(record.Data as Uint8Array);
  return {
    stream,
    partitionKey: record.PartitionKey ?? '',
    data,
    text: data.toString('utf8'),
    ...(record.ExplicitHashKey === undefined ? {} : { explicitHashKey: record.ExplicitHashKey }),
  };
}

/** Answers PutRecords through `mock`; returns the entries written, in the order written. */
export function putRecordsDouble(
  mock: AwsClientStub<KinesisClient>,
  refuse: Refusal<PutEntry> = writeAll,
  options: DoubleOptions = {},
): PutEntry[] {
  const written: PutEntry[] = [];
  const answer = answering<PutRecordsCommandInput>(options, (input, call) => {
    const stream = input.StreamName ?? input.StreamARN ?? '';
    const records = (input.Records ?? []).map((record) => {
      const entry = putEntryOf(stream, record);
      const code = refuse(entry, call);
      if (code) return refused(code);
      written.push(entry);
      return { SequenceNumber: String(written.length), ShardId: 'shardId-000000000000' };
    });
    return { FailedRecordCount: failedCount(records), Records: records };
  });
  mock.on(PutRecordsCommand).callsFake(answer);
  return written;
}

/** Answers PutEvents through `mock`; returns the entries published, in the order published. */
export function putEventsDouble(
  mock: AwsClientStub<EventBridgeClient>,
  refuse: Refusal<PutEventsRequestEntry> = writeAll,
  options: DoubleOptions = {},
): PutEventsRequestEntry[] {
  const published: PutEventsRequestEntry[] = [];
  const answer = answering<PutEventsCommandInput>(options, (input, call) => {
    const entries = (input.Entries ?? []).map((entry) => {
      const code = refuse(entry, call);
      if (code) return refused(code);
      published.push(entry);
      return { EventId: `ev-${published.length}` };
    });
    return { FailedEntryCount: failedCount(entries), Entries: entries };
  });
  mock.on(PutEventsCommand).callsFake(answer);
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
