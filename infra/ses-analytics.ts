/**
 * The S3 side of SES analytics: the delivery bucket's lifecycle rules, and Athena over the
 * S3 copy (a Glue database and table whose columns come from the SES document description
 * and whose partition projection comes from the delivery stream's own prefix, a workgroup
 * with encrypted results in the bucket, and three ready named queries).
 */
import type { FirehoseTransformConfig } from '../shared/core/config/schema.js';
import { SES_DOCUMENT } from '../shared/firehose-transform/ses-document.js';
import { type Cfn, sub } from './cfn.js';
import type { FirehoseNames } from './firehose-names.js';
import { glueColumns, partitionProjection } from './ses-document-formats.js';

export const QUERY_RESULTS_PREFIX = 'athena-results/';
export const SEARCH_BACKUP_PREFIX = 'opensearch-backup/';

type SesTransform = FirehoseTransformConfig & { mode: 'ses' };

const athenaOn = (transform: FirehoseTransformConfig): transform is SesTransform =>
  transform.mode === 'ses' && transform.athena.enabled;

/** The bucket's lifecycle rules, from `firehoseTransform.bucketLifecycle`. */
export function bucketLifecycle(n: FirehoseNames): Cfn {
  const { transform, openSearch } = n.input;
  const rules = transform.bucketLifecycle;
  const expire = (Id: string, Prefix: string, days: number) => ({
    Id,
    Status: 'Enabled',
    Prefix,
    ExpirationInDays: days,
  });
  const delivered = {
    Id: 'DeliveredDocuments',
    Status: 'Enabled',
    // Every partition folder is under the configured prefix.
    Prefix: transform.deliveryStream.prefix,
    ...(rules.infrequentAccessAfterDays === null
      ? {}
      : {
          Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: rules.infrequentAccessAfterDays }],
        }),
    ...(rules.expireDays === undefined ? {} : { ExpirationInDays: rules.expireDays }),
  };
  return {
    Rules: [
      expire('FailedRecords', 'errors/', rules.errorsExpireDays),
      ...(openSearch ? [expire('RefusedSearchDocuments', SEARCH_BACKUP_PREFIX, rules.errorsExpireDays)] : []),
      ...(athenaOn(transform)
        ? [expire('QueryResults', QUERY_RESULTS_PREFIX, rules.queryResultsExpireDays)]
        : []),
      ...('Transitions' in delivered || 'ExpirationInDays' in delivered ? [delivered] : []),
      {
        Id: 'IncompleteUploads',
        Status: 'Enabled',
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
      },
    ],
  };
}

/** Names Athena users see: the database (Glue: lower case), table and workgroup. */
export function athenaNames(n: FirehoseNames, transform: SesTransform) {
  const { service, stage } = n.input;
  return {
    database: `${service}_${stage}`.toLowerCase().replace(/[^a-z0-9_]/g, '_'),
    table: transform.athena.table,
    workgroup: `${service}-${stage}-ses`.replace(/[^A-Za-z0-9._-]/g, '-'),
  };
}

/** `${` would be read by Fn::Sub: Athena's own `${column}` placeholders are escaped. */
const escapeForSub = (text: string) => text.replaceAll('${', '${!');

/** The Glue table over the S3 copy, with partition projection. */
export function sesTable(n: FirehoseNames, transform: SesTransform, deliveryPrefix: string): Cfn {
  const names = athenaNames(n, transform);
  const projection = partitionProjection(transform, deliveryPrefix, SES_DOCUMENT);
  const { columns, renamed } = glueColumns(SES_DOCUMENT, projection.fromDocument);
  return {
    Type: 'AWS::Glue::Table',
    Properties: {
      CatalogId: { Ref: 'AWS::AccountId' },
      DatabaseName: { Ref: 'SesGlueDatabase' },
      TableInput: {
        Name: names.table,
        Description: 'SES events as the Firehose transform normalised them (the S3 copy)',
        TableType: 'EXTERNAL_TABLE',
        Parameters: {
          classification: 'json',
          compressionType: 'gzip',
          EXTERNAL: 'TRUE',
          ...projection.parameters,
          'storage.location.template': sub(
            `s3://\${SesEventsBucket}/${escapeForSub(projection.locationTemplate)}`,
          ),
        },
        PartitionKeys: projection.columns,
        StorageDescriptor: {
          Columns: columns,
          Location: sub(`s3://\${SesEventsBucket}/${transform.deliveryStream.prefix}`),
          InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          Compressed: true,
          SerdeInfo: {
            SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
            Parameters: Object.fromEntries(
              Object.entries(renamed).map(([column, field]) => [`mapping.${column}`, field]),
            ),
          },
        },
      },
    },
  };
}

export interface ReadyQuery {
  id: string;
  name: string;
  description: string;
  sql: string;
}

/** The day a document belongs to, as SQL: the date partition column when there is one. */
function dayColumn(transform: SesTransform): string {
  const key = Object.entries(transform.partitionKeys ?? {}).find(([, k]) => k.as === 'date');
  return key ? `"${key[0].toLowerCase()}"` : 'substr("timestamp", 1, 10)';
}

/** Three queries a team asks first, over the last 30 days. */
export function readyQueries(transform: SesTransform, table: string): ReadyQuery[] {
  const day = dayColumn(transform);
  const since = `${day} >= date_format(current_date - interval '30' day, '%Y-%m-%d')`;
  return [
    {
      id: 'BouncesPerTypePerDay',
      name: 'bounces-per-type-per-day',
      description: 'Bounces per bounce type and sub-type, per day, last 30 days',
      sql: [
        `SELECT ${day} AS day, bouncetype, bouncesubtype, count(*) AS bounces`,
        `FROM ${table}`,
        `WHERE eventtype = 'bounce' AND ${since}`,
        'GROUP BY 1, 2, 3',
        'ORDER BY 1 DESC, 4 DESC',
      ].join('\n'),
    },
    {
      id: 'TopComplainingDomains',
      name: 'top-complaining-recipient-domains',
      description: 'Recipient domains with the most complaints, last 30 days',
      sql: [
        'SELECT domain, count(*) AS complaints',
        `FROM ${table} CROSS JOIN UNNEST(mail.recipientdomains) AS t(domain)`,
        `WHERE eventtype = 'complaint' AND ${since}`,
        'GROUP BY domain',
        'ORDER BY complaints DESC',
        'LIMIT 20',
      ].join('\n'),
    },
    {
      id: 'ClickThroughPerLink',
      name: 'click-through-per-link',
      description: 'Clicks per link, and the share of delivered messages that clicked it, last 30 days',
      sql: [
        'WITH delivered AS (',
        `  SELECT count(DISTINCT mail.messageid) AS messages FROM ${table}`,
        `  WHERE eventtype = 'delivery' AND ${since}`,
        ')',
        'SELECT link, count(*) AS clicks, count(DISTINCT mail.messageid) AS messages_clicked,',
        '  round(100.0 * count(DISTINCT mail.messageid) / nullif(max(delivered.messages), 0), 2) AS click_through_pct',
        `FROM ${table} CROSS JOIN delivered`,
        `WHERE eventtype = 'click' AND ${since}`,
        'GROUP BY link',
        'ORDER BY clicks DESC',
        'LIMIT 50',
      ].join('\n'),
    },
  ];
}

/** The Glue database and table, the workgroup, and the ready queries (when `athena.enabled`). */
export function athenaResources(n: FirehoseNames, deliveryPrefix: string): Cfn {
  const { transform } = n.input;
  if (!athenaOn(transform)) return {};
  const names = athenaNames(n, transform);
  const queries = Object.fromEntries(
    readyQueries(transform, names.table).map((query) => [
      `SesQuery${query.id}`,
      {
        Type: 'AWS::Athena::NamedQuery',
        DependsOn: ['SesAthenaWorkGroup', 'SesGlueTable'],
        Properties: {
          Name: query.name,
          Description: query.description,
          Database: names.database,
          WorkGroup: names.workgroup,
          QueryString: query.sql,
        },
      },
    ]),
  );
  return {
    SesGlueDatabase: {
      Type: 'AWS::Glue::Database',
      Properties: {
        CatalogId: { Ref: 'AWS::AccountId' },
        DatabaseInput: { Name: names.database, Description: 'SES analytics (the S3 copy of SES events)' },
      },
    },
    SesGlueTable: sesTable(n, transform, deliveryPrefix),
    SesAthenaWorkGroup: {
      Type: 'AWS::Athena::WorkGroup',
      Properties: {
        Name: names.workgroup,
        Description: 'Queries over the SES events table; results encrypted in the events bucket',
        // The stack can remove the workgroup even when users saved queries in it.
        RecursiveDeleteOption: true,
        WorkGroupConfiguration: {
          EnforceWorkGroupConfiguration: true,
          PublishCloudWatchMetricsEnabled: true,
          BytesScannedCutoffPerQuery: transform.athena.bytesScannedCutoffGiB * 1024 ** 3,
          EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
          ResultConfiguration: {
            OutputLocation: sub(`s3://\${SesEventsBucket}/${QUERY_RESULTS_PREFIX}`),
            EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
          },
        },
      },
    },
    ...queries,
  };
}
