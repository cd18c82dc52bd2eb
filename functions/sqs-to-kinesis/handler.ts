/**
 * sqs-to-kinesis: drains any number of SQS queues (standard or FIFO, any account) into
 * the Kinesis streams their routes name; unmappable messages go to the DLQ stream, and
 * messages that could not be written anywhere go back to SQS (batchItemFailures).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse } from 'aws-lambda';
import { createKinesisClient } from '../../shared/core/aws-clients.js';
import { deployedConfig } from '../../shared/core/config/deployed.js';
import { expectSqsEvent } from '../../shared/core/event-shape.js';
import { powertoolsMetrics } from '../../shared/core/observability.js';
import { HANDLER_NAME, prepareMapper, processSqsBatch } from '../../shared/sqs-to-kinesis/sqs-to-kinesis.js';

const logger = new Logger({ serviceName: HANDLER_NAME });
const config = deployedConfig(process.env); // checked at package time; from source, checked here
const metrics = new Metrics({ namespace: config.metricsNamespace, serviceName: HANDLER_NAME });
const kinesis = createKinesisClient();
const mapper = prepareMapper(config);

export const handler = async (event: unknown, context: Context): Promise<SQSBatchResponse> => {
  const batch = expectSqsEvent(event); // anything but an SQS event: EventShapeError
  logger.addContext(context);
  return processSqsBatch(batch, {
    ...mapper,
    kinesis,
    logger,
    metrics: powertoolsMetrics(metrics),
    now: () => new Date(),
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
  });
};
