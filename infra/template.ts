/**
 * The parts of serverless.yml derived from the config: functions with their event
 * sources and environment, and the CloudFormation resources (streams, DLQ stream, alarm,
 * topic, one least-privilege role per function). serverless.yml pulls them in through
 * infra/serverless.cjs, so adding a queue or a stream is one config edit and one deploy.
 */
import { isFifoQueue } from '../shared/core/config/rules.js';
import type { PipelineConfig, StreamSettings } from '../shared/core/config/schema.js';
import { eventBridgeInfra } from './eventbridge.js';
import { firehoseInfra } from './firehose.js';
import { type Cfn, functionRole, getAtt, sub } from './iam.js';
import { aggregatorInfra } from './kinesis-aggregator.js';

export interface InfraInput {
  service: string;
  stage: string;
  /** The config file as written (its keys give stable logical ids). */
  raw: unknown;
  config: PipelineConfig;
  /** Stage parameters (alarmEmail, region, ...). */
  params: Readonly<Record<string, string>>;
  /** What the deployed functions get as PIPELINE_PARAMS. */
  functionParams: Readonly<Record<string, string>>;
}

export const DLQ_STREAM_ID = 'DLQStream';
export const SQS_TO_KINESIS = 'sqsToKinesis';
const SQS_CONSUMER_ACTIONS = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'];
const KINESIS_PUT_ACTIONS = ['kinesis:PutRecord', 'kinesis:PutRecords'];
const KINESIS_MANAGED_KEY = 'alias/aws/kinesis';

export function pascal(text: string): string {
  return text
    .replace(/\$\{[^}]*\}/g, ' ')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word[0]?.toUpperCase() + word.slice(1))
    .join('');
}

/** Logical ids of the declared streams, by resolved stream name, from the file's own keys. */
export function streamLogicalIds(raw: unknown, config: PipelineConfig): Map<string, string> {
  const rawStreams = (raw as { streams?: Record<string, unknown> }).streams ?? {};
  const rawKeys = Object.keys(rawStreams);
  const ids = new Map<string, string>();
  const used = new Set<string>([DLQ_STREAM_ID]);
  Object.keys(config.streams).forEach((name, i) => {
    const base = `${pascal(rawKeys[i] ?? name) || 'Target'}Stream`;
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}${n}`;
    used.add(id);
    ids.set(name, id);
  });
  return ids;
}

export function streamResource(name: string, settings: StreamSettings): Cfn {
  const properties: Cfn = {
    Name: name,
    RetentionPeriodHours: settings.retentionHours,
    StreamEncryption: { EncryptionType: 'KMS', KeyId: KINESIS_MANAGED_KEY },
    StreamModeDetails: { StreamMode: settings.capacity.mode },
  };
  if (settings.capacity.mode === 'PROVISIONED') properties.ShardCount = settings.capacity.shards;
  if (settings.maxRecordSizeKiB !== 1024) properties.MaxRecordSizeInKiB = settings.maxRecordSizeKiB;
  return { Type: 'AWS::Kinesis::Stream', Properties: properties };
}

function alarmResources(input: InfraInput): Cfn {
  const { config, service, stage } = input;
  const resources: Cfn = {
    AlarmTopicKey: {
      Type: 'AWS::KMS::Key',
      Properties: {
        Description: `${service}-${stage}: encrypts the alarm topic (CloudWatch must be able to use it)`,
        EnableKeyRotation: true,
        KeyPolicy: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'AccountAdmin',
              Effect: 'Allow',
              Principal: { AWS: sub('arn:${AWS::Partition}:iam::${AWS::AccountId}:root') },
              Action: 'kms:*',
              Resource: '*',
            },
            {
              Sid: 'CloudWatchAlarmsPublish',
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
              Resource: '*',
            },
          ],
        },
      },
    },
    AlarmTopic: {
      Type: 'AWS::SNS::Topic',
      Properties: {
        TopicName: `${service}-${stage}-alarms`,
        KmsMasterKeyId: { Ref: 'AlarmTopicKey' },
      },
    },
    DLQAlarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: `${service}-${stage}-dlq-incoming-records`,
        AlarmDescription: `Records arrived on the DLQ stream ${config.dlq.stream}: look at their envelopes' reason`,
        Namespace: 'AWS/Kinesis',
        // IncomingRecords counts what is put into the stream; GetRecords.Records stays 0 on a stream nobody reads.
        MetricName: 'IncomingRecords',
        Dimensions: [{ Name: 'StreamName', Value: { Ref: DLQ_STREAM_ID } }],
        Statistic: 'Sum',
        Period: config.dlq.alarm.periodSeconds,
        EvaluationPeriods: 1,
        Threshold: config.dlq.alarm.threshold,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: 'AlarmTopic' }],
        OKActions: [{ Ref: 'AlarmTopic' }],
      },
    },
  };
  const email = input.params.alarmEmail;
  if (email) {
    resources.AlarmEmailSubscription = {
      Type: 'AWS::SNS::Subscription',
      Properties: { TopicArn: { Ref: 'AlarmTopic' }, Protocol: 'email', Endpoint: email },
    };
  }
  return resources;
}

export function buildInfra(input: InfraInput): { functions: Cfn; resources: Cfn } {
  const { config, service, stage } = input;
  const streamIds = streamLogicalIds(input.raw, config);
  const resources: Cfn = {
    [DLQ_STREAM_ID]: streamResource(config.dlq.stream, config.dlq.settings),
    ...alarmResources(input),
  };
  for (const [name, settings] of Object.entries(config.streams)) {
    resources[streamIds.get(name) as string] = streamResource(name, settings);
  }
  const streamArn = (name: string) => {
    if (name.startsWith('arn:')) return name;
    const id = name === config.dlq.stream ? DLQ_STREAM_ID : streamIds.get(name);
    return getAtt(id as string, 'Arn');
  };
  const outputs: Cfn = {
    DLQStreamName: { Value: { Ref: DLQ_STREAM_ID } },
    AlarmTopicArn: { Value: { Ref: 'AlarmTopic' } },
  };
  const environment = {
    PIPELINE_STAGE: stage,
    PIPELINE_PARAMS: JSON.stringify(input.functionParams),
    POWERTOOLS_LOG_LEVEL: 'INFO',
    NODE_OPTIONS: '--enable-source-maps',
  };
  const functions: Cfn = {};

  const mapper = config.sqsToKinesis;
  if (mapper) {
    const functionName = `${service}-${stage}-${SQS_TO_KINESIS}`;
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
        Resource: [...targets.map(streamArn), streamArn(config.dlq.stream)],
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
    resources.SqsToKinesisRole = functionRole(functionName, statements);
    outputs.SqsToKinesisRoleArn = {
      Description: 'Grant this role the three SQS actions in the policy of a queue in another account',
      Value: getAtt('SqsToKinesisRole', 'Arn'),
    };
    functions[SQS_TO_KINESIS] = {
      handler: 'functions/sqs-to-kinesis/handler.handler',
      description: 'Routes SQS messages to Kinesis streams by queue; unmappable ones to the DLQ stream',
      timeout: mapper.timeoutSeconds,
      memorySize: mapper.memorySize,
      role: 'SqsToKinesisRole',
      environment,
      events: mapper.routes.map((route) => {
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
      }),
    };
  }
  const parts = [
    config.firehoseTransform &&
      firehoseInfra({
        service,
        stage,
        transform: config.firehoseTransform,
        openSearch: input.params.openSearch === 'true',
        environment,
      }),
    config.eventValidator &&
      eventBridgeInfra({
        service,
        stage,
        validator: config.eventValidator,
        dlqStreamArn: streamArn(config.dlq.stream) as Cfn,
        environment,
      }),
    config.kinesisAggregator &&
      aggregatorInfra({
        service,
        stage,
        aggregator: config.kinesisAggregator,
        streamArn,
        dlqStreamArn: streamArn(config.dlq.stream),
        environment,
      }),
  ];
  for (const part of parts) {
    if (!part) continue;
    Object.assign(functions, part.functions);
    Object.assign(resources, part.resources);
    Object.assign(outputs, part.outputs);
  }
  for (const id of streamIds.values()) outputs[`${id}Name`] = { Value: { Ref: id } };
  return { functions, resources: { Resources: resources, Outputs: outputs } };
}
