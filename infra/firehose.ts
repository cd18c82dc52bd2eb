/**
 * The Firehose side of the template: the delivery stream (Direct PUT) with the transform as
 * its processor, the S3 bucket it delivers to, an optional OpenSearch Serverless delivery
 * stream (stage parameter `openSearch=true`), the SES configuration set that feeds them,
 * and least-privilege roles for Firehose, SES and the function.
 */
import { type FirehoseTransformConfig, SES_EVENT_TYPES } from '../shared/core/config/schema.js';
import { SES_TYPES } from '../shared/firehose-transform/ses.js';
import { type Cfn, getAtt, type InfraPart, sub } from './cfn.js';
import { functionRole, serviceRole } from './iam.js';

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

/** Names and references every resource of this part uses. */
interface FirehoseNames {
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

function namesOf(input: FirehoseInfraInput): FirehoseNames {
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
function processing(n: FirehoseNames): Cfn {
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

const logging = (n: FirehoseNames, stream: string) => ({
  Enabled: true,
  LogGroupName: n.logGroupName,
  LogStreamName: stream,
});

/** The S3 bucket (encrypted, private, TLS only) and Firehose's log group. */
function storageResources(n: FirehoseNames): Cfn {
  return {
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
              Resource: [n.bucketArn, sub('${SesEventsBucket.Arn}/*')],
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            },
          ],
        },
      },
    },
    FirehoseLogGroup: {
      Type: 'AWS::Logs::LogGroup',
      Properties: { LogGroupName: n.logGroupName, RetentionInDays: 7 },
    },
    FirehoseS3LogStream: {
      Type: 'AWS::Logs::LogStream',
      Properties: { LogGroupName: { Ref: 'FirehoseLogGroup' }, LogStreamName: 'S3Delivery' },
    },
  };
}

/** Firehose's role: write the bucket, invoke the processor, log, and write the collection. */
function deliveryRole(n: FirehoseNames): Cfn {
  const writeCollection = {
    Sid: 'WriteCollection',
    Effect: 'Allow',
    Action: ['aoss:APIAccessAll'],
    Resource: [getAtt('SesCollection', 'Arn')],
  };
  return serviceRole('firehose.amazonaws.com', [
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
      Resource: [n.bucketArn, sub('${SesEventsBucket.Arn}/*')],
    },
    {
      Sid: 'InvokeProcessor',
      Effect: 'Allow',
      Action: ['lambda:InvokeFunction', 'lambda:GetFunctionConfiguration'],
      Resource: [n.functionArn, sub('${FirehoseTransformLambdaFunction.Arn}:*')],
    },
    {
      Sid: 'DeliveryLogs',
      Effect: 'Allow',
      Action: ['logs:PutLogEvents'],
      Resource: [
        sub(`arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${n.logGroupName}:*`),
      ],
    },
    ...(n.input.openSearch ? [writeCollection] : []),
  ]);
}

/** The Direct PUT delivery stream to S3, partitioned when partition keys are configured. */
function s3DeliveryStream(n: FirehoseNames): Cfn {
  const { transform } = n.input;
  return {
    Type: 'AWS::KinesisFirehose::DeliveryStream',
    Properties: {
      DeliveryStreamName: n.streamName,
      DeliveryStreamType: 'DirectPut',
      DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' },
      ExtendedS3DestinationConfiguration: {
        BucketARN: n.bucketArn,
        RoleARN: getAtt('FirehoseDeliveryRole', 'Arn'),
        Prefix: transform.partitionKeys ? partitionedPrefix(transform) : transform.deliveryStream.prefix,
        // Records that fail processing land under processing-failed/, as Firehose names the type.
        ErrorOutputPrefix: 'errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/',
        BufferingHints: {
          SizeInMBs: transform.deliveryStream.s3Buffer.sizeMiB,
          IntervalInSeconds: transform.deliveryStream.s3Buffer.intervalSeconds,
        },
        CompressionFormat: 'GZIP',
        ProcessingConfiguration: processing(n),
        ...(transform.partitionKeys ? { DynamicPartitioningConfiguration: { Enabled: true } } : {}),
        CloudWatchLoggingOptions: logging(n, 'S3Delivery'),
      },
    },
  };
}

/** The function's role: re-ingest into its own delivery streams, read the hashing key. */
function transformRole(n: FirehoseNames): Cfn {
  const parameter = n.input.transform.hashKeyParameter;
  const readHashKey = {
    Sid: 'ReadHashKey',
    Effect: 'Allow',
    Action: ['ssm:GetParameter'],
    Resource: [sub(`arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${parameter}`)],
  };
  return functionRole(n.functionName, [
    {
      Sid: 'ReingestIntoOwnStreams',
      Effect: 'Allow',
      Action: ['firehose:PutRecordBatch'],
      Resource: n.streams.map(deliveryStreamArn),
    },
    ...(parameter ? [readHashKey] : []),
  ]);
}

/** SES's role and configuration set, and one event destination per delivery stream. */
function sesResources(n: FirehoseNames): Cfn {
  const { service, stage, transform } = n.input;
  const kept = (transform.mode === 'ses' && transform.keepEventTypes) || SES_EVENT_TYPES;
  const matching = kept.map((type) => SES_TYPES[type].matchingType);
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
  return {
    SesToFirehoseRole: serviceRole('ses.amazonaws.com', [
      {
        Sid: 'PublishEvents',
        Effect: 'Allow',
        Action: ['firehose:PutRecordBatch'],
        Resource: n.streams.map(deliveryStreamArn),
      },
    ]),
    SesConfigurationSet: { Type: 'AWS::SES::ConfigurationSet', Properties: { Name: `${service}-${stage}` } },
    SesEventDestination: destination('to-s3', 'SesDeliveryStream'),
    ...(n.input.openSearch
      ? { SesSearchEventDestination: destination('to-opensearch', 'SesSearchDeliveryStream') }
      : {}),
  };
}

/** The collection's encryption and network policies, the collection, and its data-access policy. */
function collectionResources(n: FirehoseNames): Cfn {
  const { collectionName } = n;
  const collectionResource = [`collection/${collectionName}`];
  const indexRule = {
    ResourceType: 'index',
    Resource: [`index/${collectionName}/${SES_INDEX}`],
    Permission: ['aoss:CreateIndex', 'aoss:UpdateIndex', 'aoss:DescribeIndex', 'aoss:WriteDocument'],
  };
  const networkRules = [
    { ResourceType: 'collection', Resource: collectionResource },
    { ResourceType: 'dashboard', Resource: collectionResource },
  ];
  return {
    SesCollectionEncryptionPolicy: {
      Type: 'AWS::OpenSearchServerless::SecurityPolicy',
      Properties: {
        Name: `${collectionName}-enc`.slice(0, 32),
        Type: 'encryption',
        Policy: JSON.stringify({
          Rules: [{ ResourceType: 'collection', Resource: collectionResource }],
          AWSOwnedKey: true,
        }),
      },
    },
    SesCollectionNetworkPolicy: {
      Type: 'AWS::OpenSearchServerless::SecurityPolicy',
      Properties: {
        Name: `${collectionName}-net`.slice(0, 32),
        Type: 'network',
        Policy: JSON.stringify([{ Rules: networkRules, AllowFromPublic: true }]),
      },
    },
    SesCollection: {
      Type: 'AWS::OpenSearchServerless::Collection',
      DependsOn: ['SesCollectionEncryptionPolicy', 'SesCollectionNetworkPolicy'],
      Properties: { Name: collectionName, Type: 'TIMESERIES' },
    },
    SesCollectionAccessPolicy: {
      Type: 'AWS::OpenSearchServerless::AccessPolicy',
      Properties: {
        Name: `${collectionName}-data`.slice(0, 32),
        Type: 'data',
        Policy: sub(JSON.stringify([{ Rules: [indexRule], Principal: ['${FirehoseDeliveryRole.Arn}'] }])),
      },
    },
  };
}

/** With `openSearch`: the collection and a second delivery stream into it (failed documents to S3). */
function searchResources(n: FirehoseNames): Cfn {
  return {
    ...collectionResources(n),
    SesSearchDeliveryStream: {
      Type: 'AWS::KinesisFirehose::DeliveryStream',
      DependsOn: ['SesCollectionAccessPolicy'],
      Properties: {
        DeliveryStreamName: n.searchStreamName,
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
            BucketARN: n.bucketArn,
            RoleARN: getAtt('FirehoseDeliveryRole', 'Arn'),
            Prefix: 'opensearch-backup/',
            ErrorOutputPrefix: 'errors/opensearch/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/',
            CompressionFormat: 'GZIP',
          },
          ProcessingConfiguration: processing(n),
          CloudWatchLoggingOptions: logging(n, 'OpenSearchDelivery'),
        },
      },
    },
    FirehoseSearchLogStream: {
      Type: 'AWS::Logs::LogStream',
      Properties: { LogGroupName: { Ref: 'FirehoseLogGroup' }, LogStreamName: 'OpenSearchDelivery' },
    },
  };
}

export function firehoseInfra(input: FirehoseInfraInput): InfraPart {
  const n = namesOf(input);
  const { transform, openSearch } = input;
  const resources: Cfn = {
    ...storageResources(n),
    FirehoseDeliveryRole: deliveryRole(n),
    SesDeliveryStream: s3DeliveryStream(n),
    FirehoseTransformRole: transformRole(n),
    ...sesResources(n),
    ...(openSearch ? searchResources(n) : {}),
  };
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
