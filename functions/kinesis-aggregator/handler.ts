/**
 * kinesis-aggregator: per-window, per-group statistics over a (KPL-aggregated) Kinesis
 * stream, on Lambda's tumbling windows. State comes in and goes out with every invocation;
 * the window's final invocation writes one result per group to the output stream.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { createKinesisClient } from '../../shared/core/aws-clients.js';
import { deployedConfig } from '../../shared/core/config/deployed.js';
import { ConfigError } from '../../shared/core/errors.js';
import { expectTumblingWindowEvent } from '../../shared/core/event-shape.js';
import { powertoolsMetrics } from '../../shared/core/observability.js';
import {
  aggregateWindow,
  HANDLER_NAME,
  prepareAggregator,
  type WindowResponse,
} from '../../shared/kinesis-aggregator/kinesis-aggregator.js';

const logger = new Logger({ serviceName: HANDLER_NAME });
const config = deployedConfig(process.env); // checked at package time; from source, checked here
if (!config.kinesisAggregator) throw new ConfigError(['kinesisAggregator: is not configured']);
const metrics = new Metrics({ namespace: config.metricsNamespace, serviceName: HANDLER_NAME });
const kinesis = createKinesisClient();
const aggregator = prepareAggregator(config);

export const handler = async (event: unknown, context: Context): Promise<WindowResponse> => {
  const window = expectTumblingWindowEvent(event); // anything but a windowed Kinesis event: EventShapeError
  logger.addContext(context);
  return aggregateWindow(window, {
    ...aggregator,
    kinesis,
    logger,
    metrics: powertoolsMetrics(metrics),
    now: () => new Date(),
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
  });
};
