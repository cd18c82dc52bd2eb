/**
 * The sqs-to-kinesis side of the template: the function with one SQS event source per route
 * (partial-batch responses on), and its role: consume the configured queues, write their
 * target streams and the DLQ stream, decrypt with the queues' own KMS keys.
 */
import { isFifoQueue } from '../shared/core/config/rules.js';
import type { PipelineConfig, SqsToKinesisConfig } from '../shared/core/config/schema.js';
import { type Cfn, getAtt, type InfraPart } from './cfn.js';
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
  streamArn: StreamArnOf;
  environment: Cfn;
}

function mapperStatements({ mapper, dlq, streamArn }: MapperInfraInput): Cfn[] {
  const targets = [...new Set(mapper.routes.map((route) => route.target))];
  const keys = [...new Set(mapper.routes.flatMap((route) => (route.kmsKeyArn ? [route.kmsKeyArn] : [])))];
  const statements: Cfn[] = [
    {
      Sid: 'ConsumeConfiguredQueues',
      Effect: 'Allow',
      Action: SQS_CONSUMER_ACTIONS,
      Resource: mapper.routes.map((route) => route.queueArn),
    },
    {
      Sid: 'WriteTargetAndDlqStreams',
      Effect: 'Allow',
      Action: KINESIS_PUT_ACTIONS,
      Resource: [...targets.map(streamArn), streamArn(dlq.stream)],
    },
  ];
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
    arn: route.queueArn,
    batchSize: source.batchSize,
    functionResponseType: 'ReportBatchItemFailures',
  };
  if (source.maximumBatchingWindowInSeconds !== undefined && !isFifoQueue(route.queueArn)) {
    sqs.maximumBatchingWindow = source.maximumBatchingWindowInSeconds;
  }
  if (source.maximumConcurrency !== undefined) sqs.maximumConcurrency = source.maximumConcurrency;
  return { sqs };
}

export function mapperInfra(input: MapperInfraInput): InfraPart {
  const { mapper } = input;
  const functionName = `${input.service}-${input.stage}-${SQS_TO_KINESIS}`;
  return {
    resources: { SqsToKinesisRole: functionRole(functionName, mapperStatements(input)) },
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
