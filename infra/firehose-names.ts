/**
 * The names, references and settings every resource of the Firehose part shares: the
 * delivery streams, the bucket, the collection and the processor configuration.
 */
import type { FirehoseTransformConfig } from '../shared/core/config/schema.js';
import { type Cfn, getAtt, sub } from './cfn.js';

export const FIREHOSE_TRANSFORM = 'firehoseTransform';
export const SES_INDEX = 'ses';

export const deliveryStreamArn = (name: string) =>
  sub(`arn:\${AWS::Partition}:firehose:\${AWS::Region}:\${AWS::AccountId}:deliverystream/${name}`);

/** The Hive-style S3 prefix for the configured partition keys. */
export function partitionedPrefix(transform: FirehoseTransformConfig): string {
  const keys = Object.keys(transform.partitionKeys ?? {});
  const parts = keys.map((key) => `${key}=!{partitionKeyFromLambda:${key}}/`).join('');
  return `${transform.deliveryStream.prefix}${parts}`;
}

export interface FirehoseInfraInput {
  service: string;
  stage: string;
  transform: FirehoseTransformConfig;
  /** Stage parameter `openSearch=true`: the OpenSearch Serverless collection and its delivery. */
  openSearch: boolean;
  /** The environment every function gets. */
  environment: Cfn;
}

/** Names and references every resource of this part uses. */
export interface FirehoseNames {
  input: FirehoseInfraInput;
  functionName: string;
  streamName: string;
  searchStreamName: string;
  collectionName: string;
  /** The delivery streams the function may re-ingest into and SES may publish to. */
  streams: string[];
  bucketArn: Cfn;
  functionArn: Cfn;
  logGroupName: string;
}

export function namesOf(input: FirehoseInfraInput): FirehoseNames {
  const { service, stage, transform, openSearch } = input;
  const streamName = transform.deliveryStream.name;
  const searchStreamName = `${streamName}-search`.slice(0, 64);
  return {
    input,
    functionName: `${service}-${stage}-${FIREHOSE_TRANSFORM}`,
    streamName,
    searchStreamName,
    collectionName: `ses-${stage}`.toLowerCase().slice(0, 32),
    streams: openSearch ? [streamName, searchStreamName] : [streamName],
    bucketArn: getAtt('SesEventsBucket', 'Arn'),
    functionArn: getAtt('FirehoseTransformLambdaFunction', 'Arn'),
    logGroupName: `/aws/kinesisfirehose/${streamName}`,
  };
}

/** The transform as the delivery streams' processor, with its buffer. */
export function processing(n: FirehoseNames): Cfn {
  const buffer = n.input.transform.deliveryStream.processorBuffer;
  return {
    Enabled: true,
    Processors: [
      {
        Type: 'Lambda',
        Parameters: [
          { ParameterName: 'LambdaArn', ParameterValue: n.functionArn },
          { ParameterName: 'BufferSizeInMBs', ParameterValue: String(buffer.sizeMiB) },
          { ParameterName: 'BufferIntervalInSeconds', ParameterValue: String(buffer.intervalSeconds) },
        ],
      },
    ],
  };
}

export const logging = (n: FirehoseNames, stream: string) => ({
  Enabled: true,
  LogGroupName: n.logGroupName,
  LogStreamName: stream,
});
