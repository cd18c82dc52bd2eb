/**
 * The one schema for the bundle's config file (config/pipeline.json).
 *
 * It validates the file, gives the code its types (`z.infer`), and is exported as a
 * JSON Schema for editors (config/pipeline.schema.json). Every object is strict, so a
 * misspelt key is an error that names its path rather than a setting silently ignored.
 */
import * as z from 'zod';
import { filterPatternIssues } from '../filter-pattern.js';
import { DEFAULT_MAX_RECORD_SIZE_KIB, MAX_MAX_RECORD_SIZE_KIB, SES_EVENT_TYPES } from './constants.js';

export {
  DEFAULT_MAX_RECORD_SIZE_KIB,
  MAX_MAX_RECORD_SIZE_KIB,
  SES_EVENT_TYPES,
  type SesEventType,
} from './constants.js';

const queueArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$/,
    'must be an SQS queue ARN (arn:aws:sqs:<region>:<account>:<queue>)',
  );

const streamName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be a Kinesis stream name (1-128 of A-Z a-z 0-9 _ . -)');

const streamArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream\/[A-Za-z0-9_.-]{1,128}$/,
    'must be a Kinesis stream ARN (arn:aws:kinesis:<region>:<account>:stream/<name>)',
  );

/** A target is a stream declared in `streams` (by name) or an existing stream elsewhere (by ARN). */
const streamRef = z.union([streamArn, streamName], {
  error: 'must be a Kinesis stream name or stream ARN',
});

const streamCapacity = z
  .discriminatedUnion('mode', [
    z.strictObject({
      mode: z.literal('PROVISIONED'),
      shards: z.int().min(1).max(10_000).describe('Number of shards.'),
    }),
    z.strictObject({ mode: z.literal('ON_DEMAND') }),
  ])
  .describe('`PROVISIONED` with a number of shards, or `ON_DEMAND`.');

const streamSettings = {
  capacity: streamCapacity.default({ mode: 'PROVISIONED', shards: 1 }),
  retentionHours: z.int().min(24).max(8760).default(24).describe('How long the stream keeps records.'),
  maxRecordSizeKiB: z
    .int()
    .min(DEFAULT_MAX_RECORD_SIZE_KIB)
    .max(MAX_MAX_RECORD_SIZE_KIB)
    .default(DEFAULT_MAX_RECORD_SIZE_KIB)
    .describe('Largest record (data + partition key) the stream accepts, 1024-10240 KiB.'),
};

/** The KPL's own default for an aggregated record's size (AggregationMaxSize), 50 KiB. */
export const DEFAULT_AGGREGATED_RECORD_BYTES = 51_200;

const aggregationSchema = z
  .strictObject({
    format: z.literal('kpl').describe('KPL aggregated records (the only format).'),
    maxRecordBytes: z
      .int()
      .min(1024)
      .max(MAX_MAX_RECORD_SIZE_KIB * 1024)
      .default(DEFAULT_AGGREGATED_RECORD_BYTES)
      .describe(
        "Largest aggregated record, its partition key included; at most the stream's maxRecordSizeKiB. A smaller record fails fewer messages together.",
      ),
    maxUserRecords: z
      .int()
      .min(2)
      .max(100_000)
      .default(1000)
      .describe('Most messages in one aggregated record.'),
    shardMapTtlSeconds: z
      .int()
      .min(1)
      .max(3600)
      .default(60)
      .describe(
        "How long a function trusts the stream's shard map (ListShards) before reading it again; a record landing on another shard drops it at once.",
      ),
  })
  .describe(
    "Writes to this stream pack messages into KPL aggregated records, per shard, each message on its own key's shard. Consumers must de-aggregate (the KCL, aws-kinesis-agg, Firehose, this bundle's aggregator). Off when omitted.",
  );

export const streamSchema = z
  .strictObject({ ...streamSettings, aggregation: aggregationSchema.optional() })
  .describe('A Kinesis stream this stack creates (KMS-encrypted).');

/** A function's timeout and memory, with its own defaults. */
function lambdaSettings(timeoutSeconds: number, memorySize: number) {
  return {
    timeoutSeconds: z.int().min(1).max(900).default(timeoutSeconds).describe('Function timeout, 1-900 s.'),
    memorySize: z.int().min(128).max(10_240).default(memorySize).describe('Function memory, 128-10240 MB.'),
  };
}

/** A dotted path into a JSON object: `user.id`, `items.0.sku`. */
export const jsonPath = z
  .string()
  .regex(/^[^.\s]+(\.[^.\s]+)*$/, 'must be a dotted path such as "user.id" (no empty segments or spaces)')
  .max(512);

export const partitionKeySchema = z
  .discriminatedUnion('from', [
    z.strictObject({ from: z.literal('messageId') }),
    z.strictObject({ from: z.literal('messageGroupId') }),
    z.strictObject({ from: z.literal('body'), path: jsonPath }),
    z.strictObject({
      from: z.literal('attribute'),
      name: z
        .string()
        .regex(
          /^[A-Za-z0-9_.-]{1,256}$/,
          'must be an SQS message attribute name (1-256 of A-Z a-z 0-9 _ - .)',
        ),
    }),
  ])
  .describe('Where the Kinesis partition key comes from; the messageId when omitted.');

export const METADATA_FIELDS = [
  'queueArn',
  'messageId',
  'sentTimestamp',
  'approximateReceiveCount',
  'messageGroupId',
] as const;
export type MetadataField = (typeof METADATA_FIELDS)[number];

const outputField = z.string().min(1).max(256);

export const bodySchema = z.discriminatedUnion('format', [
  z
    .strictObject({
      format: z.literal('json'),
      keep: z.array(jsonPath).min(1).optional().describe('Only these paths are kept (before renaming).'),
      rename: z
        .record(jsonPath, outputField)
        .optional()
        .describe('Top-level output field names, by input path.'),
      addMetadata: z
        .partialRecord(z.enum(METADATA_FIELDS), outputField)
        .optional()
        .describe('Source metadata to add, as metadata name -> output field name.'),
    })
    .describe('The body must be a JSON object; it is reshaped and written as JSON.'),
  z.strictObject({ format: z.literal('raw') }).describe('The body is written byte for byte, unparsed.'),
]);

export const sqsEventSourceSchema = z.strictObject({
  batchSize: z
    .int()
    .min(1)
    .max(10_000)
    .default(10)
    .describe('Messages per invocation; a FIFO queue takes at most 10, over 10 needs a batching window.'),
  maximumBatchingWindowInSeconds: z.int().min(0).max(300).optional().describe('Not on a FIFO queue.'),
  maximumConcurrency: z
    .int()
    .min(2)
    .max(1000)
    .optional()
    .describe('Most concurrent invocations for this queue.'),
});

export const routeSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 -')
    .optional()
    .describe('Short name used in metrics and logs; the queue name when omitted.'),
  queueArn: queueArn.describe('The source queue, in any account; `.fifo` marks a FIFO queue.'),
  visibilityTimeoutSeconds: z
    .int()
    .min(0)
    .max(43_200)
    .describe(
      "The queue's VisibilityTimeout as set on the queue: at least the function timeout (AWS refuses less); under 6x it is a warning.",
    ),
  kmsKeyArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:kms:/, 'must be a KMS key ARN')
    .optional()
    .describe('Customer-managed key the queue is encrypted with (grants kms:Decrypt).'),
  createQueue: z
    .strictObject({
      retentionDays: z.int().min(1).max(14).default(4).describe('How long the queue keeps a message.'),
      maxReceiveCount: z
        .int()
        .min(1)
        .max(1000)
        .default(10)
        .describe('Receives before SQS moves a message to the dead-letter queue (kept 14 days, alarmed).'),
    })
    .optional()
    .describe(
      'The stack creates the queue (in its own account and region, named as in queueArn), encrypted, with its visibility timeout and an SQS dead-letter queue. Omitted: the queue must exist before the deploy.',
    ),
  target: streamRef.describe("A stream declared under `streams` (by name), or an existing stream's ARN."),
  partitionKey: partitionKeySchema.default({ from: 'messageId' }),
  body: bodySchema
    .default({ format: 'json' })
    .describe('How the body is written: `json` (checked, optionally reshaped) or `raw` (bytes as received).'),
  eventSource: sqsEventSourceSchema.prefault({}).describe("The queue's Lambda event source."),
  filter: z
    .strictObject({
      patterns: z
        .array(z.record(z.string(), z.unknown()))
        .min(1)
        .describe('Lambda event filter patterns (AWS syntax); a message is kept when any one matches.'),
      where: z
        .enum(['source', 'function'])
        .default('source')
        .describe(
          '`source`: the event source filters (on `body` only); a message that does not match is deleted from the queue, never delivered or counted by the function. `function`: the function acknowledges it and counts it as `filtered` (patterns may also read `attributes` and `messageAttributes`).',
        ),
    })
    .superRefine((filter, ctx) => {
      const fields = filter.where === 'source' ? ['body'] : ['body', 'attributes', 'messageAttributes'];
      for (const issue of filterPatternIssues(filter.patterns, 'patterns', fields)) {
        const [path, ...message] = issue.split(': ');
        ctx.addIssue({
          code: 'custom',
          message: message.join(': '),
          path: (path as string)
            .split(/\.|\[|\]\.?/)
            .filter(Boolean)
            .map((p) => (/^\d+$/.test(p) ? Number(p) : p)),
        });
      }
    })
    .optional()
    .describe('Which messages of the queue reach the mapper (all when omitted).'),
});

export const dlqSchema = z.strictObject({
  stream: streamName.describe('Name of the dead-letter stream (DLQStream) this stack creates.'),
  settings: z
    .strictObject(streamSettings)
    .prefault({ retentionHours: 168, maxRecordSizeKiB: 2048 })
    .describe('Its capacity, retention and largest record, as for `streams`.'),
  alarm: z
    .strictObject({
      threshold: z.int().min(1).default(1).describe('Records that raise the alarm within one period.'),
      periodSeconds: z.union([z.literal(60), z.literal(300), z.literal(900), z.literal(3600)]).default(300),
    })
    .prefault({})
    .describe("An alarm on the DLQ stream's IncomingRecords, to the alarm topic."),
});

/** Alarms on every place data can wait, and on every function (see infra/watch.ts). */
export const alarmsSchema = z.strictObject({
  periodSeconds: z
    .union([z.literal(60), z.literal(300), z.literal(900), z.literal(3600)])
    .default(300)
    .describe('The period every alarm below is evaluated over.'),
  queueMessages: z
    .int()
    .min(1)
    .default(1)
    .describe('Messages waiting in a failure queue (dead-letter or on-failure) that raise its alarm.'),
  functionErrors: z
    .int()
    .min(1)
    .default(1)
    .describe("A function's errors within one period that raise its alarm."),
  sourceQueueAgeSeconds: z
    .int()
    .min(60)
    .max(1_209_600)
    .default(900)
    .describe('Age of the oldest message in a source queue the stack creates that raises its alarm.'),
  functionThrottles: z
    .int()
    .min(1)
    .default(1)
    .describe("A function's throttled invocations within one period that raise its alarm."),
  iteratorAgeShare: z
    .number()
    .gt(0)
    .max(1)
    .default(0.5)
    .describe(
      "The aggregator's iterator age that raises its alarm, as a share of how long a record can wait: its maximum record age, else its stream's retention.",
    ),
  deliveryFreshnessSeconds: z
    .int()
    .min(60)
    .max(86_400)
    .default(900)
    .describe(
      "Age of the oldest record not yet delivered by a Firehose stream that raises its alarm; never below the stream's own buffering time plus 60 s.",
    ),
});

export const sqsToKinesisSchema = z.strictObject({
  ...lambdaSettings(30, 512),
  routes: z.array(routeSchema).min(1).describe('One per source queue.'),
});

/** A dotted path where `*` stands for every element of an array (or value of an object). */
export const wildcardPath = z
  .string()
  .regex(/^[^.\s]+(\.[^.\s]+)*$/, 'must be a dotted path such as "mail.destination.*" (no empty segments)')
  .max(512);

export const firehosePartitionKeySchema = z.strictObject({
  path: jsonPath.describe('Path into the output document.'),
  as: z
    .enum(['value', 'date', 'year', 'month', 'day', 'hour'])
    .default('value')
    .describe('`value` as is, or a part of the timestamp found at the path (UTC).'),
});

/** Who may read the OpenSearch collection: IAM roles and users, or SAML users and groups. */
const searchReader = z
  .string()
  .regex(
    /^(arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]{1,512}|saml\/\d{12}\/[\w+=,.@-]{1,128}\/(user|group)\/[^*\s$]{1,256})$/,
    'must be an IAM role or user ARN, or saml/<account>/<provider>/(user|group)/<name>, with no wildcard',
  );

/** The delivery bucket's lifecycle rules (S3 copy of every document, failed records). */
export const bucketLifecycleSchema = z
  .strictObject({
    errorsExpireDays: z
      .int()
      .min(1)
      .max(3650)
      .default(30)
      .describe('Days before failed records (errors/, and documents OpenSearch refused) are deleted.'),
    infrequentAccessAfterDays: z
      .int()
      .min(30)
      .max(3650)
      .nullable()
      .default(30)
      .describe(
        'Days before delivered objects move to S3 Standard-IA (S3 requires 30 or more); null: never.',
      ),
    expireDays: z
      .int()
      .min(1)
      .max(36_500)
      .optional()
      .describe('Days before delivered objects are deleted; kept until you delete them when omitted.'),
    queryResultsExpireDays: z
      .int()
      .min(1)
      .max(3650)
      .default(7)
      .describe("Days before Athena's query results (athena-results/) are deleted."),
  })
  .refine(
    (rules) =>
      rules.expireDays === undefined ||
      rules.infrequentAccessAfterDays === null ||
      rules.expireDays > rules.infrequentAccessAfterDays,
    {
      message: 'must be more than infrequentAccessAfterDays (S3 expires after it transitions)',
      path: ['expireDays'],
    },
  );

/** The OpenSearch Serverless collection (stage parameter `openSearch=true`). */
export const searchSchema = z.strictObject({
  readers: z
    .array(searchReader)
    .max(100)
    .default([])
    .describe("Principals given read access to the index and the collection's dashboards."),
  network: z
    .discriminatedUnion(
      'access',
      [
        z
          .strictObject({ access: z.literal('public') })
          .describe('`public`: reachable from the internet (IAM still applies).'),
        z
          .strictObject({
            access: z.literal('vpc'),
            vpcEndpoints: z
              .array(
                z
                  .string()
                  .regex(
                    /^vpce-[0-9a-z]{1,64}$/,
                    'must be an OpenSearch Serverless VPC endpoint id (vpce-...)',
                  ),
              )
              .min(1),
          })
          .describe('`vpc`: reachable only through these OpenSearch Serverless VPC endpoints.'),
      ],
      { error: 'must be "public" (the default) or "vpc"' },
    )
    .default({ access: 'public' })
    .describe('Where the collection and its dashboards can be reached from.'),
  retentionDays: z
    .int()
    .min(1)
    .max(3650)
    .default(90)
    .describe('Days each document is kept at least (the collection lifecycle policy), then deleted.'),
});

/** What both modes of the Firehose transform share. */
const firehoseCommon = {
  ...lambdaSettings(60, 1024),
  remove: z.array(wildcardPath).default([]).describe('Paths removed from the output (after normalisation).'),
  hash: z
    .array(wildcardPath)
    .default([])
    .describe(
      'Paths whose string values are replaced by a keyed hash (HMAC-SHA256), joinable but unreadable.',
    ),
  hashKeyParameter: z
    .string()
    .regex(/^\/[A-Za-z0-9_./-]{1,1010}$/, 'must be an SSM parameter name starting with "/"')
    .optional()
    .describe('SSM SecureString holding the hash key (read through Powertools Parameters, decrypted).'),
  hashKeyMaxAgeSeconds: z
    .int()
    .min(1)
    .max(86_400)
    .default(300)
    .describe(
      'How long the hash key read from SSM is used before it is read again, so a rotated key is picked up.',
    ),
  appendNewline: z.boolean().default(true).describe('End each output record with a newline (S3, Athena).'),
  partitionKeys: z
    .record(
      z.string().regex(/^[A-Za-z0-9_]{1,64}$/, 'must be 1-64 of A-Z a-z 0-9 _'),
      firehosePartitionKeySchema,
    )
    .optional()
    .describe('Dynamic-partitioning keys added to each Ok record (metadata.partitionKeys).'),
  deliveryStream: z.strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a delivery stream name (1-64 of A-Z a-z 0-9 _ . -)')
      .describe('The Direct PUT delivery stream this stack creates.'),
    processorBuffer: z
      .strictObject({
        sizeMiB: z.number().min(0.2).max(3).default(1),
        intervalSeconds: z.int().min(0).max(900).default(60),
      })
      .prefault({})
      .describe("The Lambda processor's buffer hints."),
    s3Buffer: z
      .strictObject({
        sizeMiB: z.int().min(1).max(128).default(64),
        intervalSeconds: z.int().min(0).max(900).default(300),
      })
      .prefault({})
      .describe('S3 buffer hints; at least 64 MiB with partition keys.'),
    prefix: z.string().max(512).default('events/').describe('S3 prefix of the delivered objects.'),
  }),
  bucketLifecycle: bucketLifecycleSchema.prefault({}).describe("The delivery bucket's lifecycle rules."),
  search: searchSchema
    .prefault({})
    .describe('The OpenSearch Serverless collection, when the stage parameter openSearch is true.'),
};

export const firehoseTransformSchema = z.discriminatedUnion(
  'mode',
  [
    z
      .strictObject({
        mode: z.literal('ses').default('ses'),
        keepEventTypes: z
          .array(z.enum(SES_EVENT_TYPES))
          .min(1)
          .optional()
          .describe('The event types kept; others are Dropped. All when omitted.'),
        athena: z
          .strictObject({
            enabled: z
              .boolean()
              .default(true)
              .describe('Create the Glue database and table, and the workgroup.'),
            table: z
              .string()
              .regex(/^[a-z][a-z0-9_]{0,254}$/, 'must be a lower-case Glue table name (a-z 0-9 _)')
              .default('ses_events'),
            bytesScannedCutoffGiB: z
              .int()
              .min(1)
              .max(1_000_000)
              .default(10)
              .describe('The workgroup cancels a query that would scan more than this.'),
          })
          .prefault({})
          .describe('An Athena table over the S3 copy (partition projection) and a workgroup to query it.'),
        ...firehoseCommon,
      })
      .describe('`ses` (the default): SES event normalisation.'),
    z
      .strictObject({
        mode: z.literal('json'),
        json: z
          .strictObject({
            keep: z.array(jsonPath).min(1).optional(),
            rename: z.record(jsonPath, outputField).optional(),
            drop: z.array(jsonPath).min(1).optional(),
            timestampPath: jsonPath
              .optional()
              .describe('Where to read @timestamp from (ISO string or epoch ms).'),
          })
          .optional()
          .describe('How to reshape each object.'),
        ...firehoseCommon,
      })
      .describe('`json`: any JSON object.'),
  ],
  { error: 'must be "ses" (the default) or "json"' },
);

/** EventBridge names: sources and detail-types (1-256, no wildcards), buses, account ids. */
const eventSource = z
  .string()
  .regex(
    /^[A-Za-z0-9_.\-/:]{1,256}$/,
    'must be an exact event source (1-256 of A-Z a-z 0-9 _ . - / :), no wildcards',
  );
const detailType = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^*]+$/, 'must be an exact detail-type, no wildcards');
const busName = z.string().regex(/^[A-Za-z0-9_.\-/]{1,256}$/, 'must be an event bus name');
const busArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[A-Za-z0-9_.\-/]{1,256}$/,
    'must be an event bus ARN',
  );
const accountId = z.string().regex(/^\d{12}$/, 'must be a 12-digit account id');

export const eventValidatorSchema = z.strictObject({
  ...lambdaSettings(30, 512),
  outputPrefix: z
    .string()
    .regex(/^[a-z0-9-]+\.$/, 'must be lower-case letters, digits or - and end with "."')
    .default('valid.')
    .describe('Republished events get the source <outputPrefix><source>, unless a source sets outputSource.'),
  centralBus: z.strictObject({
    name: busName.describe('The bus this stack creates; producers put events on it.'),
    producerAccounts: z
      .array(
        z.union([
          accountId.describe('May put events of every configured input source.'),
          z.strictObject({
            account: accountId,
            sources: z.array(eventSource).min(1).describe('The configured input sources it may put.'),
          }),
        ]),
      )
      .default([])
      .describe(
        'Accounts allowed to put events on the bus, each limited (events:source) to configured input sources: never an output source.',
      ),
  }),
  sources: z
    .record(
      eventSource,
      z.strictObject({
        outputSource: eventSource
          .optional()
          .describe('The republished source; `<outputPrefix><source>` by default.'),
        targetBus: z
          .union([busArn, busName])
          .optional()
          .describe('Where valid events go; the central bus by default.'),
        detailTypes: z.record(
          detailType,
          z.strictObject({
            schema: z
              .string()
              .regex(
                /^config\/schemas\/[A-Za-z0-9_.\-/]+\.json$/,
                'must be a .json file under config/schemas/',
              )
              .describe('A JSON Schema file (draft 2020-12 or draft-07, by its `$schema`).'),
          }),
        ),
        unknownDetailType: z
          .enum(['reject', 'accept', 'ignore'])
          .default('reject')
          .describe(
            'An event whose detail-type has no schema. reject: the input rule takes every detail-type and the function sends it to the DLQ stream (NO_SCHEMA). accept: republished unchecked. ignore: the input rule lists only the configured detail-types, so EventBridge drops the others without a trace (a deliberate drop).',
          ),
      }),
    )
    .refine((sources) => Object.keys(sources).length > 0, 'must name at least one source')
    .describe('Exact input sources to validate (no wildcards, never `aws.`), each with its schemas.'),
  consumers: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[A-Za-z0-9-]{1,40}$/, 'must be 1-40 of A-Z a-z 0-9 -'),
        busArn,
        sources: z.array(eventSource).min(1).describe('Output sources forwarded to this bus.'),
      }),
    )
    .default([])
    .describe('Forwarding rules, each to a bus in another account.'),
  ruleTarget: z
    .strictObject({
      maximumRetryAttempts: z.int().min(0).max(185).default(185),
      maximumEventAgeSeconds: z.int().min(60).max(86_400).default(86_400),
    })
    .prefault({})
    .describe("The input rules' retry policy towards the function."),
});

const where = z
  .strictObject({ path: jsonPath, equals: z.union([z.string(), z.number(), z.boolean()]) })
  .describe('Only records whose value at `path` equals `equals`.');

export const aggregateMetricSchema = z
  .discriminatedUnion('op', [
    z.strictObject({ op: z.literal('count'), where: where.optional() }),
    z.strictObject({
      op: z.enum(['sum', 'min', 'max', 'first', 'last', 'mean']),
      path: jsonPath.describe('A numeric field.'),
      where: where.optional(),
    }),
    z.strictObject({
      op: z.literal('weightedMean'),
      path: jsonPath.describe('The value (a price).'),
      weight: jsonPath.describe('Its weight (a quantity): VWAP = sum(value x weight) / sum(weight).'),
      where: where.optional(),
    }),
    z.strictObject({
      op: z.literal('top'),
      by: jsonPath.describe('The record with the largest value here wins.'),
      fields: z.array(jsonPath).min(1).max(20).describe('What to keep of the winning record.'),
      where: where.optional(),
    }),
    z.strictObject({
      op: z.literal('countBy'),
      path: jsonPath.describe('A categorical field.'),
      where: where.optional(),
    }),
  ])
  .describe(
    '`count`; `sum`, `min`, `max`, `first`, `last`, `mean` of a `path`; `weightedMean` of `path` by `weight` (VWAP); `top` by a field, keeping `fields`; `countBy` a categorical `path`.',
  );

export const kinesisAggregatorSchema = z.strictObject({
  ...lambdaSettings(60, 1024),
  input: z
    .strictObject({
      stream: streamRef.describe('The stream read, declared under `streams` or by ARN.'),
      batchSize: z.int().min(1).max(10_000).default(1000),
      startingPosition: z.enum(['LATEST', 'TRIM_HORIZON']).default('LATEST'),
      tumblingWindowInSeconds: z.int().min(1).max(900).default(60),
      bisectBatchOnFunctionError: z.boolean().default(true),
      maximumRetryAttempts: z.int().min(-1).max(10_000).default(10),
      maximumRecordAgeInSeconds: z.union([z.literal(-1), z.int().min(60).max(604_800)]).default(3600),
      parallelizationFactor: z.int().min(1).max(10).default(1),
    })
    .describe('The Kinesis event source: batch, starting position, tumbling window, retries.'),
  output: z.strictObject({ stream: streamRef.describe('Where results go; not the input stream.') }),
  groupBy: jsonPath.describe('The group key of each record (a ticker).'),
  filter: where.optional().describe('Records that do not match are skipped (counted, not errors).'),
  metrics: z
    .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'must be an identifier'), aggregateMetricSchema)
    .refine((metrics) => Object.keys(metrics).length > 0, 'must name at least one metric')
    .describe('Per group and window, by output name; each may have a `where`.'),
  state: z
    .strictObject({
      maxBytes: z
        .int()
        .min(10_000)
        .max(1_000_000)
        .default(900_000)
        .describe('Serialised state budget per shard (Lambda ends the window early past 1 MB).'),
      keepBy: z
        .string()
        .optional()
        .describe('Metric that ranks groups when some must go (their record count by default).'),
    })
    .prefault({}),
});

export const configSchema = z
  .strictObject({
    $schema: z.string().optional(),
    metricsNamespace: z
      .string()
      .min(1)
      .max(255)
      .default('StreamingPipeline')
      .describe('CloudWatch namespace of the EMF metrics.'),
    streams: z
      .record(streamName, streamSchema)
      .default({})
      .describe('Kinesis streams this stack creates, by name.'),
    dlq: dlqSchema.describe('The dead-letter stream every handler writes to.'),
    alarms: alarmsSchema
      .prefault({})
      .describe(
        'Alarms on failure queues, functions, the aggregator and the Firehose delivery, to the alarm topic.',
      ),
    sqsToKinesis: sqsToKinesisSchema.optional().describe('The SQS to Kinesis mapper.'),
    firehoseTransform: firehoseTransformSchema
      .optional()
      .describe("The Firehose delivery stream's transform."),
    eventValidator: eventValidatorSchema
      .optional()
      .describe('The EventBridge validator and its central bus.'),
    kinesisAggregator: kinesisAggregatorSchema.optional().describe('The tumbling-window aggregator.'),
  })
  .describe('Configuration of the streaming-pipeline bundle: one file for every handler.');

export type PipelineConfig = z.infer<typeof configSchema>;
export type RawPipelineConfig = z.input<typeof configSchema>;
export type Route = z.infer<typeof routeSchema>;
export type PartitionKeyRule = z.infer<typeof partitionKeySchema>;
export type BodyRule = z.infer<typeof bodySchema>;
export type StreamSettings = z.infer<typeof streamSchema>;
export type SqsToKinesisConfig = z.infer<typeof sqsToKinesisSchema>;
export type FirehoseTransformConfig = z.infer<typeof firehoseTransformSchema>;
export type EventValidatorConfig = z.infer<typeof eventValidatorSchema>;
export type KinesisAggregatorConfig = z.infer<typeof kinesisAggregatorSchema>;
export type AggregateMetric = z.infer<typeof aggregateMetricSchema>;
