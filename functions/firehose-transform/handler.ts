/**
 * firehose-transform: a Firehose data-transformation processor. Each record comes back
 * Ok (normalised), Dropped (filtered out, or re-ingested because the response was full)
 * or ProcessingFailed (with its original data), never lost.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, FirehoseTransformationResult } from 'aws-lambda';
import { createKinesisClient } from '../../shared/core/aws-clients.js';
import { deployedConfig } from '../../shared/core/config/deployed.js';
import { ConfigError } from '../../shared/core/errors.js';
import { expectFirehoseEvent } from '../../shared/core/event-shape.js';
import { createFirehoseClient, secretLoader } from '../../shared/core/firehose-clients.js';
import { powertoolsMetrics } from '../../shared/core/observability.js';
import {
  compileTransform,
  HANDLER_NAME,
  type RecordTransform,
  transformBatch,
} from '../../shared/firehose-transform/firehose-transform.js';

const logger = new Logger({ serviceName: HANDLER_NAME });
const config = deployedConfig(process.env); // checked at package time; from source, checked here
if (!config.firehoseTransform) throw new ConfigError(['firehoseTransform: is not configured']);
const settings = config.firehoseTransform;
const metrics = new Metrics({ namespace: config.metricsNamespace, serviceName: HANDLER_NAME });
const kinesis = createKinesisClient();
const firehose = createFirehoseClient();
const hashKey = secretLoader(
  {
    envName: 'PIPELINE_HASH_KEY',
    parameter: settings.hashKeyParameter,
    configKey: 'firehoseTransform.hashKeyParameter',
    maxAgeSeconds: settings.hashKeyMaxAgeSeconds,
  },
  process.env,
);
const unkeyed: RecordTransform | undefined =
  settings.hash.length === 0 ? compileTransform(settings) : undefined;
/** The transform for the current key: compiled again when the key read from SSM changes (rotation). */
let keyed: { key: Buffer; transform: RecordTransform } | undefined;

async function currentTransform(): Promise<RecordTransform> {
  if (unkeyed) return unkeyed;
  const key = await hashKey();
  if (!keyed?.key.equals(key)) keyed = { key, transform: compileTransform(settings, key) };
  return keyed.transform;
}

export const handler = async (event: unknown, context: Context): Promise<FirehoseTransformationResult> => {
  const batch = expectFirehoseEvent(event); // checked before the hash key is fetched
  logger.addContext(context);
  const transform = await currentTransform();
  return transformBatch(batch, {
    transform,
    logger,
    metrics: powertoolsMetrics(metrics),
    kinesis,
    firehose,
    partitionedStream: settings.deliveryStream.name,
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
  });
};
