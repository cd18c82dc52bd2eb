/**
 * PutEvents through the batch-write engine, with EventBridge's limits: at most 10 entries
 * per call, each (and each call) strictly under 256 KB as EventBridge counts it, and its retryable
 * per-entry errors. HTTP 200 can still carry failed entries; they are read one by one.
 */
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import {
  type BatchSink,
  entryResult,
  isRetryableCallError,
  type RetryDeps,
  type WriteResult,
  writeBatches,
} from './batch-writer.js';

/** PutEvents: at most 10 entries per call. */
export const MAX_PUT_EVENTS_ENTRIES = 10;
/** AWS: the entries of one call together (and so each entry) must be LESS than 256 KB. */
export const PUT_EVENTS_SIZE_LIMIT = 256 * 1024;
/** The largest entry, and the largest call, that PutEvents accepts: one byte under the limit. */
export const MAX_PUT_EVENTS_BYTES = PUT_EVENTS_SIZE_LIMIT - 1;
/** EventBridge counts a Time as 14 bytes. */
const TIME_BYTES = 14;

const RETRYABLE_ENTRY_CODES = new Set(['InternalFailure', 'ThrottlingException']);

/** An entry's size as EventBridge computes it: Time, Source, DetailType, Detail, Resources. */
export function putEventsEntrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time ? TIME_BYTES : 0;
  for (const text of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])]) {
    if (text) size += Buffer.byteLength(text, 'utf8');
  }
  return size;
}

export interface EventBridgeWriterDeps extends RetryDeps {
  eventBridge: Pick<EventBridgeClient, 'send'>;
}

export function eventBridgeSink(deps: EventBridgeWriterDeps): BatchSink<PutEventsRequestEntry> {
  return {
    maxEntriesPerRequest: MAX_PUT_EVENTS_ENTRIES,
    maxBytesPerRequest: MAX_PUT_EVENTS_BYTES,
    size: putEventsEntrySize,
    maxEntryBytes: () => MAX_PUT_EVENTS_BYTES,
    group: (entry) => entry.EventBusName ?? 'default',
    retryableEntryCodes: RETRYABLE_ENTRY_CODES,
    isRetryableCallError,
    async send(entries) {
      const response = await deps.eventBridge.send(new PutEventsCommand({ Entries: [...entries] }));
      return entries.map((_, i) => {
        const result = response.Entries?.[i];
        return entryResult(
          result && { id: result.EventId, errorCode: result.ErrorCode, errorMessage: result.ErrorMessage },
          'PutEvents',
        );
      });
    },
  };
}

export async function putEvents(
  entries: readonly PutEventsRequestEntry[],
  deps: EventBridgeWriterDeps,
): Promise<WriteResult> {
  return writeBatches(eventBridgeSink(deps), entries, deps);
}
