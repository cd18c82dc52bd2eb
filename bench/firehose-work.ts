/**
 * The pieces of work the Firehose bench compares: the full transform of a batch (the
 * project's SES settings, hashing and partition keys on, overflow re-ingested through a
 * stub that accepts everything), the JSON mode (keep and rename, no hashing, no partition
 * keys), and the naive baseline (decode, JSON.parse, change a field, JSON.stringify,
 * encode, nothing else).
 */
import type { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { FirehoseTransformationEvent, FirehoseTransformationResult } from 'aws-lambda';
import type { FirehoseTransformConfig } from '../shared/core/config/schema.js';
import { noMetrics, silentLogger } from '../shared/core/observability.js';
import { compileTransform, transformBatch } from '../shared/firehose-transform/firehose-transform.js';
import { loadStageConfig } from '../tools/lib/config-files.js';

export function naiveTransform(event: FirehoseTransformationEvent): FirehoseTransformationResult {
  return {
    records: event.records.map((record) => {
      const doc = JSON.parse(Buffer.from(record.data, 'base64').toString('utf8')) as { eventType?: unknown };
      doc.eventType = String(doc.eventType).toLowerCase();
      return {
        recordId: record.recordId,
        result: 'Ok',
        data: Buffer.from(JSON.stringify(doc)).toString('base64'),
      };
    }),
  };
}

/** A PutRecordBatch stand-in that accepts every record at once. */
const acceptingFirehose = {
  send: async (command: PutRecordBatchCommand) => ({
    FailedPutCount: 0,
    RequestResponses: (command.input.Records ?? []).map((_, i) => ({ RecordId: `r${i}` })),
    $metadata: {},
  }),
} as unknown as FirehoseClient;

type BatchTransform = (event: FirehoseTransformationEvent) => Promise<FirehoseTransformationResult>;

/** The project's SES settings: normalisation, filtering, removals, hashing, partition keys. */
export function fullTransform(): BatchTransform {
  return batchTransform(loadStageConfig('local').config.firehoseTransform as FirehoseTransformConfig);
}

/**
 * JSON mode on the same SES events: keep what an analytics copy would (the event, the mail's
 * identity, recipients and headers, each type's details), rename `eventType`, take the
 * timestamp; no hashing, no removals, no partition keys.
 */
export const JSON_MODE: NonNullable<Extract<FirehoseTransformConfig, { mode: 'json' }>['json']> = {
  keep: [
    'eventType',
    'mail.timestamp',
    'mail.messageId',
    'mail.source',
    'mail.destination',
    'mail.headers',
    ...['bounce', 'complaint', 'delivery', 'send', 'reject', 'open', 'click'],
    ...['renderingFailure', 'deliveryDelay', 'subscription'],
  ],
  rename: { eventType: 'type' },
  timestampPath: 'mail.timestamp',
};

export function jsonTransform(): BatchTransform {
  const ses = loadStageConfig('local').config.firehoseTransform as FirehoseTransformConfig;
  const {
    keepEventTypes: _types,
    partitionKeys: _keys,
    ...common
  } = ses as Extract<FirehoseTransformConfig, { mode: 'ses' }>;
  return batchTransform({ ...common, mode: 'json', json: JSON_MODE, hash: [], remove: [] });
}

function batchTransform(settings: FirehoseTransformConfig): BatchTransform {
  const deps = {
    transform: compileTransform(settings, Buffer.from('bench-hash-key')),
    logger: silentLogger,
    metrics: noMetrics,
    kinesis: undefined as unknown as KinesisClient,
    firehose: acceptingFirehose,
    partitionedStream: settings.deliveryStream.name,
  };
  return (event) => transformBatch(event, deps);
}
