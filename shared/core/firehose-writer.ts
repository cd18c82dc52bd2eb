/**
 * Re-ingestion into a Firehose delivery stream: PutRecordBatch through the batch-write
 * engine, with Firehose's limits and retryable per-entry errors.
 */
import { type FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import {
  type BatchSink,
  entryResult,
  isRetryableCallError,
  type RetryDeps,
  type WriteResult,
  writeBatches,
} from './batch-writer.js';

/** PutRecordBatch: at most 500 records and 4 MiB per call. */
export const MAX_PUT_RECORD_BATCH_ENTRIES = 500;
export const MAX_PUT_RECORD_BATCH_BYTES = 4 * 1024 * 1024;
/** One Firehose record: at most 1,000 KiB of data. */
export const MAX_FIREHOSE_RECORD_BYTES = 1000 * 1024;

export interface FirehoseEntry {
  /** Delivery stream name. */
  deliveryStream: string;
  data: Uint8Array;
}

export interface FirehoseWriterDeps extends RetryDeps {
  firehose: Pick<FirehoseClient, 'send'>;
}

const RETRYABLE_ENTRY_CODES = new Set(['ServiceUnavailableException', 'InternalFailure']);

/** The delivery stream's name, from its ARN (`...:deliverystream/<name>`). */
export function deliveryStreamName(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

export function firehoseSink(deps: FirehoseWriterDeps): BatchSink<FirehoseEntry> {
  return {
    maxEntriesPerRequest: MAX_PUT_RECORD_BATCH_ENTRIES,
    maxBytesPerRequest: MAX_PUT_RECORD_BATCH_BYTES,
    size: (entry) => entry.data.byteLength,
    maxEntryBytes: () => MAX_FIREHOSE_RECORD_BYTES,
    group: (entry) => entry.deliveryStream,
    retryableEntryCodes: RETRYABLE_ENTRY_CODES,
    isRetryableCallError,
    async send(entries) {
      const response = await deps.firehose.send(
        new PutRecordBatchCommand({
          DeliveryStreamName: (entries[0] as FirehoseEntry).deliveryStream,
          Records: entries.map((entry) => ({ Data: entry.data })),
        }),
      );
      return entries.map((_, i) => {
        const result = response.RequestResponses?.[i];
        return entryResult(
          result && { id: result.RecordId, errorCode: result.ErrorCode, errorMessage: result.ErrorMessage },
          'PutRecordBatch',
        );
      });
    },
  };
}

export async function putRecordBatch(
  entries: readonly FirehoseEntry[],
  deps: FirehoseWriterDeps,
): Promise<WriteResult> {
  return writeBatches(firehoseSink(deps), entries, deps);
}
