/**
 * The aggregator's part of the template: the function on its input stream with a tumbling
 * window (and the event-source settings from the config), an on-failure SQS destination, and
 * a role that may read only the input stream and write only the output and DLQ streams.
 */
import type { KinesisAggregatorConfig } from '../shared/core/config/schema.js';
import { type Cfn, getAtt, type InfraPart, sub } from './cfn.js';
import { functionRole } from './iam.js';

export const KINESIS_AGGREGATOR = 'kinesisAggregator';

/** What Lambda's Kinesis event source needs on the stream it reads. */
const STREAM_READ_ACTIONS = [
  'kinesis:DescribeStream',
  'kinesis:DescribeStreamSummary',
  'kinesis:GetRecords',
  'kinesis:GetShardIterator',
  'kinesis:ListShards',
];

export interface AggregatorInfraInput {
  service: string;
  stage: string;
  aggregator: KinesisAggregatorConfig;
  /** A stream's ARN (GetAtt for a declared one, the ARN itself otherwise). */
  streamArn: (name: string) => unknown;
  dlqStreamArn: unknown;
  environment: Cfn;
}

/** The function's role: read its input stream, write its output and the DLQ streams, its failure queue. */
function aggregatorRole(input: AggregatorInfraInput): Cfn {
  const { aggregator } = input;
  return functionRole(`${input.service}-${input.stage}-${KINESIS_AGGREGATOR}`, [
    {
      Sid: 'ReadInputStream',
      Effect: 'Allow',
      Action: STREAM_READ_ACTIONS,
      Resource: [input.streamArn(aggregator.input.stream)],
    },
    {
      Sid: 'ListStreamsForTheEventSource',
      Effect: 'Allow',
      Action: ['kinesis:ListStreams'],
      Resource: [sub('arn:${AWS::Partition}:kinesis:${AWS::Region}:${AWS::AccountId}:stream/*')],
    },
    {
      Sid: 'WriteResultsAndDlq',
      Effect: 'Allow',
      Action: ['kinesis:PutRecord', 'kinesis:PutRecords'],
      Resource: [input.streamArn(aggregator.output.stream), input.dlqStreamArn],
    },
    {
      Sid: 'OnFailureDestination',
      Effect: 'Allow',
      Action: ['sqs:SendMessage'],
      Resource: [getAtt('AggregatorFailureQueue', 'Arn')],
    },
  ]);
}

/** The Kinesis event source with its tumbling window; what fails for good goes to the failure queue. */
function windowEventSource(input: AggregatorInfraInput): Cfn {
  const source = input.aggregator.input;
  return {
    stream: {
      type: 'kinesis',
      arn: input.streamArn(source.stream),
      batchSize: source.batchSize,
      startingPosition: source.startingPosition,
      tumblingWindowInSeconds: source.tumblingWindowInSeconds,
      bisectBatchOnFunctionError: source.bisectBatchOnFunctionError,
      maximumRetryAttempts: source.maximumRetryAttempts,
      maximumRecordAgeInSeconds: source.maximumRecordAgeInSeconds,
      parallelizationFactor: source.parallelizationFactor,
      functionResponseType: 'ReportBatchItemFailures',
      destinations: { onFailure: { arn: getAtt('AggregatorFailureQueue', 'Arn'), type: 'sqs' } },
    },
  };
}

export function aggregatorInfra(input: AggregatorInfraInput): InfraPart {
  const { aggregator } = input;
  const resources: Cfn = {
    AggregatorFailureQueue: {
      Type: 'AWS::SQS::Queue',
      Properties: { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1_209_600 },
    },
    KinesisAggregatorRole: aggregatorRole(input),
  };
  const functions: Cfn = {
    [KINESIS_AGGREGATOR]: {
      handler: 'functions/kinesis-aggregator/handler.handler',
      description: 'Per-window, per-group statistics over a KPL-aware Kinesis stream (tumbling windows)',
      timeout: aggregator.timeoutSeconds,
      memorySize: aggregator.memorySize,
      role: 'KinesisAggregatorRole',
      environment: input.environment,
      events: [windowEventSource(input)],
    },
  };
  const outputs: Cfn = { AggregatorFailureQueueUrl: { Value: { Ref: 'AggregatorFailureQueue' } } };
  return { functions, resources, outputs };
}
