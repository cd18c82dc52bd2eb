/**
 * The sqs-to-kinesis side of the template: the function with one SQS event source per route
 * (partial-batch responses on), and its role: consume the configured queues, write their
 * target streams and the DLQ stream, decrypt with the queues' own KMS keys. A route with
 * `createQueue` gets its queue from this stack, with an SQS dead-letter queue.
 */
import { isFifoQueue, queueNameOf, routeName } from '../shared/core/config/rules.js';
import type { PipelineConfig, Route, SqsToKinesisConfig } from '../shared/core/config/schema.js';
import { ConfigError } from '../shared/core/errors.js';
import { type Cfn, getAtt, type InfraPart, logicalId } from './cfn.js';
import { functionRole } from './iam.js';
import type { StreamArnOf } from './streams.js';

export const SQS_TO_KINESIS = 'sqsToKinesis';
const SQS_CONSUMER_ACTIONS = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'];
const KINESIS_PUT_ACTIONS = ['kinesis:PutRecord', 'kinesis:PutRecords'];

export interface MapperInfraInput {
  service: string;
  stage: string;
  mapper: SqsToKinesisConfig;
  dlq: PipelineConfig['dlq'];
  /** The declared streams: a target with `aggregation` needs its shard map (ListShards). */
  streams: PipelineConfig['streams'];
  streamArn: StreamArnOf;
  environment: Cfn;
  /** Stage parameters: a queue the stack creates must be in the stage's account and region. */
  params: Readonly<Record<string, string>>;
}

/** The logical id of the queue the stack creates for a route. */
const queueId = (route: Route) => `${logicalId(routeName(route))}Queue`;

/** The queue's ARN as the template refers to it: its own attribute when the stack creates it. */
const queueRef = (route: Route) => (route.createQueue ? getAtt(queueId(route), 'Arn') : route.queueArn);

/**
 * The visibility timeout of a queue the stack creates: AWS's advice of 6x the function
 * timeout, plus the batching window (a message waits in the batch while it is gathered), or
 * the configured value when that is longer.
 */
export function createdVisibilitySeconds(route: Route, timeoutSeconds: number): number {
  const window = isFifoQueue(route.queueArn) ? 0 : (route.eventSource.maximumBatchingWindowInSeconds ?? 0);
  return Math.max(route.visibilityTimeoutSeconds, 6 * timeoutSeconds + window);
}

/** The queues the stack creates, each with its dead-letter queue; refuses one of another account or region. */
function createdQueues({ mapper, params }: MapperInfraInput): Cfn {
  const resources: Cfn = {};
  mapper.routes.forEach((route, i) => {
    const settings = route.createQueue;
    if (!settings) return;
    const [, , , region, account] = route.queueArn.split(':');
    if (account !== params.accountId || region !== params.region) {
      throw new ConfigError([
        `sqsToKinesis.routes[${i}].createQueue: the stack can only create a queue in its own account and region (${params.accountId ?? '?'}, ${params.region ?? '?'}), not ${route.queueArn}`,
      ]);
    }
    const fifo = isFifoQueue(route.queueArn);
    const name = queueNameOf(route.queueArn);
    const base = fifo ? name.slice(0, -'.fifo'.length) : name;
    const encryption = route.kmsKeyArn ? { KmsMasterKeyId: route.kmsKeyArn } : { SqsManagedSseEnabled: true };
    const id = queueId(route);
    resources[`${id.slice(0, -'Queue'.length)}DeadLetterQueue`] = {
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: `${base.slice(0, 70)}-dlq${fifo ? '.fifo' : ''}`,
        ...(fifo ? { FifoQueue: true } : {}),
        MessageRetentionPeriod: 1_209_600,
        ...encryption,
      },
    };
    resources[id] = {
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: name,
        ...(fifo ? { FifoQueue: true } : {}),
        VisibilityTimeout: createdVisibilitySeconds(route, mapper.timeoutSeconds),
        MessageRetentionPeriod: settings.retentionDays * 86_400,
        RedrivePolicy: {
          deadLetterTargetArn: getAtt(`${id.slice(0, -'Queue'.length)}DeadLetterQueue`, 'Arn'),
          maxReceiveCount: settings.maxReceiveCount,
        },
        ...encryption,
      },
    };
  });
  return resources;
}

function mapperStatements({ mapper, dlq, streams, streamArn }: MapperInfraInput): Cfn[] {
  const targets = [...new Set(mapper.routes.map((route) => route.target))];
  const aggregated = targets.filter((target) => streams[target]?.aggregation);
  const keys = [...new Set(mapper.routes.flatMap((route) => (route.kmsKeyArn ? [route.kmsKeyArn] : [])))];
  const statements: Cfn[] = [
    {
      Sid: 'ConsumeConfiguredQueues',
      Effect: 'Allow',
      Action: SQS_CONSUMER_ACTIONS,
      Resource: mapper.routes.map(queueRef),
    },
    {
      Sid: 'WriteTargetAndDlqStreams',
      Effect: 'Allow',
      Action: KINESIS_PUT_ACTIONS,
      Resource: [...targets.map(streamArn), streamArn(dlq.stream)],
    },
  ];
  if (aggregated.length > 0) {
    statements.push({
      Sid: 'ReadShardMapsOfAggregatedStreams',
      Effect: 'Allow',
      Action: ['kinesis:ListShards'],
      Resource: aggregated.map(streamArn),
    });
  }
  if (keys.length > 0) {
    statements.push({
      Sid: 'DecryptQueueMessages',
      Effect: 'Allow',
      Action: ['kms:Decrypt'],
      Resource: keys,
    });
  }
  return statements;
}

/** One SQS event source: FIFO queues take no batching window. */
function sqsEvent(route: SqsToKinesisConfig['routes'][number]): Cfn {
  const source = route.eventSource;
  const sqs: Cfn = {
    arn: queueRef(route),
    batchSize: source.batchSize,
    functionResponseType: 'ReportBatchItemFailures',
  };
  if (source.maximumBatchingWindowInSeconds !== undefined && !isFifoQueue(route.queueArn)) {
    sqs.maximumBatchingWindow = source.maximumBatchingWindowInSeconds;
  }
  if (source.maximumConcurrency !== undefined) sqs.maximumConcurrency = source.maximumConcurrency;
  // Filtering at the source: the event source mapping's FilterCriteria (serverless writes one
  // filter per pattern). Messages that match none are deleted by Lambda, never delivered.
  if (route.filter?.where === 'source') sqs.filterPatterns = route.filter.patterns;
  return { sqs };
}

export function mapperInfra(input: MapperInfraInput): InfraPart {
  const { mapper } = input;
  const functionName = `${input.service}-${input.stage}-${SQS_TO_KINESIS}`;
  return {
    resources: {
      ...createdQueues(input),
      SqsToKinesisRole: functionRole(functionName, mapperStatements(input)),
    },
    outputs: {
      SqsToKinesisRoleArn: {
        Description: 'Grant this role the three SQS actions in the policy of a queue in another account',
        Value: getAtt('SqsToKinesisRole', 'Arn'),
      },
    },
    functions: {
      [SQS_TO_KINESIS]: {
        handler: 'functions/sqs-to-kinesis/handler.handler',
        description: 'Routes SQS messages to Kinesis streams by queue; unmappable ones to the DLQ stream',
        timeout: mapper.timeoutSeconds,
        memorySize: mapper.memorySize,
        role: 'SqsToKinesisRole',
        environment: input.environment,
        events: mapper.routes.map(sqsEvent),
      },
    },
  };
}
