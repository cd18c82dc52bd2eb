/**
 * With the stage parameter `openSearch=true`: the OpenSearch Serverless collection (its
 * encryption, network, data-access and lifecycle policies), the `ses` index with explicit
 * mappings generated from the SES document description, and a second delivery stream into
 * it (documents OpenSearch refuses are backed up to S3).
 *
 * The index is made by a CloudFormation custom resource (the searchIndex function), because
 * AWS::OpenSearchServerless::Index only takes text, keyword, integer and knn_vector fields
 * (checked against @aws-cdk/aws-service-spec): no date, ip, boolean, long or object, which
 * the SES document needs.
 */
import { SES_DOCUMENT } from '../shared/firehose-transform/ses-document.js';
import { type Cfn, getAtt, sub } from './cfn.js';
import { type FirehoseNames, logging, processing, SES_INDEX } from './firehose-names.js';
import { functionRole } from './iam.js';
import { openSearchMappings } from './ses-document-formats.js';

export const SEARCH_INDEX = 'searchIndex';

const READ = ['aoss:ReadDocument', 'aoss:DescribeIndex'];
const WRITE = ['aoss:CreateIndex', 'aoss:UpdateIndex', 'aoss:DescribeIndex', 'aoss:WriteDocument'];
const MANAGE_INDEX = ['aoss:CreateIndex', 'aoss:UpdateIndex', 'aoss:DescribeIndex'];

/** Whether the index is made from the SES document description (mode `ses`). */
const describedIndex = (n: FirehoseNames) => n.input.transform.mode === 'ses';

/** The data-access policy: Firehose writes, the index maker manages the index, readers read. */
function dataAccessPolicy(n: FirehoseNames): Cfn {
  const { collectionName } = n;
  const index = [`index/${collectionName}/${SES_INDEX}`];
  const indexRule = (Permission: string[]) => ({ ResourceType: 'index', Resource: index, Permission });
  const statements: Cfn[] = [
    {
      Description: 'Firehose delivers',
      Rules: [indexRule(WRITE)],
      Principal: ['${FirehoseDeliveryRole.Arn}'],
    },
  ];
  if (describedIndex(n)) {
    statements.push({
      Description: 'The stack creates the index',
      Rules: [indexRule(MANAGE_INDEX)],
      Principal: ['${SearchIndexRole.Arn}'],
    });
  }
  const { readers } = n.input.transform.search;
  if (readers.length > 0) {
    statements.push({
      Description: 'Configured readers',
      Rules: [
        indexRule(READ),
        {
          ResourceType: 'collection',
          Resource: [`collection/${collectionName}`],
          Permission: ['aoss:DescribeCollectionItems'],
        },
      ],
      Principal: readers,
    });
  }
  return {
    Type: 'AWS::OpenSearchServerless::AccessPolicy',
    Properties: {
      Name: `${collectionName}-data`.slice(0, 32),
      Type: 'data',
      Policy: sub(JSON.stringify(statements)),
    },
  };
}

/** The network policy: public (the default), or only through the configured VPC endpoints. */
function networkPolicy(n: FirehoseNames): Cfn {
  const resource = [`collection/${n.collectionName}`];
  const rules = [
    { ResourceType: 'collection', Resource: resource },
    { ResourceType: 'dashboard', Resource: resource },
  ];
  const { network } = n.input.transform.search;
  const access =
    network.access === 'public'
      ? { AllowFromPublic: true }
      : { AllowFromPublic: false, SourceVPCEs: network.vpcEndpoints };
  return {
    Type: 'AWS::OpenSearchServerless::SecurityPolicy',
    Properties: {
      Name: `${n.collectionName}-net`.slice(0, 32),
      Type: 'network',
      Policy: JSON.stringify([{ Rules: rules, ...access }]),
    },
  };
}

/** The collection and its policies. */
function collectionResources(n: FirehoseNames): Cfn {
  const { collectionName } = n;
  const collectionResource = [`collection/${collectionName}`];
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
    SesCollectionNetworkPolicy: networkPolicy(n),
    SesCollection: {
      Type: 'AWS::OpenSearchServerless::Collection',
      DependsOn: ['SesCollectionEncryptionPolicy', 'SesCollectionNetworkPolicy'],
      Properties: { Name: collectionName, Type: 'TIMESERIES' },
    },
    SesCollectionAccessPolicy: dataAccessPolicy(n),
    SesCollectionLifecyclePolicy: {
      Type: 'AWS::OpenSearchServerless::LifecyclePolicy',
      Properties: {
        Name: `${collectionName}-retention`.slice(0, 32),
        Type: 'retention',
        Description: `Documents are kept ${n.input.transform.search.retentionDays} days, then deleted`,
        Policy: JSON.stringify({
          Rules: [
            {
              ResourceType: 'index',
              Resource: [`index/${collectionName}/*`],
              MinIndexRetention: `${n.input.transform.search.retentionDays}d`,
            },
          ],
        }),
      },
    },
  };
}

/** The index body the custom resource sends (PUT /ses), as one JSON string. */
export function sesIndexBody(): string {
  return JSON.stringify({ mappings: openSearchMappings(SES_DOCUMENT) });
}

/** The `ses` index (custom resource), the function that makes it, and its role. */
function indexResources(n: FirehoseNames): { resources: Cfn; functions: Cfn } {
  const functionName = `${n.input.service}-${n.input.stage}-${SEARCH_INDEX}`;
  return {
    resources: {
      SearchIndexRole: functionRole(functionName, [
        {
          Sid: 'CollectionDataPlane',
          Effect: 'Allow',
          Action: ['aoss:APIAccessAll'],
          Resource: [getAtt('SesCollection', 'Arn')],
        },
      ]),
      SesSearchIndex: {
        Type: 'Custom::SesSearchIndex',
        DependsOn: ['SesCollectionAccessPolicy'],
        Properties: {
          ServiceToken: getAtt('SearchIndexLambdaFunction', 'Arn'),
          CollectionEndpoint: getAtt('SesCollection', 'CollectionEndpoint'),
          IndexName: SES_INDEX,
          IndexBody: sesIndexBody(),
        },
      },
    },
    functions: {
      [SEARCH_INDEX]: {
        handler: 'functions/search-index/handler.handler',
        description: 'CloudFormation custom resource: creates the ses index with its explicit mappings',
        // Data-access policies can take minutes to apply to a new role: the function waits.
        timeout: 600,
        memorySize: 256,
        role: 'SearchIndexRole',
        environment: n.input.environment,
      },
    },
  };
}

/** The collection, its index, and a second delivery stream into it (failed documents to S3). */
export function searchResources(n: FirehoseNames): { resources: Cfn; functions: Cfn } {
  const index = describedIndex(n) ? indexResources(n) : { resources: {}, functions: {} };
  const resources: Cfn = {
    ...collectionResources(n),
    ...index.resources,
    SesSearchDeliveryStream: {
      Type: 'AWS::KinesisFirehose::DeliveryStream',
      DependsOn: ['SesCollectionAccessPolicy', ...(describedIndex(n) ? ['SesSearchIndex'] : [])],
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
  return { resources, functions: index.functions };
}
