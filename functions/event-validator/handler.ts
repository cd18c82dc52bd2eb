/**
 * event-validator: checks each event on the central bus against the JSON Schema for its
 * source and detail-type and republishes the valid ones under `valid.<source>`; the rest go
 * to the DLQ stream with every reason. Takes one event (rule target), an array (Pipes) or an
 * SQS batch whose bodies are events.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse } from 'aws-lambda';
import { createKinesisClient } from '../../shared/core/aws-clients.js';
import { deployedConfig } from '../../shared/core/config/deployed.js';
import { ConfigError } from '../../shared/core/errors.js';
import { expectValidatorInput } from '../../shared/core/event-shape.js';
import { createEventBridgeClient } from '../../shared/core/eventbridge-client.js';
import { powertoolsMetrics } from '../../shared/core/observability.js';
import { deployedSchemas } from '../../shared/event-validator/deployed-schemas.js';
import { HANDLER_NAME, validateEvents } from '../../shared/event-validator/event-validator.js';

const logger = new Logger({ serviceName: HANDLER_NAME });
const config = deployedConfig(process.env); // checked at package time; from source, checked here
if (!config.eventValidator) throw new ConfigError(['eventValidator: is not configured']);
// Compiled at package time (standalone code); from source, compiled here.
const schemas = deployedSchemas(config.eventValidator);
const metrics = new Metrics({ namespace: config.metricsNamespace, serviceName: HANDLER_NAME });
const kinesis = createKinesisClient();
const eventBridge = createEventBridgeClient();
const centralBus = config.eventValidator.centralBus.name;

/** The central bus's ARN, in this function's own account and region (from its ARN when it has one). */
const busArnOf = (functionArn: string | undefined) => {
  const [, partition, , region, account] = (functionArn ?? '').split(':');
  return account ? `arn:${partition}:events:${region}:${account}:event-bus/${centralBus}` : centralBus;
};

export const handler = async (event: unknown, context: Context): Promise<SQSBatchResponse | undefined> => {
  // Kinesis, Firehose, null...: EventShapeError; a malformed EventBridge event goes on (INVALID_ENVELOPE).
  const input = expectValidatorInput(event);
  logger.addContext(context);
  return validateEvents(input, {
    config,
    schemas,
    eventBridge,
    kinesis,
    logger,
    metrics: powertoolsMetrics(metrics),
    now: () => new Date(),
    busArn: busArnOf(context.invokedFunctionArn),
    traceHeader: () => process.env._X_AMZN_TRACE_ID,
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
  });
};
