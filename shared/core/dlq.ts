/**
 * The DLQ envelope every handler writes to the dead-letter stream: why the record
 * could not be delivered, where it came from, and the original payload, so that it
 * can be inspected and redriven once the cause is fixed.
 */
import type { DlqReason } from './errors.js';
import type { WriteEntry } from './kinesis-writer.js';
import { cutPartitionKey, MAX_PARTITION_KEY_LENGTH } from './partition-key.js';

export const DLQ_ENVELOPE_VERSION = 1;

export interface DlqSource {
  /** `sqs`, `kinesis`, `firehose`, `eventbridge`. */
  type: string;
  /** The queue, stream or bus ARN the record came from. */
  arn: string;
  /** The record's id at its source (SQS messageId, Kinesis sequence number, ...). */
  id: string;
  [detail: string]: unknown;
}

export interface DlqEnvelope {
  version: typeof DLQ_ENVELOPE_VERSION;
  reason: DlqReason;
  message: string;
  handler: string;
  failedAt: string;
  source: DlqSource;
  /** Where the record was headed, when that was known. */
  target?: string;
  /** Every problem found (validation errors, with their paths), when there were several. */
  errors?: { path: string; message: string }[];
  /** The original payload: UTF-8 text as is, anything else base64. */
  payload: { encoding: 'utf8' | 'base64'; data: string };
}

export interface DlqRecordInput {
  reason: DlqReason;
  message: string;
  handler: string;
  source: DlqSource;
  target?: string;
  errors?: DlqEnvelope['errors'];
  payload: DlqEnvelope['payload'];
}

/** The envelope as a write entry for the DLQ stream, keyed by the record's source id. */
export function dlqEntry(dlqStream: string, input: DlqRecordInput, now: Date): WriteEntry {
  const envelope: DlqEnvelope = {
    version: DLQ_ENVELOPE_VERSION,
    reason: input.reason,
    message: input.message,
    handler: input.handler,
    failedAt: now.toISOString(),
    source: input.source,
    ...(input.target === undefined ? {} : { target: input.target }),
    ...(input.errors === undefined ? {} : { errors: input.errors }),
    payload: input.payload,
  };
  return {
    stream: dlqStream,
    partitionKey: cutPartitionKey(input.source.id, input.source.arn.slice(-MAX_PARTITION_KEY_LENGTH)),
    data: JSON.stringify(envelope),
  };
}

/** Reads an envelope back (tests, the local runner, redrive). */
export function parseDlqEnvelope(data: Uint8Array | string): DlqEnvelope {
  return JSON.parse(typeof data === 'string' ? data : Buffer.from(data).toString('utf8')) as DlqEnvelope;
}
