/**
 * The Firehose side of the template: the delivery stream (Direct PUT) with the transform as
 * its processor, the S3 bucket it delivers to, an optional OpenSearch Serverless delivery
 * stream (stage parameter `openSearch=true`), the SES configuration set that feeds them,
 * and least-privilege roles for Firehose, SES and the function.
 */
import { type FirehoseTransformConfig, SES_EVENT_TYPES } from '../shared/core/config/schema.js';
import { SES_TYPES } from '../shared/firehose-transform/ses.js';
import { type Cfn, functionRole, getAtt, serviceRole, sub } from './iam.js';

export const FIREHOSE_TRANSFORM = 'firehoseTransform';
export const SES_INDEX = 'ses';

const deliveryStreamArn = (name: string) =>
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
  openSearch: boolean;
  /** The environment every function gets. */
  environment: Cfn;
}

export function firehoseInfra(input: FirehoseInfraInput): { functions: Cfn; resources: Cfn; outputs: Cfn } {
  const { service, stage, transform, openSearch } = input;
  const functionName = `${service}-${stage}-${FIREHOSE_TRANSFORM}`;
  const streamName = transform.deliveryStream.name;
  const searchStreamName = `${streamName}-search`.slice(0, 64);
  const collectionName = `ses-${stage}`.toLowerCase().slice(0, 32);
  const streams = openSearch ? [streamName, searchStreamName] : [streamName];
  const bucketArn = getAtt('SesEventsBucket', 'Arn');
  const functionArn = getAtt('FirehoseTransformLambdaFunction', 'Arn');
  const logGroupName = `/aws/kinesisfirehose/${streamName}`;
  const processing = {
    Enabled: true,
    Processors: [
      {
        Type: 'Lambda',
        Parameters: [
          { ParameterName: 'LambdaArn', ParameterValue: functionArn },
          {
            ParameterName: 'BufferSizeInMBs',
            ParameterValue: String(transform.deliveryStream.processorBuffer.sizeMiB),
          },
          {
            ParameterName: 'BufferIntervalInSeconds',
            ParameterValue: String(transform.deliveryStream.processorBuffer.intervalSeconds),
          },
        ],
      },
    ],
  };
  const logging = (stream: string) => ({ Enabled: true, LogGroupName: logGroupName, LogStreamName: stream });

  const resources: Cfn = {
    SesEventsBucket: {
      Type: 'AWS::S3::Bucket',
      Properties: {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      },
    },
    SesEventsBucketPolicy: {
      Type: 'AWS::S3::BucketPolicy',
      Properties: {
        Bucket: { Ref: 'SesEventsBucket' },
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'TlsOnly',
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:*',
              Resource: [bucketArn, sub('${SesEventsBucket.Arn}/*')],
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            },
          ],
        },
      },
    },
    FirehoseLogGroup: {
      Type: 'AWS::Logs::LogGroup',
      Properties: { LogGroupName: logGroupName, RetentionInDays: 7 },
    },
    FirehoseS3LogStream: {
      Type: 'AWS::Logs::LogStream',
      Properties: { LogGroupName: { Ref: 'FirehoseLogGroup' }, LogStreamName: 'S3Delivery' },
    },
    FirehoseDeliveryRole: serviceRole('firehose.amazonaws.com', [
      {
        Sid: 'WriteBucket',
        Effect: 'Allow',
        Action: [
          's3:AbortMultipartUpload',
          's3:GetBucketLocation',
          's3:GetObject',
          's3:ListBucket',
          's3:ListBucketMultipartUploads',
          's3:PutObject',
        ],
        Resource: [bucketArn, sub('${SesEventsBucket.Arn}/*')],
      },
      {
        Sid: 'InvokeProcessor',
        Effect: 'Allow',
        Action: ['lambda:InvokeFunction', 'lambda:GetFunctionConfiguration'],
        Resource: [functionArn, sub('${FirehoseTransformLambdaFunction.Arn}:*')],
      },
      {
        Sid: 'DeliveryLogs',
        Effect: 'Allow',
        Action: ['logs:PutLogEvents'],
        Resource: [
          sub(`arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${logGroupName}:*`),
        ],
      },
      ...(openSearch
        ? [
            {
              Sid: 'WriteCollection',
              Effect: 'Allow',
              Action: ['aoss:APIAccessAll'],
              Resource: [getAtt('SesCollection', 'Arn')],
            },
          ]
        : []),
    ]),
    SesDeliveryStream: {
      Type: 'AWS::KinesisFirehose::DeliveryStream',
      Properties: {
        DeliveryStreamName: streamName,
        DeliveryStreamType: 'DirectPut',
        DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' },
        ExtendedS3DestinationConfiguration: {
          BucketARN: bucketArn,
          RoleARN: getAtt('FirehoseDeliveryRole', 'Arn'),
          Prefix: transform.partitionKeys ? partitionedPrefix(transform) : transform.deliveryStream.prefix,
          // Records that fail processing land under processing-failed/, as Firehose names the type.
          ErrorOutputPrefix: 'errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/',
          BufferingHints: {
            SizeInMBs: transform.deliveryStream.s3Buffer.sizeMiB,
            IntervalInSeconds: transform.deliveryStream.s3Buffer.intervalSeconds,
          },
          CompressionFormat: 'GZIP',
          ProcessingConfiguration: processing,
          ...(transform.partitionKeys ? { DynamicPartitioningConfiguration: { Enabled: true } } : {}),
          CloudWatchLoggingOptions: logging('S3Delivery'),
        },
      },
    },
    FirehoseTransformRole: functionRole(functionName, [
      {
        Sid: 'ReingestIntoOwnStreams',
        Effect: 'Allow',
        Action: ['firehose:PutRecordBatch'],
        Resource: streams.map(deliveryStreamArn),
      },
      ...(transform.hashKeyParameter
        ? [
            {
              Sid: 'ReadHashKey',
              Effect: 'Allow',
              Action: ['ssm:GetParameter'],
              Resource: [
                sub(
                  `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${transform.hashKeyParameter}`,
                ),
              ],
            },
          ]
        : []),
    ]),
    SesToFirehoseRole: serviceRole('ses.amazonaws.com', [
      {
        Sid: 'PublishEvents',
        Effect: 'Allow',
        Action: ['firehose:PutRecordBatch'],
        Resource: streams.map(deliveryStreamArn),
      },
    ]),
    SesConfigurationSet: {
      Type: 'AWS::SES::ConfigurationSet',
      Properties: { Name: `${service}-${stage}` },
    },
  };

  const matching = (transform.keepEventTypes ?? SES_EVENT_TYPES).map((type) => SES_TYPES[type].matchingType);
  const destination = (name: string, streamId: string) => ({
    Type: 'AWS::SES::ConfigurationSetEventDestination',
    DependsOn: [streamId],
    Properties: {
      ConfigurationSetName: { Ref: 'SesConfigurationSet' },
      EventDestination: {
        Name: name,
        Enabled: true,
        MatchingEventTypes: matching,
        KinesisFirehoseDestination: {
          DeliveryStreamARN: getAtt(streamId, 'Arn'),
          IAMRoleARN: getAtt('SesToFirehoseRole', 'Arn'),
        },
      },
    },
  });
  resources.SesEventDestination = destination('to-s3', 'SesDeliveryStream');

  if (openSearch) {
    const collectionResource = [`collection/${collectionName}`];
    resources.SesCollectionEncryptionPolicy = {
      Type: 'AWS::OpenSearchServerless::SecurityPolicy',
      Properties: {
        Name: `${collectionName}-enc`.slice(0, 32),
        Type: 'encryption',
        Policy: JSON.stringify({
          Rules: [{ ResourceType: 'collection', Resource: collectionResource }],
          AWSOwnedKey: true,
        }),
      },
    };
    resources.SesCollectionNetworkPolicy = {
      Type: 'AWS::OpenSearchServerless::SecurityPolicy',
      Properties: {
        Name: `${collectionName}-net`.slice(0, 32),
        Type: 'network',
        Policy: JSON.stringify([
          {
            Rules: [
              { ResourceType: 'collection', Resource: collectionResource },
              { ResourceType: 'dashboard', Resource: collectionResource },
            ],
            AllowFromPublic: true,
          },
        ]),
      },
    };
    resources.SesCollection = {
      Type: 'AWS::OpenSearchServerless::Collection',
      DependsOn: ['SesCollectionEncryptionPolicy', 'SesCollectionNetworkPolicy'],
      Properties: { Name: collectionName, Type: 'TIMESERIES' },
    };
    resources.SesCollectionAccessPolicy = {
      Type: 'AWS::OpenSearchServerless::AccessPolicy',
      Properties: {
        Name: `${collectionName}-data`.slice(0, 32),
        Type: 'data',
        Policy: sub(
          JSON.stringify([
            {
              Rules: [
                {
                  ResourceType: 'index',
                  Resource: [`index/${collectionName}/${SES_INDEX}`],
                  Permission: [
                    'aoss:CreateIndex',
                    'aoss:UpdateIndex',
                    'aoss:DescribeIndex',
                    'aoss:WriteDocument',
                  ],
                },
              ],
              Principal: ['${FirehoseDeliveryRole.Arn}'],
            },
          ]),
        ),
      },
    };
    resources.SesSearchDeliveryStream = {
      Type: 'AWS::KinesisFirehose::DeliveryStream',
      DependsOn: ['SesCollectionAccessPolicy'],
      Properties: {
        DeliveryStreamName: searchStreamName,
        DeliveryStreamType: 'DirectPut',
        DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' },
        AmazonOpenSearchServerlessDestinationConfiguration: {
          CollectionEndpoint: getAtt('SesCollection', 'CollectionEndpoint'),
          IndexName: SES_INDEX,
          RoleARN: getAtt('FirehoseDeliveryRole', 'Arn'),
          BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 60 },
          RetryOptions: { DurationInSeconds: 300 },
          S3BackupMode: 'FailedDocumentsOnly',
          S3Configuration: {
            BucketARN: bucketArn,
            RoleARN: getAtt('FirehoseDeliveryRole', 'Arn'),
            Prefix: 'opensearch-backup/',
            ErrorOutputPrefix: 'errors/opensearch/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/',
            CompressionFormat: 'GZIP',
          },
          ProcessingConfiguration: processing,
          CloudWatchLoggingOptions: logging('OpenSearchDelivery'),
        },
      },
    };
    resources.FirehoseSearchLogStream = {
      Type: 'AWS::Logs::LogStream',
      Properties: { LogGroupName: { Ref: 'FirehoseLogGroup' }, LogStreamName: 'OpenSearchDelivery' },
    };
    resources.SesSearchEventDestination = destination('to-opensearch', 'SesSearchDeliveryStream');
  }

  const functions: Cfn = {
    [FIREHOSE_TRANSFORM]: {
      handler: 'functions/firehose-transform/handler.handler',
      description:
        'Firehose processor: normalises SES events (or JSON), filters, hashes, adds partition keys',
      timeout: transform.timeoutSeconds,
      memorySize: transform.memorySize,
      role: 'FirehoseTransformRole',
      environment: input.environment,
    },
  };
  const outputs: Cfn = {
    SesEventsBucketName: { Value: { Ref: 'SesEventsBucket' } },
    SesDeliveryStreamName: { Value: { Ref: 'SesDeliveryStream' } },
    SesConfigurationSetName: { Value: { Ref: 'SesConfigurationSet' } },
    ...(openSearch
      ? { SesCollectionEndpoint: { Value: getAtt('SesCollection', 'CollectionEndpoint') } }
      : {}),
  };
  return { functions, resources, outputs };
}
