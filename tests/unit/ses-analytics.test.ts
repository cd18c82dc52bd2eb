/**
 * SES analytics in the template the config generates (buildInfra: what `serverless package`
 * embeds): the OpenSearch index and its policies, the bucket's lifecycle, and Athena over
 * the S3 copy. The index mappings and the Glue columns are compared with each other and with
 * the SES document description; the partition projection is compared with the folders the
 * Firehose stand-in writes for the samples.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { FirehoseTransformationEvent } from 'aws-lambda';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { partitionedPrefix } from '../../infra/firehose-names.js';
import { buildInfra } from '../../infra/template.js';
import { deliver } from '../../local/firehose-stand-in.js';
import { lambdaContext } from '../../local/lambda-context.js';
import { sesTraffic } from '../../local/scenarios/firehose-transform.js';
import { checkConfig, stageParams } from '../../shared/core/config/load.js';
import { ConfigError } from '../../shared/core/errors.js';
import { compileTransform, transformBatch } from '../../shared/firehose-transform/firehose-transform.js';
import {
  type DocumentField,
  isObjectField,
  SES_DOCUMENT,
} from '../../shared/firehose-transform/ses-document.js';
import { readRawConfig, readStages } from '../../tools/lib/config-files.js';
import { specProblems } from '../helpers/cfn-spec.js';
import type { RawConfig } from '../helpers/fixtures.js';
import { TEST_HASH_KEY, transformTestDeps } from '../helpers/test-deps.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are read as loose JSON here.
type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };

/** The stage's template with `openSearch` as given, optionally from a patched config. */
function template(openSearch: boolean, patch: (raw: RawConfig) => void = () => {}, stage = 'dev') {
  const raw = structuredClone(readRawConfig()) as RawConfig;
  patch(raw);
  const params = { ...stageParams(readStages(), stage), openSearch: String(openSearch) };
  const { config } = checkConfig(raw, { stage, params });
  const infra = buildInfra({ service: 'streaming-pipeline', stage, raw, config, params, functionParams: {} });
  return {
    resources: infra.resources.Resources as Record<string, Resource>,
    outputs: infra.resources.Outputs as Record<string, unknown>,
    functions: infra.functions,
    config,
  };
}

/** Fn::Sub text with the named references given, and `${!x}` read back as `${x}`. */
function subText(value: { 'Fn::Sub': string }, refs: Record<string, string>): string {
  return value['Fn::Sub'].replace(/\$\{(!?)([^}]+)\}/g, (_, bang: string, name: string) => {
    if (bang) return `\${${name}}`;
    if (!(name in refs)) throw new Error(`unresolved \${${name}}`);
    return refs[name] as string;
  });
}

/** Every leaf of an OpenSearch mapping, by dotted path, with its type. */
function mappingLeaves(properties: Record<string, RawConfig>, prefix = ''): Map<string, string> {
  const leaves = new Map<string, string>();
  for (const [name, mapping] of Object.entries(properties)) {
    const path = `${prefix}${name}`;
    if (mapping.properties) {
      for (const [p, t] of mappingLeaves(mapping.properties, `${path}.`)) leaves.set(p, t);
    } else leaves.set(path, mapping.type === 'object' && mapping.enabled === false ? 'opaque' : mapping.type);
  }
  return leaves;
}

/** A Hive type string (`struct<a:string,b:array<bigint>>`) as a tree. */
type HiveType = string | { array: HiveType } | { struct: [string, HiveType][] };
function parseHive(text: string): HiveType {
  let at = 0;
  const name = () => {
    const match = /^[A-Za-z0-9_@]+/.exec(text.slice(at));
    if (!match) throw new Error(`bad Hive type at ${at}: ${text.slice(at, at + 20)}`);
    at += match[0].length;
    return match[0];
  };
  const expect_ = (char: string) => {
    if (text[at] !== char) throw new Error(`expected ${char} at ${at} in ${text}`);
    at++;
  };
  const type = (): HiveType => {
    const word = name();
    if (word === 'array') {
      expect_('<');
      const element = type();
      expect_('>');
      return { array: element };
    }
    if (word === 'struct') {
      expect_('<');
      const fields: [string, HiveType][] = [];
      do {
        if (fields.length > 0) expect_(',');
        const field = name();
        expect_(':');
        fields.push([field, type()]);
      } while (text[at] === ',');
      expect_('>');
      return { struct: fields };
    }
    return word;
  };
  const parsed = type();
  if (at !== text.length) throw new Error(`trailing text in ${text}`);
  return parsed;
}

/** Every leaf of a Hive type, by dotted path (lists are transparent, as in OpenSearch). */
function hiveLeaves(type: HiveType, path: string, out = new Map<string, string>()): Map<string, string> {
  if (typeof type === 'string') out.set(path, type);
  else if ('array' in type) hiveLeaves(type.array, path, out);
  else for (const [field, child] of type.struct) hiveLeaves(child, `${path}.${field}`, out);
  return out;
}

/** What a described kind may be in each store. */
const COMPATIBLE: Record<string, { openSearch: string; hive: string }> = {
  date: { openSearch: 'date', hive: 'string' },
  keyword: { openSearch: 'keyword', hive: 'string' },
  text: { openSearch: 'text', hive: 'string' },
  ip: { openSearch: 'ip', hive: 'string' },
  long: { openSearch: 'long', hive: 'bigint' },
  boolean: { openSearch: 'boolean', hive: 'boolean' },
  opaque: { openSearch: 'opaque', hive: 'string' },
};

function describedLeaves(
  field: DocumentField,
  path: string,
  out = new Map<string, string>(),
): Map<string, string> {
  if (isObjectField(field)) {
    for (const [name, child] of Object.entries(field.fields))
      describedLeaves(child, path ? `${path}.${name}` : name, out);
  } else out.set(path, field.kind);
  return out;
}

describe('the OpenSearch index', () => {
  // Built before each test, not once for the file, so that a mutation testing run sees it.
  let resources: Record<string, Resource>;
  let functions: Record<string, unknown>;
  let index: Resource;
  let body: RawConfig;
  beforeEach(() => {
    ({ resources, functions } = template(true));
    index = resources.SesSearchIndex as Resource;
    body = JSON.parse(index.Properties.IndexBody);
  });

  it('is made with explicit mappings generated from the document description, before delivery starts', () => {
    // Assess: the custom resource, its function, and the delivery stream waiting for it.
    expect(index.Type).toBe('Custom::SesSearchIndex');
    expect(index.Properties.IndexName).toBe('ses');
    expect(index.Properties.ServiceToken).toEqual({ 'Fn::GetAtt': ['SearchIndexLambdaFunction', 'Arn'] });
    expect(index.DependsOn).toContain('SesCollectionAccessPolicy');
    expect(functions.searchIndex).toMatchObject({
      handler: 'functions/search-index/handler.handler',
      role: 'SearchIndexRole',
    });
    expect((resources.SesSearchDeliveryStream as Resource).DependsOn).toContain('SesSearchIndex');
    // Unknown fields are kept in the document, never indexed: no mapping explosion, no rejection.
    expect(body.mappings.dynamic).toBe('false');
    const leaves = mappingLeaves(body.mappings.properties);
    const described = describedLeaves(SES_DOCUMENT, '');
    expect(new Map([...leaves].map(([p, t]) => [p, t]))).toEqual(
      new Map([...described].map(([p, kind]) => [p, COMPATIBLE[kind]?.openSearch])),
    );
  });

  it('maps what people filter on as keywords, text with a keyword sub-field, dates, IPs, and headers as one field', () => {
    // Prepare
    const p = body.mappings.properties;
    // Assess
    expect(p['@timestamp']).toEqual({ type: 'date' });
    for (const field of [
      p.eventType,
      p.mail.properties.messageId,
      p.recipients,
      p.mail.properties.recipientDomains,
      p.bounceType,
      p.complaintFeedbackType,
    ]) {
      expect(field).toMatchObject({ type: 'keyword' });
    }
    for (const field of [
      p.subject,
      p.diagnosticCodes,
      p.details.properties.bouncedRecipients.properties.diagnosticCode,
    ]) {
      expect(field).toEqual({ type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } });
    }
    expect(p.ipAddress).toEqual({ type: 'ip' });
    expect(p.mail.properties.headers).toEqual({ type: 'object', enabled: false });
    expect(p.mail.properties.tags).toEqual({ type: 'object', enabled: false });
  });

  it('never lets a keyword reject a document: every keyword has an ignore_above under the term limit', () => {
    // Prepare: Lucene refuses terms over 32,766 bytes; a character is at most 4 bytes.
    const keywords: RawConfig[] = [];
    const walk = (properties: Record<string, RawConfig>) => {
      for (const mapping of Object.values(properties)) {
        if (mapping.properties) walk(mapping.properties);
        if (mapping.type === 'keyword') keywords.push(mapping);
        for (const sub of Object.values((mapping.fields ?? {}) as Record<string, RawConfig>))
          keywords.push(sub);
      }
    };
    walk(body.mappings.properties);
    // Assess
    expect(keywords.length).toBeGreaterThan(30);
    for (const keyword of keywords) expect(keyword.ignore_above * 4).toBeLessThanOrEqual(32_766);
  });

  it('is not the native AWS::OpenSearchServerless::Index, whose mappings cannot say date, ip or boolean', () => {
    // Prepare: the same mappings as that resource would take them.
    const native = {
      Resources: {
        Native: {
          Type: 'AWS::OpenSearchServerless::Index',
          Properties: {
            CollectionEndpoint: 'https://x.aoss.amazonaws.com',
            IndexName: 'ses',
            Mappings: {
              Properties: {
                '@timestamp': { Type: 'date' },
                ipAddress: { Type: 'ip' },
                eventType: { Type: 'keyword' },
              },
            },
          },
        },
      },
    };
    // Act / Assess
    expect(specProblems(native)).toEqual([
      'Native(AWS::OpenSearchServerless::Index).Mappings.Properties.@timestamp.Type: expected one of text | knn_vector | keyword | integer, got "date"',
      'Native(AWS::OpenSearchServerless::Index).Mappings.Properties.ipAddress.Type: expected one of text | knn_vector | keyword | integer, got "ip"',
    ]);
  });

  it('lets only the index maker manage the index, with data-plane access to this collection only', () => {
    // Prepare
    const role = resources.SearchIndexRole as Resource;
    const statements = role.Properties.Policies[0].PolicyDocument.Statement;
    // Assess
    expect(statements.map((s: RawConfig) => s.Sid)).toEqual(['OwnLogs', 'CollectionDataPlane']);
    expect(statements[1]).toMatchObject({
      Action: ['aoss:APIAccessAll'],
      Resource: [{ 'Fn::GetAtt': ['SesCollection', 'Arn'] }],
    });
    const policy = JSON.parse((resources.SesCollectionAccessPolicy as Resource).Properties.Policy['Fn::Sub']);
    const maker = policy.find((s: RawConfig) => s.Principal.includes('${SearchIndexRole.Arn}'));
    expect(maker.Rules).toEqual([
      {
        ResourceType: 'index',
        Resource: ['index/ses-dev/ses'],
        Permission: ['aoss:CreateIndex', 'aoss:UpdateIndex', 'aoss:DescribeIndex'],
      },
    ]);
  });
});

describe('readers, network and retention of the collection', () => {
  const READERS = [
    'arn:aws:iam::111111111111:role/ses-analysts',
    'arn:aws:iam::111111111111:user/ana',
    'saml/111111111111/corp-idp/group/deliverability',
  ];
  const policyOf = (resources: Record<string, Resource>) =>
    JSON.parse((resources.SesCollectionAccessPolicy as Resource).Properties.Policy['Fn::Sub']) as RawConfig[];

  it('gives exactly the configured readers read access to the index and the dashboards, and nobody else', () => {
    // Act
    const { resources } = template(true, (raw) => {
      raw.firehoseTransform.search = { readers: READERS };
    });
    const policy = policyOf(resources);
    // Assess: three statements; the readers' one reads only.
    expect(policy.map((s) => s.Principal)).toEqual([
      ['${FirehoseDeliveryRole.Arn}'],
      ['${SearchIndexRole.Arn}'],
      READERS,
    ]);
    expect(policy[2]?.Rules).toEqual([
      {
        ResourceType: 'index',
        Resource: ['index/ses-dev/ses'],
        Permission: ['aoss:ReadDocument', 'aoss:DescribeIndex'],
      },
      {
        ResourceType: 'collection',
        Resource: ['collection/ses-dev'],
        Permission: ['aoss:DescribeCollectionItems'],
      },
    ]);
    // No wildcard anywhere in who or what.
    expect(JSON.stringify(policy)).not.toContain('*');
  });

  it('has no reader statement when none are configured', () => {
    // Act / Assess
    expect(policyOf(template(true).resources).map((s) => s.Description)).toEqual([
      'Firehose delivers',
      'The stack creates the index',
    ]);
  });

  it.each([
    ['arn:aws:iam::111111111111:role/*', 'no wildcard'],
    ['*', 'no wildcard'],
    ['arn:aws:iam::111111111111:group/admins', 'IAM role or user ARN'],
    ['saml/111111111111/idp/group/${x}', 'no wildcard'],
  ])('refuses the reader %s, naming the key', (reader, message) => {
    // Act
    const attempt = () =>
      template(true, (raw) => {
        raw.firehoseTransform.search = { readers: [reader] };
      });
    // Assess
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/firehoseTransform\.search\.readers\[0\]/);
    expect(attempt).toThrow(new RegExp(message));
  });

  it('is public by default and reachable only through the configured VPC endpoints when asked', () => {
    // Prepare
    const network = (resources: Record<string, Resource>) =>
      JSON.parse((resources.SesCollectionNetworkPolicy as Resource).Properties.Policy)[0];
    // Act
    const open = network(template(true).resources);
    const closed = network(
      template(true, (raw) => {
        raw.firehoseTransform.search = { network: { access: 'vpc', vpcEndpoints: ['vpce-0abc123'] } };
      }).resources,
    );
    // Assess
    expect(open.AllowFromPublic).toBe(true);
    expect(open).not.toHaveProperty('SourceVPCEs');
    expect(closed).toMatchObject({ AllowFromPublic: false, SourceVPCEs: ['vpce-0abc123'] });
    expect(closed.Rules.map((r: RawConfig) => r.ResourceType)).toEqual(['collection', 'dashboard']);
  });

  it('keeps documents for the configured days (90 by default)', () => {
    // Prepare
    const rule = (resources: Record<string, Resource>) =>
      JSON.parse((resources.SesCollectionLifecyclePolicy as Resource).Properties.Policy).Rules[0];
    // Act / Assess
    expect(rule(template(true).resources)).toEqual({
      ResourceType: 'index',
      Resource: ['index/ses-dev/*'],
      MinIndexRetention: '90d',
    });
    const days = rule(
      template(true, (raw) => (raw.firehoseTransform.search = { retentionDays: 14 })).resources,
    );
    expect(days.MinIndexRetention).toBe('14d');
  });

  it('creates none of it without the openSearch parameter', () => {
    // Act
    const { resources, functions } = template(false);
    // Assess
    expect(Object.keys(resources).filter((id) => /Collection|Search/.test(id))).toEqual([]);
    expect(functions).not.toHaveProperty('searchIndex');
  });
});

describe('the bucket lifecycle', () => {
  const rulesOf = (resources: Record<string, Resource>) =>
    (resources.SesEventsBucket as Resource).Properties.LifecycleConfiguration.Rules as RawConfig[];

  it('expires failed records and query results, moves delivered objects to Standard-IA, by default', () => {
    // Act
    const rules = rulesOf(template(true).resources);
    // Assess
    expect(rules).toEqual([
      { Id: 'FailedRecords', Status: 'Enabled', Prefix: 'errors/', ExpirationInDays: 30 },
      { Id: 'RefusedSearchDocuments', Status: 'Enabled', Prefix: 'opensearch-backup/', ExpirationInDays: 30 },
      { Id: 'QueryResults', Status: 'Enabled', Prefix: 'athena-results/', ExpirationInDays: 7 },
      {
        Id: 'DeliveredDocuments',
        Status: 'Enabled',
        Prefix: 'ses/',
        Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }],
      },
      {
        Id: 'IncompleteUploads',
        Status: 'Enabled',
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
      },
    ]);
  });

  it('takes its days from the config, with an optional expiry of delivered objects', () => {
    // Act
    const rules = rulesOf(
      template(false, (raw) => {
        raw.firehoseTransform.bucketLifecycle = {
          errorsExpireDays: 5,
          infrequentAccessAfterDays: null,
          expireDays: 400,
          queryResultsExpireDays: 2,
        };
      }).resources,
    );
    // Assess
    expect(rules.map((r) => [r.Id, r.ExpirationInDays, r.Transitions])).toEqual([
      ['FailedRecords', 5, undefined],
      ['QueryResults', 2, undefined],
      ['DeliveredDocuments', 400, undefined],
      ['IncompleteUploads', undefined, undefined],
    ]);
  });

  it.each([
    [{ infrequentAccessAfterDays: 10 }, 'bucketLifecycle.infrequentAccessAfterDays'],
    [{ infrequentAccessAfterDays: 60, expireDays: 60 }, 'bucketLifecycle.expireDays: must be more than'],
  ])('refuses %j, naming the key', (lifecycle, message) => {
    // Act / Assess
    expect(() => template(false, (raw) => (raw.firehoseTransform.bucketLifecycle = lifecycle))).toThrow(
      message,
    );
  });
});

describe('Athena over the S3 copy', () => {
  let resources: Record<string, Resource>;
  let outputs: Record<string, unknown>;
  let config: ReturnType<typeof template>['config'];
  let table: RawConfig;
  beforeEach(() => {
    ({ resources, outputs, config } = template(false));
    table = (resources.SesGlueTable as Resource).Properties.TableInput;
  });
  const BUCKET = 'ses-events-bucket';

  it('reads the gzip JSON lines Firehose writes, with a column for every described top-level field', () => {
    // Assess
    const storage = table.StorageDescriptor;
    expect(storage.SerdeInfo.SerializationLibrary).toBe('org.openx.data.jsonserde.JsonSerDe');
    expect(storage.SerdeInfo.Parameters).toEqual({ 'mapping.timestamp': '@timestamp' });
    expect(storage.InputFormat).toBe('org.apache.hadoop.mapred.TextInputFormat');
    expect(table.Parameters).toMatchObject({ classification: 'json', compressionType: 'gzip' });
    expect(subText(storage.Location, { SesEventsBucket: BUCKET })).toBe(`s3://${BUCKET}/ses/`);
    // eventType is the partition column of that name (the same value), so not a column again.
    const columns = storage.Columns.map((c: RawConfig) => c.Name);
    expect(columns).toEqual(
      Object.keys(SES_DOCUMENT.fields)
        .filter((f) => f !== 'eventType')
        .map((f) => f.toLowerCase().replace('@', '')),
    );
    expect((resources.SesGlueTable as Resource).Properties.DatabaseName).toEqual({ Ref: 'SesGlueDatabase' });
    expect(outputs.SesAthenaTable).toEqual({ Value: 'streaming_pipeline_dev.ses_events' });
  });

  it('covers the same fields as the OpenSearch mappings, with compatible types', () => {
    // Prepare: the Glue leaves, by document path (renamed columns mapped back).
    const renamed = table.StorageDescriptor.SerdeInfo.Parameters as Record<string, string>;
    const glue = new Map<string, string>();
    for (const column of table.StorageDescriptor.Columns as { Name: string; Type: string }[]) {
      const field =
        renamed[`mapping.${column.Name}`] ??
        (Object.keys(SES_DOCUMENT.fields).find((f) => f.toLowerCase() === column.Name) as string);
      for (const [path, type] of hiveLeaves(parseHive(column.Type), field))
        glue.set(path.toLowerCase(), type);
    }
    for (const key of table.PartitionKeys as { Name: string; Type: string }[]) glue.set(key.Name, key.Type);
    const body = JSON.parse((template(true).resources.SesSearchIndex as Resource).Properties.IndexBody);
    const search = mappingLeaves(body.mappings.properties);
    const kinds = describedLeaves(SES_DOCUMENT, '');
    // Act / Assess: the same paths, each with the types its kind allows in each store.
    expect([...glue.keys()].filter((p) => p !== 'date').sort()).toEqual(
      [...search.keys()].map((p) => p.toLowerCase()).sort(),
    );
    for (const [path, type] of search) {
      const kind = kinds.get(path) as string;
      expect(type, path).toBe(COMPATIBLE[kind]?.openSearch);
      expect(glue.get(path.toLowerCase()), path).toBe(COMPATIBLE[kind]?.hive);
    }
  });

  it('has a workgroup with encrypted results in the bucket, a scan limit, and three ready queries', () => {
    // Prepare
    const workgroup = (resources.SesAthenaWorkGroup as Resource).Properties;
    const queries = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Athena::NamedQuery');
    // Assess
    expect(workgroup.WorkGroupConfiguration).toMatchObject({
      EnforceWorkGroupConfiguration: true,
      BytesScannedCutoffPerQuery: 10 * 1024 ** 3,
      ResultConfiguration: { EncryptionConfiguration: { EncryptionOption: 'SSE_S3' } },
    });
    expect(
      subText(workgroup.WorkGroupConfiguration.ResultConfiguration.OutputLocation, {
        SesEventsBucket: BUCKET,
      }),
    ).toBe(`s3://${BUCKET}/athena-results/`);
    expect(queries.map(([, q]) => q.Properties.Name)).toEqual([
      'bounces-per-type-per-day',
      'top-complaining-recipient-domains',
      'click-through-per-link',
    ]);
    for (const [, query] of queries) {
      expect(query.Properties).toMatchObject({
        Database: 'streaming_pipeline_dev',
        WorkGroup: workgroup.Name,
      });
      expect(query.Properties.QueryString).toContain('FROM ses_events');
    }
    expect(outputs.SesAthenaWorkGroup).toEqual({ Value: workgroup.Name });
  });

  it('projects exactly the partitions the Firehose prefix writes, from the same partition keys', () => {
    // Prepare
    const template_ = subText(table.Parameters['storage.location.template'], { SesEventsBucket: BUCKET });
    const transform = config.firehoseTransform as NonNullable<typeof config.firehoseTransform>;
    // Assess: the delivery stream's prefix with each !{partitionKeyFromLambda:k} as ${k}.
    expect(template_).toBe(
      `s3://${BUCKET}/${partitionedPrefix(transform).replace(/!\{partitionKeyFromLambda:(\w+)\}/g, (_, k: string) => `\${${k.toLowerCase()}}`)}`,
    );
    expect(table.PartitionKeys).toEqual([
      { Name: 'eventtype', Type: 'string' },
      { Name: 'date', Type: 'string' },
    ]);
    expect(table.Parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.eventtype.type': 'enum',
      'projection.eventtype.values':
        'reject,bounce,complaint,delivery,open,click,rendering_failure,delivery_delay,subscription',
      'projection.date.type': 'date',
      'projection.date.format': 'yyyy-MM-dd',
    });
  });

  it('refuses a partition key whose column would clash with a document column of another value', () => {
    // Act / Assess
    expect(() =>
      template(false, (raw) => {
        raw.firehoseTransform.partitionKeys = { subject: { path: 'eventType' } };
      }),
    ).toThrow(
      /firehoseTransform\.partitionKeys\.subject: the Athena table would have two columns named subject/,
    );
  });

  it('is left out in json mode or when turned off', () => {
    // Act
    const off = template(false, (raw) => (raw.firehoseTransform.athena = { enabled: false })).resources;
    const json = template(true, (raw) => {
      raw.firehoseTransform.mode = 'json';
      delete raw.firehoseTransform.keepEventTypes;
    }).resources;
    // Assess: no table, and in json mode no described index (Firehose creates it as documents come).
    for (const resources of [off, json]) {
      expect(Object.keys(resources).filter((id) => /Glue|Athena|SesQuery/.test(id))).toEqual([]);
      expect(rulesOfIds(resources)).not.toContain('QueryResults');
    }
    expect(json).not.toHaveProperty('SesSearchIndex');
    expect(json).toHaveProperty('SesCollection');
  });
});

const rulesOfIds = (resources: Record<string, Resource>) =>
  ((resources.SesEventsBucket as Resource).Properties.LifecycleConfiguration.Rules as RawConfig[]).map(
    (r) => r.Id,
  );

/** A Java date format of Athena's projection (yyyy, MM, dd, HH and literals) as a regex. */
function javaDateFormat(format: string): RegExp {
  const parts = format
    .split(/(yyyy|MM|dd|HH)/)
    .map((part) =>
      /^(yyyy|MM|dd|HH)$/.test(part) ? `\\d{${part.length}}` : part.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'),
    );
  return new RegExp(`^${parts.join('')}$`);
}

describe('the projection against the folders the Firehose stand-in writes', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'ses-bucket-'));
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('finds every folder the samples are delivered to, and each folder holds only its own events', async () => {
    // Prepare: the dev template's projection, and the local run's Firehose stand-in.
    const { resources, config } = template(false, () => {}, 'local');
    const table = (resources.SesGlueTable as Resource).Properties.TableInput;
    const parameters = table.Parameters as Record<string, string>;
    const location = subText(table.Parameters['storage.location.template'], { SesEventsBucket: 'b' }).replace(
      's3://b/',
      '',
    );
    const transform = config.firehoseTransform as NonNullable<typeof config.firehoseTransform>;
    const deps = transformTestDeps(compileTransform(transform, TEST_HASH_KEY));
    // Act
    const counts = await deliver(
      sesTraffic(1),
      async (event: FirehoseTransformationEvent, context) =>
        transformBatch(event, { ...deps, remainingTimeMs: () => context.getRemainingTimeInMillis() }),
      () => lambdaContext('firehoseTransform', 60),
      {
        deliveryStreamArn: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/ses-events-local',
        region: 'us-east-1',
        bufferMiB: 1,
        prefix: partitionedPrefix(transform),
        outDir,
      },
    );
    // Assess: each folder is the template with projected values, and each value is one the
    // projection can produce (an enum value, a date in its format).
    const folders = counts.files
      .map((file) => relative(outDir, file))
      .filter((file) => !file.startsWith('errors/'))
      .map((file) => file.slice(0, file.lastIndexOf('/') + 1));
    expect(folders).toHaveLength(counts.ok > 0 ? new Set(folders).size : 0);
    expect(folders.length).toBe(9); // the nine kept types of the samples, on their days
    const columns = (table.PartitionKeys as { Name: string }[]).map((k) => k.Name);
    const pattern = new RegExp(
      `^${location.replace(/[.*+?^()|[\]\\]/g, '\\$&').replace(/\$\{(\w+)\}/g, '(?<$1>[^/]+)')}$`,
    );
    for (const folder of folders) {
      const match = pattern.exec(folder);
      expect(match, folder).not.toBeNull();
      const values = match?.groups as Record<string, string>;
      expect(Object.keys(values)).toEqual(columns);
      expect(parameters['projection.eventtype.values']?.split(',')).toContain(values.eventtype);
      expect(values.date).toMatch(javaDateFormat(parameters['projection.date.format'] as string));
      expect(location.replace(/\$\{(\w+)\}/g, (_, c: string) => values[c] as string)).toBe(folder);
      // Every document in the folder has the partition's own values.
      for (const file of readdirSync(join(outDir, folder))) {
        if (!statSync(join(outDir, folder, file)).isFile()) continue;
        for (const line of readFileSync(join(outDir, folder, file), 'utf8')
          .trim()
          .split('\n')) {
          const doc = JSON.parse(line);
          expect(doc.eventType).toBe(values.eventtype);
          expect(doc['@timestamp'].slice(0, 10)).toBe(values.date);
        }
      }
    }
  });
});

describe('the template with SES analytics', () => {
  it.each(['dev', 'prod', 'local'])(
    'matches the AWS resource specifications (%s, openSearch on)',
    (stage) => {
      // Act / Assess
      expect(specProblems({ Resources: template(true, () => {}, stage).resources })).toEqual([]);
    },
  );
});

describe('the README on SES analytics', () => {
  const readme = readFileSync('README.md', 'utf8');

  it('shows exactly the ready queries the workgroup is given', () => {
    // Prepare
    const { resources } = template(false);
    const saved = Object.values(resources)
      .filter((r) => r.Type === 'AWS::Athena::NamedQuery')
      .map((r) => r.Properties.QueryString as string);
    // Act
    const shown = [...readme.matchAll(/```sql\n([\s\S]*?)\n```/g)].map((m) => m[1]);
    // Assess
    expect(shown).toEqual(saved);
  });

  it('aggregates in OpenSearch only on fields the index can aggregate (keyword, date, ip)', () => {
    // Prepare
    const body = JSON.parse((template(true).resources.SesSearchIndex as Resource).Properties.IndexBody);
    const leaves = mappingLeaves(body.mappings.properties);
    const section = readme.slice(readme.indexOf('## SES analytics'), readme.indexOf('## Other commands'));
    // Act
    const fields = [...section.matchAll(/"field": "([^"]+)"/g)].map((m) => m[1] as string);
    const filtered = [...section.matchAll(/"term": \{"(\w+)"/g)].map((m) => m[1] as string);
    // Assess
    expect(fields.length).toBeGreaterThanOrEqual(6);
    for (const field of [...fields, ...filtered])
      expect(['keyword', 'date', 'ip'], field).toContain(leaves.get(field));
  });
});

describe('the Athena resources, exactly', () => {
  let resources: Record<string, Resource>;
  beforeEach(() => {
    ({ resources } = template(false));
  });

  it('has the database, the table settings and the workgroup as documented', () => {
    // Assess
    expect(resources.SesGlueDatabase).toEqual({
      Type: 'AWS::Glue::Database',
      Properties: {
        CatalogId: { Ref: 'AWS::AccountId' },
        DatabaseInput: {
          Name: 'streaming_pipeline_dev',
          Description: 'SES analytics (the S3 copy of SES events)',
        },
      },
    });
    const { Columns: _columns, ...storage } = (resources.SesGlueTable as Resource).Properties.TableInput
      .StorageDescriptor;
    expect(storage).toEqual({
      Location: { 'Fn::Sub': 's3://${SesEventsBucket}/ses/' },
      InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
      OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
      Compressed: true,
      SerdeInfo: {
        SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
        Parameters: { 'mapping.timestamp': '@timestamp' },
      },
    });
    const table = (resources.SesGlueTable as Resource).Properties;
    expect(table.CatalogId).toEqual({ Ref: 'AWS::AccountId' });
    expect(table.TableInput).toMatchObject({
      Name: 'ses_events',
      Description: 'SES events as the Firehose transform normalised them (the S3 copy)',
      TableType: 'EXTERNAL_TABLE',
      Parameters: { classification: 'json', compressionType: 'gzip', EXTERNAL: 'TRUE' },
    });
    expect(resources.SesAthenaWorkGroup).toEqual({
      Type: 'AWS::Athena::WorkGroup',
      Properties: {
        Name: 'streaming-pipeline-dev-ses',
        Description: 'Queries over the SES events table; results encrypted in the events bucket',
        RecursiveDeleteOption: true,
        WorkGroupConfiguration: {
          EnforceWorkGroupConfiguration: true,
          PublishCloudWatchMetricsEnabled: true,
          BytesScannedCutoffPerQuery: 10_737_418_240,
          EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
          ResultConfiguration: {
            OutputLocation: { 'Fn::Sub': 's3://${SesEventsBucket}/athena-results/' },
            EncryptionConfiguration: { EncryptionOption: 'SSE_S3' },
          },
        },
      },
    });
  });

  it('saves each ready query once the workgroup and the table exist', () => {
    // Assess
    expect(resources.SesQueryBouncesPerTypePerDay).toEqual({
      Type: 'AWS::Athena::NamedQuery',
      DependsOn: ['SesAthenaWorkGroup', 'SesGlueTable'],
      Properties: {
        Name: 'bounces-per-type-per-day',
        Description: 'Bounces per bounce type and sub-type, per day, last 30 days',
        Database: 'streaming_pipeline_dev',
        WorkGroup: 'streaming-pipeline-dev-ses',
        QueryString: expect.stringContaining('GROUP BY 1, 2, 3'),
      },
    });
    expect(resources.SesQueryTopComplainingDomains?.Properties.Description).toBe(
      'Recipient domains with the most complaints, last 30 days',
    );
    expect(resources.SesQueryClickThroughPerLink?.Properties.Description).toBe(
      'Clicks per link, and the share of delivered messages that clicked it, last 30 days',
    );
  });

  it('reads the day from the timestamp when there is no date partition, and takes the scan limit from the config', () => {
    // Act
    const { resources: other } = template(false, (raw) => {
      raw.firehoseTransform.partitionKeys = { eventType: { path: 'eventType' } };
      raw.firehoseTransform.athena = { bytesScannedCutoffGiB: 2, table: 'mail_events' };
    });
    // Assess
    const sql = other.SesQueryBouncesPerTypePerDay?.Properties.QueryString as string;
    expect(sql).toContain(`SELECT substr("timestamp", 1, 10) AS day`);
    expect(sql).toContain('FROM mail_events');
    expect(other.SesAthenaWorkGroup?.Properties.WorkGroupConfiguration.BytesScannedCutoffPerQuery).toBe(
      2 * 1024 ** 3,
    );
  });

  it('makes Glue and Athena names of any service and stage', () => {
    // Prepare
    const raw = structuredClone(readRawConfig()) as RawConfig;
    const params = stageParams(readStages(), 'dev');
    const { config } = checkConfig(raw, { stage: 'Dev-2', params });
    // Act
    const infra = buildInfra({
      service: 'My-Pipeline',
      stage: 'Dev-2',
      raw,
      config,
      params,
      functionParams: {},
    });
    const built = infra.resources.Resources as Record<string, Resource>;
    // Assess
    expect(built.SesGlueDatabase?.Properties.DatabaseInput.Name).toBe('my_pipeline_dev_2');
    expect(built.SesAthenaWorkGroup?.Properties.Name).toBe('My-Pipeline-Dev-2-ses');
  });

  it('has no delivered-documents rule when they neither move nor expire', () => {
    // Act
    const ids = rulesOfIds(
      template(false, (raw) => (raw.firehoseTransform.bucketLifecycle = { infrequentAccessAfterDays: null }))
        .resources,
    );
    // Assess
    expect(ids).toEqual(['FailedRecords', 'QueryResults', 'IncompleteUploads']);
  });
});
