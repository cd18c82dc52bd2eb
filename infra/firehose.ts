/**
 * The Firehose side of the template: the delivery stream (Direct PUT) with the transform as
 * its processor, the S3 bucket it delivers to (with lifecycle rules), Athena over it
 * (ses-analytics.ts), an optional OpenSearch Serverless delivery (stage parameter
 * `openSearch=true`, ses-search.ts), the SES configuration set that feeds them, and
 * least-privilege roles for Firehose, SES and the function.
 */
import { SES_EVENT_TYPES } from '../shared/core/config/schema.js';
import { SES_TYPES } from '../shared/firehose-transform/ses.js';
import { type Cfn, getAtt, type InfraPart, sub } from './cfn.js';
import {
  deliveryStreamArn,
  FIREHOSE_TRANSFORM,
  type FirehoseInfraInput,
  type FirehoseNames,
  logging,
  namesOf,
  partitionedPrefix,
  processing,
} from './firehose-names.js';
import { functionRole, serviceRole } from './iam.js';
import { athenaNames, athenaResources, bucketLifecycle } from './ses-analytics.js';
import { searchResources } from './ses-search.js';

/** The prefix the S3 delivery writes under, with its partition expressions. */
const deliveryPrefix = (n: FirehoseNames) =>
  n.input.transform.partitionKeys
    ? partitionedPrefix(n.input.transform)
    : n.input.transform.deliveryStream.prefix;

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
        LifecycleConfiguration: bucketLifecycle(n),
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
        Prefix: deliveryPrefix(n),
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

export function firehoseInfra(input: FirehoseInfraInput): InfraPart {
  const n = namesOf(input);
  const { transform, openSearch } = input;
  const search = openSearch ? searchResources(n) : { resources: {}, functions: {} };
  const resources: Cfn = {
    ...storageResources(n),
    FirehoseDeliveryRole: deliveryRole(n),
    SesDeliveryStream: s3DeliveryStream(n),
    FirehoseTransformRole: transformRole(n),
    ...sesResources(n),
    ...athenaResources(n, deliveryPrefix(n)),
    ...search.resources,
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
    ...search.functions,
  };
  const athena = transform.mode === 'ses' && transform.athena.enabled ? athenaNames(n, transform) : undefined;
  const outputs: Cfn = {
    SesEventsBucketName: { Value: { Ref: 'SesEventsBucket' } },
    SesDeliveryStreamName: { Value: { Ref: 'SesDeliveryStream' } },
    SesConfigurationSetName: { Value: { Ref: 'SesConfigurationSet' } },
    ...(athena
      ? {
          SesAthenaWorkGroup: { Value: athena.workgroup },
          SesAthenaTable: { Value: `${athena.database}.${athena.table}` },
        }
      : {}),
    ...(openSearch
      ? { SesCollectionEndpoint: { Value: getAtt('SesCollection', 'CollectionEndpoint') } }
      : {}),
  };
  return { functions, resources, outputs };
}
