/**
 * The Kinesis writer every handler shares: PutRecords through the batch-write engine,
 * with Kinesis's limits (500 entries and 5 MiB per request, partition keys included; the
 * stream's max record size per entry) and its retryable per-entry errors.
 */
import { type KinesisClient, PutRecordsCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import {
  type BatchSink,
  isRetryableCallError,
  type RetryDeps,
  type SequenceOf,
  type WriteResult,
  writeBatches,
} from './batch-writer.js';
import { DEFAULT_MAX_RECORD_SIZE_KIB } from './config/constants.js';
import type { PipelineConfig } from './config/schema.js';
import type { AggregationSettings } from './kinesis-aggregation.js';

export {
  BLOCKED_BY_EARLIER_ENTRY,
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  isRetryableCallError,
  NOT_SENT,
  type RetryPolicy,
  type SequenceOf,
  type WriteOutcome,
  type WriteResult,
} from './batch-writer.js';

/** PutRecords: at most 500 entries per request. */
export const MAX_PUT_RECORDS_ENTRIES = 500;
/** PutRecords: at most 5 MiB per request, data and partition keys included. */
export const MAX_PUT_RECORDS_BYTES = 5 * 1024 * 1024;
/** A stream's default max record size (data + partition key): 1 MiB. */
export const DEFAULT_MAX_RECORD_BYTES = DEFAULT_MAX_RECORD_SIZE_KIB * 1024;

/** Max record bytes of a stream: its declared size, the DLQ's, or AWS's 1 MiB default. */
export function maxRecordBytesOf(config: PipelineConfig, stream: string): number {
  if (stream === config.dlq.stream) return config.dlq.settings.maxRecordSizeKiB * 1024;
  const declared = config.streams[stream];
  return declared ? declared.maxRecordSizeKiB * 1024 : DEFAULT_MAX_RECORD_BYTES;
}

/**
 * A stream's aggregation settings (see kinesis-aggregation.ts): those of a declared stream
 * with `aggregation`; none for the DLQ stream or a stream given by ARN.
 */
export function aggregationOf(config: PipelineConfig, stream: string): AggregationSettings | undefined {
  const aggregation = stream === config.dlq.stream ? undefined : config.streams[stream]?.aggregation;
  return aggregation && aggregation.format === 'kpl' ? aggregation : undefined;
}

export interface WriteEntry {
  /** Stream name or ARN. */
  stream: string;
  /** The record's bytes; a string stands for its UTF-8 encoding. */
  data: Uint8Array | string;
  partitionKey: string;
  explicitHashKey?: string;
  /** Its size (data and partition key in bytes), when its maker has measured it already. */
  size?: number;
}

export interface WriterDeps extends RetryDeps {
  kinesis: Pick<KinesisClient, 'send'>;
  /** Max record size of a stream in bytes; 1 MiB when not given. */
  maxRecordBytes?: (stream: string) => number;
}

/** Per-entry error codes Kinesis returns that are worth retrying. */
const RETRYABLE_ENTRY_CODES = new Set(['ProvisionedThroughputExceededException', 'InternalFailure']);

const utf8Length = (text: string): number => Buffer.byteLength(text, 'utf8');

/** Bytes an entry counts against the record and request limits. */
export function entrySize(entry: WriteEntry): number {
  if (entry.size !== undefined) return entry.size;
  const dataBytes = typeof entry.data === 'string' ? utf8Length(entry.data) : entry.data.byteLength;
  return dataBytes + utf8Length(entry.partitionKey);
}

function toRequestEntry(entry: WriteEntry): PutRecordsRequestEntry {
  // The SDK's JSON serializer base64-encodes a string blob natively from its UTF-8 bytes,
  // where a Uint8Array goes through a byte-by-byte loop in JavaScript: text stays text.
  const out: PutRecordsRequestEntry = { Data: entry.data as Uint8Array, PartitionKey: entry.partitionKey };
  if (entry.explicitHashKey !== undefined) out.ExplicitHashKey = entry.explicitHashKey;
  return out;
}

function streamParams(stream: string): { StreamName: string } | { StreamARN: string } {
  return stream.startsWith('arn:') ? { StreamARN: stream } : { StreamName: stream };
}

export function kinesisSink(deps: WriterDeps): BatchSink<WriteEntry> {
  const maxRecordBytes = deps.maxRecordBytes ?? (() => DEFAULT_MAX_RECORD_BYTES);
  return {
    maxEntriesPerRequest: MAX_PUT_RECORDS_ENTRIES,
    maxBytesPerRequest: MAX_PUT_RECORDS_BYTES,
    size: entrySize,
    maxEntryBytes: (entry) => maxRecordBytes(entry.stream),
    group: (entry) => entry.stream,
    retryableEntryCodes: RETRYABLE_ENTRY_CODES,
    isRetryableCallError,
    async send(entries) {
      const response = await deps.kinesis.send(
        new PutRecordsCommand({
          ...streamParams((entries[0] as WriteEntry).stream),
          Records: entries.map(toRequestEntry),
        }),
      );
      return (response.Records ?? []).map((result) =>
        result.SequenceNumber && result.ShardId && !result.ErrorCode
          ? { ok: true, sequenceNumber: result.SequenceNumber, shardId: result.ShardId }
          : {
              ok: false,
              errorCode: result.ErrorCode ?? 'MissingResult',
              errorMessage: result.ErrorMessage ?? 'PutRecords returned no result for this entry',
            },
      );
    },
  };
}

/**
 * Writes `entries` with PutRecords. With `sequenceOf`, entries that share a key are written
 * one at a time, in input order, and a key stops at its first entry not written (see
 * SequenceOf in batch-writer.ts); entries of different keys still share requests. (The
 * mapper writes through writeRecordsAggregating in kinesis-aggregation.ts, which packs the
 * entries bound for a stream with aggregation first; other handlers never aggregate, so
 * their bundles leave that code out.)
 */
export async function writeRecords(
  entries: readonly WriteEntry[],
  deps: WriterDeps,
  sequenceOf?: SequenceOf,
): Promise<WriteResult> {
  return writeBatches(kinesisSink(deps), entries, deps, sequenceOf);
}
