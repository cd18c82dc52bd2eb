/**
 * Alarms on every place the stack keeps data waiting, and a dashboard, both derived from the
 * finished template (so a queue or a delivery stream added by any part is watched without
 * being listed here):
 * - every SQS queue the stack creates: messages visible in dead-letter and on-failure queues,
 *   the age of the oldest message in a source queue (one with a dead-letter queue);
 * - every function: errors and throttles;
 * - every Kinesis event source (the aggregator's input): iterator age, against how long a
 *   record can wait there (its maximum record age, else the stream's retention);
 * - every Firehose delivery stream: the age of its oldest undelivered record, and, with a
 *   Lambda processor, failed processing;
 * - DLQStream keeps its own alarm (alarms.ts).
 * All go to the alarm topic. Thresholds and the period come from `alarms` in the config.
 */
import { routeName } from '../shared/core/config/rules.js';
import type { PipelineConfig } from '../shared/core/config/schema.js';
import { type Cfn, sub } from './cfn.js';

type Resource = { Type: string; Properties?: Record<string, unknown> };

/** Serverless's logical id of a function: `sqsToKinesis` -> `SqsToKinesisLambdaFunction`. */
export const functionLogicalId = (name: string) => `${name[0]?.toUpperCase()}${name.slice(1)}LambdaFunction`;

interface AlarmSpec {
  id: string;
  description: string;
  namespace: string;
  metric: string;
  dimensions: { Name: string; Value: unknown }[];
  statistic: 'Sum' | 'Maximum' | 'Minimum';
  threshold: number;
  comparison: 'GreaterThanOrEqualToThreshold' | 'LessThanThreshold';
}

function alarm(service: string, stage: string, period: number, spec: AlarmSpec): Cfn {
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: `${service}-${stage}-${spec.id}`,
      AlarmDescription: spec.description,
      Namespace: spec.namespace,
      MetricName: spec.metric,
      Dimensions: spec.dimensions,
      Statistic: spec.statistic,
      Period: period,
      EvaluationPeriods: 1,
      Threshold: spec.threshold,
      ComparisonOperator: spec.comparison,
      // No data means nothing waits (a quiet queue, an idle function): not a breach.
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: 'AlarmTopic' }],
      OKActions: [{ Ref: 'AlarmTopic' }],
    },
  };
}

export interface WatchInput {
  service: string;
  stage: string;
  config: PipelineConfig;
  /** The finished template's resources and the serverless functions. */
  resources: Record<string, unknown>;
  functions: Record<string, unknown>;
}

/** How long a record can wait at a Kinesis event source before Lambda gives up on it, in seconds. */
function recordLifetimeSeconds(config: PipelineConfig): number | undefined {
  const input = config.kinesisAggregator?.input;
  if (!input) return undefined;
  const retentionHours = config.streams[input.stream]?.retentionHours ?? 24;
  const maxAge = input.maximumRecordAgeInSeconds;
  return maxAge !== undefined && maxAge > 0 ? Math.min(maxAge, retentionHours * 3600) : retentionHours * 3600;
}

/** The Firehose metrics of a delivery stream: its destination's freshness, and whether it processes. */
function deliveryMetrics(resource: Resource): {
  freshness: string;
  processes: boolean;
  bufferSeconds: number;
} {
  const properties = resource.Properties ?? {};
  const s3 = properties.ExtendedS3DestinationConfiguration as Cfn | undefined;
  const search = properties.AmazonOpenSearchServerlessDestinationConfiguration as Cfn | undefined;
  const destination = (s3 ?? search ?? {}) as {
    BufferingHints?: { IntervalInSeconds?: number };
    ProcessingConfiguration?: {
      Enabled?: boolean;
      Processors?: { Parameters?: { ParameterName: string; ParameterValue: unknown }[] }[];
    };
  };
  const processor = destination.ProcessingConfiguration?.Processors?.[0]?.Parameters ?? [];
  const processorInterval = Number(
    processor.find((p) => p.ParameterName === 'BufferIntervalInSeconds')?.ParameterValue ?? 0,
  );
  return {
    freshness: s3 ? 'DeliveryToS3.DataFreshness' : 'DeliveryToAmazonOpenSearchServerless.DataFreshness',
    processes: destination.ProcessingConfiguration?.Enabled === true,
    bufferSeconds: (destination.BufferingHints?.IntervalInSeconds ?? 300) + processorInterval,
  };
}

/** The alarms on everything that holds data, and on every function. */
export function dataAlarms(input: WatchInput): Cfn {
  const { service, stage, config } = input;
  const settings = config.alarms;
  const make = (spec: AlarmSpec) =>
    [
      `${spec.id.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase())}Alarm`,
      alarm(service, stage, settings.periodSeconds, spec),
    ] as const;
  const alarms: (readonly [string, Cfn])[] = [];
  for (const [id, resource] of Object.entries(input.resources) as [string, Resource][]) {
    if (resource.Type === 'AWS::SQS::Queue' && resource.Properties?.RedrivePolicy) {
      // A source queue: messages flow through it; one that waits too long means a backlog.
      alarms.push(
        make({
          id: `${id}-age`,
          description: `The oldest message in ${id} waits longer than expected: the mapper is behind or failing (after maxReceiveCount receives a message moves to the dead-letter queue).`,
          namespace: 'AWS/SQS',
          metric: 'ApproximateAgeOfOldestMessage',
          dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id, 'QueueName'] } }],
          statistic: 'Maximum',
          threshold: settings.sourceQueueAgeSeconds,
          comparison: 'GreaterThanOrEqualToThreshold',
        }),
      );
    } else if (resource.Type === 'AWS::SQS::Queue') {
      alarms.push(
        make({
          id: `${id}-messages`,
          description: `Messages wait in ${id}: they failed for good and expire with the queue's retention. Read them, fix the cause, and replay or delete them.`,
          namespace: 'AWS/SQS',
          metric: 'ApproximateNumberOfMessagesVisible',
          dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id, 'QueueName'] } }],
          statistic: 'Maximum',
          threshold: settings.queueMessages,
          comparison: 'GreaterThanOrEqualToThreshold',
        }),
      );
    }
    if (resource.Type === 'AWS::KinesisFirehose::DeliveryStream') {
      const metrics = deliveryMetrics(resource);
      const dimensions = [{ Name: 'DeliveryStreamName', Value: { Ref: id } }];
      alarms.push(
        make({
          id: `${id}-freshness`,
          description: `Records wait in the delivery stream ${id} longer than expected: delivery is failing or falling behind (Firehose retries for up to 24 hours).`,
          namespace: 'AWS/Firehose',
          metric: metrics.freshness,
          dimensions,
          statistic: 'Maximum',
          threshold: Math.max(settings.deliveryFreshnessSeconds, metrics.bufferSeconds + 60),
          comparison: 'GreaterThanOrEqualToThreshold',
        }),
      );
      if (metrics.processes) {
        alarms.push(
          make({
            id: `${id}-processing`,
            description: `Invocations of the transform failed for ${id}: Firehose retries, then writes the records under errors/.`,
            namespace: 'AWS/Firehose',
            metric: 'ExecuteProcessing.Success',
            dimensions,
            statistic: 'Minimum',
            threshold: 1,
            comparison: 'LessThanThreshold',
          }),
        );
      }
    }
  }
  for (const name of Object.keys(input.functions)) {
    const dimensions = [{ Name: 'FunctionName', Value: { Ref: functionLogicalId(name) } }];
    const fn = {
      namespace: 'AWS/Lambda',
      dimensions,
      statistic: 'Sum' as const,
      comparison: 'GreaterThanOrEqualToThreshold' as const,
    };
    alarms.push(
      make({
        ...fn,
        id: `${name}-errors`,
        description: `${name} failed invocations (its records are retried or handed back).`,
        metric: 'Errors',
        threshold: settings.functionErrors,
      }),
      make({
        ...fn,
        id: `${name}-throttles`,
        description: `${name} was throttled: raise its concurrency, or expect delays.`,
        metric: 'Throttles',
        threshold: settings.functionThrottles,
      }),
    );
    const events = ((input.functions[name] as { events?: { stream?: unknown }[] }).events ?? []).filter(
      (e) => e.stream,
    );
    const lifetime = recordLifetimeSeconds(config);
    if (events.length > 0 && lifetime !== undefined) {
      alarms.push(
        make({
          ...fn,
          id: `${name}-iterator-age`,
          description: `${name} is behind on its Kinesis input: records older than ${lifetime} s are skipped to the failure queue, or expire with the stream's retention.`,
          metric: 'IteratorAge',
          statistic: 'Maximum',
          threshold: Math.round(lifetime * 1000 * settings.iteratorAgeShare),
        }),
      );
    }
  }
  return Object.fromEntries(alarms);
}

type Widget = Cfn;

const metricWidget = (title: string, metrics: unknown[][], stat = 'Sum'): Widget => ({
  type: 'metric',
  width: 12,
  height: 6,
  properties: { title, metrics, stat, period: 300, region: '${AWS::Region}', view: 'timeSeries' },
});

/** One widget per configured handler: its EMF counts, by the dimension it publishes them under. */
const HANDLER_COUNTS: {
  title: (config: PipelineConfig) => string | undefined;
  service: string;
  dimension: [string, (config: PipelineConfig) => string];
  names: string[];
}[] = [
  {
    title: (c) =>
      c.firehoseTransform &&
      `Transform of ${c.firehoseTransform.deliveryStream.name}: Ok, Dropped, ProcessingFailed, re-ingested`,
    service: 'firehose-transform',
    dimension: ['deliveryStream', (c) => c.firehoseTransform?.deliveryStream.name ?? ''],
    names: ['records', 'ok', 'dropped', 'failed', 'reingested'],
  },
  {
    title: (c) => c.eventValidator && 'Validator: received, republished, to DLQ, retried later',
    service: 'event-validator',
    dimension: ['handler', () => 'event-validator'],
    names: ['received', 'republished', 'sentToDlq', 'retryLater'],
  },
  {
    title: (c) =>
      c.kinesisAggregator && 'Aggregator: records, to DLQ, handed back, evicted groups, results written',
    service: 'kinesis-aggregator',
    dimension: ['handler', () => 'kinesis-aggregator'],
    names: ['records', 'sentToDlq', 'handedBack', 'evictedGroups', 'resultsWritten'],
  },
];

/** The EMF counts each handler publishes: one widget per route, then one per other handler. */
function handlerWidgets(config: PipelineConfig): Widget[] {
  const ns = config.metricsNamespace;
  const emf = (service: string, dimension: string, value: string, names: string[]) =>
    names.map((name) => [ns, name, dimension, value, 'service', service]);
  const routes = (config.sqsToKinesis?.routes ?? []).map((route) =>
    metricWidget(
      `Route ${routeName(route)}: received, written, to DLQ, handed back, filtered`,
      emf('sqs-to-kinesis', 'route', routeName(route), [
        'received',
        'written',
        'sentToDlq',
        'handedBack',
        'filtered',
      ]),
    ),
  );
  const others = HANDLER_COUNTS.flatMap(({ title, service, dimension: [name, value], names }) => {
    const text = title(config);
    return text ? [metricWidget(text, emf(service, name, value(config), names))] : [];
  });
  return [...routes, ...others];
}

/** The dashboard: handlers' own counts, functions, waiting places, deliveries. */
export function dashboard(input: WatchInput): Cfn {
  const { service, stage, config } = input;
  const names = Object.keys(input.functions).map((name) => `${service}-${stage}-${name}`);
  const perFunction = (metric: string, stat: string) =>
    metricWidget(
      `Functions: ${metric} (${stat})`,
      names.map((fn) => ['AWS/Lambda', metric, 'FunctionName', fn]),
      stat,
    );
  const resources = Object.entries(input.resources) as [string, Resource][];
  const queues = resources.filter(([, r]) => r.Type === 'AWS::SQS::Queue').map(([id]) => id);
  const deliveries = resources
    .filter(([, r]) => r.Type === 'AWS::KinesisFirehose::DeliveryStream')
    .map(([, r]) => [String(r.Properties?.DeliveryStreamName), deliveryMetrics(r).freshness] as const);
  const widgets: Widget[] = [
    ...handlerWidgets(config),
    perFunction('Invocations', 'Sum'),
    perFunction('Errors', 'Sum'),
    perFunction('Duration', 'p99'),
    perFunction('Throttles', 'Sum'),
    metricWidget(`DLQ stream ${config.dlq.stream}: incoming records`, [
      ['AWS/Kinesis', 'IncomingRecords', 'StreamName', config.dlq.stream],
    ]),
    ...(queues.length > 0
      ? [
          metricWidget(
            'Failure queues: messages waiting',
            queues.map((id) => [
              'AWS/SQS',
              'ApproximateNumberOfMessagesVisible',
              'QueueName',
              `\${${id}.QueueName}`,
            ]),
            'Maximum',
          ),
        ]
      : []),
    ...(config.kinesisAggregator
      ? [
          metricWidget(
            'Aggregator: iterator age (ms)',
            [['AWS/Lambda', 'IteratorAge', 'FunctionName', `${service}-${stage}-kinesisAggregator`]],
            'Maximum',
          ),
        ]
      : []),
    ...(deliveries.length > 0
      ? [
          metricWidget(
            'Firehose: oldest undelivered record (s)',
            deliveries.map(([name, metric]) => ['AWS/Firehose', metric, 'DeliveryStreamName', name]),
            'Maximum',
          ),
          metricWidget(
            'Firehose: incoming records',
            deliveries.map(([name]) => ['AWS/Firehose', 'IncomingRecords', 'DeliveryStreamName', name]),
          ),
        ]
      : []),
  ];
  return {
    Type: 'AWS::CloudWatch::Dashboard',
    Properties: {
      DashboardName: `${service}-${stage}`,
      DashboardBody: sub(JSON.stringify({ widgets })),
    },
  };
}

/** The alarms and the dashboard, and the dashboard's name and address as stack outputs. */
export function watchPart(input: WatchInput): { resources: Cfn; outputs: Cfn } {
  const name = `${input.service}-${input.stage}`;
  return {
    resources: { ...dataAlarms(input), Dashboard: dashboard(input) },
    outputs: {
      DashboardName: { Value: name },
      DashboardUrl: {
        Value: sub(
          `https://\${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=\${AWS::Region}#dashboards:name=${name}`,
        ),
      },
    },
  };
}
