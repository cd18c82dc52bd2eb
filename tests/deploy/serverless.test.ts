/**
 * What `serverless package` produces from the config, checked as CloudFormation, and
 * `serverless invoke local` run against the emulators. One file, so the two never share
 * the .esbuild folder at the same time.
 */
import { type ExecFileOptions, execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStreams } from '../../local/provision.js';
import { type LocalSession, startLocalSession } from '../../local/session.js';
import { readStream } from '../../local/stream-reader.js';
import { loadStageConfig } from '../../tools/lib/config-files.js';
import { specProblems } from '../helpers/cfn-spec.js';
import { loadEvent, type RawConfig } from '../helpers/fixtures.js';
import { packagedFunctions, placesWithoutAlarm } from '../helpers/watched.js';

const execFileAsync = promisify(execFile);
/** Every child gets a deadline, so a hung `serverless` never outlives the test run. */
async function run(file: string, args: string[], options: ExecFileOptions = {}) {
  const { stdout, stderr } = await execFileAsync(file, args, {
    timeout: 100_000,
    killSignal: 'SIGKILL',
    ...options,
    encoding: 'utf8',
  });
  return { stdout: String(stdout), stderr: String(stderr) };
}
const serverless = join(process.cwd(), 'node_modules/.bin/serverless');
const ROOT = process.cwd();

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are read as loose JSON here.
type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: unknown };
type Template = { Resources: Record<string, Resource> };
type Statement = { Sid?: string; Effect: string; Action: string[] | string; Resource: unknown[] };

let outDir: string;
let template: Template;
const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'sls-package-'));
  rmSync(join(ROOT, '.esbuild'), { recursive: true, force: true });
  // With the OpenSearch delivery, so that every resource and function is packaged.
  await run(serverless, ['package', '--stage', 'dev', '--param', 'openSearch=true', '--package', outDir], {
    cwd: ROOT,
    env: { ...process.env, SLS_TELEMETRY_DISABLED: '1' },
  });
  template = JSON.parse(readFileSync(join(outDir, 'cloudformation-template-update-stack.json'), 'utf8'));
}, 120_000);

describe('serverless package', () => {
  const config = loadStageConfig('dev').config;
  const routes = config.sqsToKinesis?.routes ?? [];
  /** The sample config's own-account queues are created by the stack (createQueue). */
  const CREATED: Record<string, string> = { 'page-visits': 'PageVisitsQueue', orders: 'OrdersQueue' };
  const queueRef = (route: (typeof routes)[number]) =>
    route.createQueue ? { 'Fn::GetAtt': [CREATED[route.name as string], 'Arn'] } : route.queueArn;

  it('has one SQS event source per configured queue, with the configured batch settings', () => {
    // Act
    const mappings = ofType('AWS::Lambda::EventSourceMapping')
      .map(([, r]) => r.Properties)
      .filter((m) => JSON.stringify(m.FunctionName).includes('SqsToKinesisLambdaFunction'));
    // Assess: the queues the stack creates are read through their attribute, the others by ARN.
    const source = JSON.stringify;
    expect(mappings.map((m) => source(m.EventSourceArn)).sort()).toEqual(
      routes.map((r) => source(queueRef(r))).sort(),
    );
    for (const route of routes) {
      const mapping = mappings.find((m) => source(m.EventSourceArn) === source(queueRef(route)));
      expect(mapping?.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      expect(mapping?.BatchSize).toBe(route.eventSource.batchSize);
      expect(mapping?.MaximumBatchingWindowInSeconds).toBe(route.eventSource.maximumBatchingWindowInSeconds);
      expect(mapping?.ScalingConfig?.MaximumConcurrency).toBe(route.eventSource.maximumConcurrency);
      // Source filters become the mapping's FilterCriteria; function-side ones stay in the function.
      const atSource = route.filter?.where === 'source' ? route.filter.patterns : undefined;
      expect(mapping?.FilterCriteria, route.name).toEqual(
        atSource ? { Filters: atSource.map((pattern) => ({ Pattern: JSON.stringify(pattern) })) } : undefined,
      );
    }
    expect(routes.map((r) => r.filter?.where)).toEqual(['function', 'source', undefined]);
  });

  it('creates the target streams and DLQStream, KMS-encrypted, sized from the config', () => {
    // Act
    const streams = Object.fromEntries(ofType('AWS::Kinesis::Stream').map(([id, r]) => [id, r.Properties]));
    // Assess
    expect(Object.keys(streams).sort()).toEqual([
      'ClicksStream',
      'DLQStream',
      'OrdersStream',
      'PageVisitsStream',
      'StockTradesStream',
      'TradeStatsStream',
    ]);
    for (const stream of Object.values(streams)) {
      expect(stream.StreamEncryption).toEqual({ EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' });
    }
    expect(streams.DLQStream).toMatchObject({
      Name: 'pipeline-dlq-dev',
      MaxRecordSizeInKiB: 2048,
      ShardCount: 1,
    });
    expect(streams.PageVisitsStream).toMatchObject({ Name: 'page-visits-dev', ShardCount: 2 });
    expect(streams.ClicksStream).toMatchObject({ StreamModeDetails: { StreamMode: 'ON_DEMAND' } });
    expect(streams.ClicksStream?.ShardCount).toBeUndefined();
  });

  it("alarms on DLQStream's IncomingRecords to an encrypted SNS topic", () => {
    // Act
    const [[, alarm]] = ofType('AWS::CloudWatch::Alarm') as [[string, Resource]];
    // Assess
    expect(alarm.Properties).toMatchObject({
      Namespace: 'AWS/Kinesis',
      MetricName: 'IncomingRecords',
      Dimensions: [{ Name: 'StreamName', Value: { Ref: 'DLQStream' } }],
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      AlarmActions: [{ Ref: 'AlarmTopic' }],
    });
    expect(template.Resources.AlarmTopic?.Properties.KmsMasterKeyId).toEqual({ Ref: 'AlarmTopicKey' });
    const keyPolicy = template.Resources.AlarmTopicKey?.Properties.KeyPolicy.Statement as Statement[];
    expect(keyPolicy.find((s) => s.Sid === 'CloudWatchAlarmsPublish')).toBeDefined();
  });

  it('gives the function a role allowing only what it does, on only what it touches', () => {
    // Act
    const fn = template.Resources.SqsToKinesisLambdaFunction?.Properties;
    // Assess
    expect(fn?.Role).toEqual({ 'Fn::GetAtt': ['SqsToKinesisRole', 'Arn'] });
    expect(fn?.Runtime).toBe('nodejs22.x');
    expect(fn?.Environment.Variables.PIPELINE_STAGE).toBe('dev');
    expect(
      ofType('AWS::IAM::Role')
        .map(([id]) => id)
        .sort(),
    ).toEqual([
      'EventValidatorRole',
      'FirehoseDeliveryRole',
      'FirehoseTransformRole',
      'ForwardingRole',
      'KinesisAggregatorRole',
      'SearchIndexRole',
      'SesToFirehoseRole',
      'SqsToKinesisRole',
    ]);
    const statements = template.Resources.SqsToKinesisRole?.Properties.Policies[0].PolicyDocument
      .Statement as Statement[];
    const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    expect(bySid.ConsumeConfiguredQueues?.Action).toEqual([
      'sqs:ReceiveMessage',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
    ]);
    expect(bySid.ConsumeConfiguredQueues?.Resource).toEqual(routes.map(queueRef));
    expect(bySid.WriteTargetAndDlqStreams?.Action).toEqual(['kinesis:PutRecord', 'kinesis:PutRecords']);
    expect(bySid.WriteTargetAndDlqStreams?.Resource).toEqual(
      ['PageVisitsStream', 'ClicksStream', 'OrdersStream', 'DLQStream'].map((id) => ({
        'Fn::GetAtt': [id, 'Arn'],
      })),
    );
    // Only page-visits has aggregation: only its shard map may be read.
    expect(bySid.ReadShardMapsOfAggregatedStreams).toEqual({
      Sid: 'ReadShardMapsOfAggregatedStreams',
      Effect: 'Allow',
      Action: ['kinesis:ListShards'],
      Resource: [{ 'Fn::GetAtt': ['PageVisitsStream', 'Arn'] }],
    });
    expect(JSON.stringify(bySid.OwnLogs?.Resource)).toContain(
      'log-group:/aws/lambda/streaming-pipeline-dev-sqsToKinesis:*',
    );
    for (const statement of statements) {
      expect([statement.Action].flat()).not.toContain('*');
      expect(statement.Resource).not.toContain('*');
    }
  });

  it('keeps logs for 7 days and ships each function with only its own bundled handler', async () => {
    // Act / Assess
    for (const [, logGroup] of ofType('AWS::Logs::LogGroup'))
      expect(logGroup.Properties.RetentionInDays).toBe(7);
    for (const [zip, dir] of [
      ['sqsToKinesis.zip', 'sqs-to-kinesis'],
      ['firehoseTransform.zip', 'firehose-transform'],
      ['eventValidator.zip', 'event-validator'], // its schemas are bundled, not shipped as files
      ['kinesisAggregator.zip', 'kinesis-aggregator'],
      ['searchIndex.zip', 'search-index'],
    ]) {
      const { stdout } = await run('unzip', ['-Z1', join(outDir, zip as string)]);
      // No source map: serverless.yml says why.
      expect(stdout.trim().split('\n').sort()).toEqual([`functions/${dir}/handler.cjs`]);
    }
    const { stdout: mapper } = await run(
      'unzip',
      ['-p', join(outDir, 'sqsToKinesis.zip'), 'functions/sqs-to-kinesis/handler.cjs'],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    expect(mapper).not.toContain('PutRecordBatch'); // no Firehose client in the mapper
  });

  it('has the SES delivery stream with the transform as processor, into an encrypted, private, TLS-only bucket', () => {
    // Prepare
    const transform = config.firehoseTransform;
    // Act
    const stream = template.Resources.SesDeliveryStream?.Properties;
    // Assess
    expect(stream?.DeliveryStreamType).toBe('DirectPut');
    expect(stream?.DeliveryStreamEncryptionConfigurationInput).toEqual({ KeyType: 'AWS_OWNED_CMK' });
    const s3 = stream?.ExtendedS3DestinationConfiguration;
    expect(s3.ProcessingConfiguration.Processors[0].Parameters).toEqual([
      {
        ParameterName: 'LambdaArn',
        ParameterValue: { 'Fn::GetAtt': ['FirehoseTransformLambdaFunction', 'Arn'] },
      },
      {
        ParameterName: 'BufferSizeInMBs',
        ParameterValue: String(transform?.deliveryStream.processorBuffer.sizeMiB),
      },
      {
        ParameterName: 'BufferIntervalInSeconds',
        ParameterValue: String(transform?.deliveryStream.processorBuffer.intervalSeconds),
      },
    ]);
    expect(s3.DynamicPartitioningConfiguration).toEqual({ Enabled: true });
    expect(s3.Prefix).toBe(
      'ses/eventType=!{partitionKeyFromLambda:eventType}/date=!{partitionKeyFromLambda:date}/',
    );
    expect(s3.ErrorOutputPrefix).toContain('!{firehose:error-output-type}');
    const bucket = template.Resources.SesEventsBucket?.Properties;
    expect(bucket?.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(
      bucket?.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault,
    ).toBeDefined();
    const [tlsOnly] = template.Resources.SesEventsBucketPolicy?.Properties.PolicyDocument.Statement ?? [];
    expect(tlsOnly).toMatchObject({
      Effect: 'Deny',
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
    const destination = template.Resources.SesEventDestination?.Properties.EventDestination;
    expect(destination.MatchingEventTypes).not.toContain('send');
    expect(destination.KinesisFirehoseDestination.DeliveryStreamARN).toEqual({
      'Fn::GetAtt': ['SesDeliveryStream', 'Arn'],
    });
    // Packaged with openSearch=true: the collection, and SES publishing to its stream too.
    expect(template.Resources.SesCollection?.Properties.Type).toBe('TIMESERIES');
    expect(
      template.Resources.SesSearchEventDestination?.Properties.EventDestination.KinesisFirehoseDestination
        .DeliveryStreamARN,
    ).toEqual({ 'Fn::GetAtt': ['SesSearchDeliveryStream', 'Arn'] });
  });

  it('has the central bus, exact-match input rules to the validator, and forwarding rules to the consumers', () => {
    // Prepare
    const validator = config.eventValidator;
    // Act / Assess
    expect(template.Resources.CentralEventBus?.Properties.Name).toBe('central-dev');
    expect(template.Resources.CentralEventBusPolicy?.Properties.Statement).toMatchObject({
      Principal: { AWS: ['arn:aws:iam::555555555555:root'] },
      Action: 'events:PutEvents',
      Condition: { 'ForAllValues:StringEquals': { 'events:source': ['cwi.servicea'] } },
    });
    const input = template.Resources.ValidatorInputRuleCwiServicea?.Properties;
    expect(input?.EventPattern).toEqual({ source: ['cwi.servicea'] }); // reject: unknown detail-types reach the DLQ
    expect(input?.Targets[0]).toMatchObject({
      Arn: { 'Fn::GetAtt': ['EventValidatorLambdaFunction', 'Arn'] },
      RetryPolicy: { MaximumRetryAttempts: validator?.ruleTarget.maximumRetryAttempts },
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['ValidatorRuleDlq', 'Arn'] } },
    });
    expect(template.Resources.ValidatorInvokeConfig?.Properties.DestinationConfig).toEqual({
      OnFailure: { Destination: { 'Fn::GetAtt': ['ValidatorFailureQueue', 'Arn'] } },
    });
    const forwards = ofType('AWS::Events::Rule').filter(([id]) => id.startsWith('Forward'));
    expect(forwards.map(([, r]) => r.Properties.Targets[0].Arn).sort()).toEqual(
      validator?.consumers.map((c) => c.busArn).sort(),
    );
    for (const [, rule] of forwards)
      expect(rule.Properties.EventPattern).toEqual({
        source: ['valid.cwi.servicea'],
        account: [{ Ref: 'AWS::AccountId' }], // only what the validator put on the bus
      });
    const statements = template.Resources.EventValidatorRole?.Properties.Policies[0].PolicyDocument
      .Statement as Statement[];
    expect(statements.find((s) => s.Sid === 'RepublishValidEvents')).toMatchObject({
      Action: ['events:PutEvents'],
      Resource: [{ 'Fn::GetAtt': ['CentralEventBus', 'Arn'] }],
    });
    for (const [, queue] of ofType('AWS::SQS::Queue'))
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
  });

  it('runs the aggregator on its input stream with the configured tumbling window and settings', () => {
    // Prepare
    const source = config.kinesisAggregator?.input;
    // Act
    const [[, mapping]] = ofType('AWS::Lambda::EventSourceMapping').filter(
      ([, r]) =>
        JSON.stringify(r.Properties.EventSourceArn) ===
        JSON.stringify({ 'Fn::GetAtt': ['StockTradesStream', 'Arn'] }),
    ) as [[string, Resource]];
    // Assess
    expect(mapping.Properties).toMatchObject({
      BatchSize: source?.batchSize,
      StartingPosition: source?.startingPosition,
      TumblingWindowInSeconds: source?.tumblingWindowInSeconds,
      BisectBatchOnFunctionError: source?.bisectBatchOnFunctionError,
      MaximumRetryAttempts: source?.maximumRetryAttempts,
      MaximumRecordAgeInSeconds: source?.maximumRecordAgeInSeconds,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['AggregatorFailureQueue', 'Arn'] } } },
    });
    const statements = template.Resources.KinesisAggregatorRole?.Properties.Policies[0].PolicyDocument
      .Statement as Statement[];
    expect(statements.find((s) => s.Sid === 'ReadInputStream')?.Resource).toEqual([
      { 'Fn::GetAtt': ['StockTradesStream', 'Arn'] },
    ]);
    expect(statements.find((s) => s.Sid === 'WriteResultsAndDlq')?.Resource).toEqual([
      { 'Fn::GetAtt': ['TradeStatsStream', 'Arn'] },
      { 'Fn::GetAtt': ['DLQStream', 'Arn'] },
    ]);
  });

  it('lets the transform re-ingest into its own delivery streams only, and Firehose invoke only the transform', () => {
    // Act
    const statements = template.Resources.FirehoseTransformRole?.Properties.Policies[0].PolicyDocument
      .Statement as Statement[];
    const reingest = statements.find((s) => s.Sid === 'ReingestIntoOwnStreams');
    // Assess
    expect(reingest?.Action).toEqual(['firehose:PutRecordBatch']);
    expect(JSON.stringify(reingest?.Resource)).toBe(
      JSON.stringify(
        ['ses-events-dev', 'ses-events-dev-search'].map((stream) => ({
          'Fn::Sub': `arn:\${AWS::Partition}:firehose:\${AWS::Region}:\${AWS::AccountId}:deliverystream/${stream}`,
        })),
      ),
    );
    const delivery = template.Resources.FirehoseDeliveryRole?.Properties.Policies[0].PolicyDocument
      .Statement as Statement[];
    expect(delivery.find((s) => s.Sid === 'InvokeProcessor')?.Resource).toContainEqual({
      'Fn::GetAtt': ['FirehoseTransformLambdaFunction', 'Arn'],
    });
    for (const statement of [...statements, ...delivery]) {
      expect([statement.Action].flat()).not.toContain('*');
    }
  });

  it('has an alarm on every place data can wait, and a dashboard', () => {
    // Prepare
    const functions = packagedFunctions(template);
    // Act / Assess
    expect(Object.keys(functions).sort()).toEqual([
      'eventValidator',
      'firehoseTransform',
      'kinesisAggregator',
      'searchIndex',
      'sqsToKinesis',
    ]);
    expect((functions.kinesisAggregator as { events: unknown[] }).events).toHaveLength(1);
    expect(placesWithoutAlarm(template, functions)).toEqual([]);
    expect(template.Resources.Dashboard?.Type).toBe('AWS::CloudWatch::Dashboard');
  });

  it('matches the AWS resource specifications: types exist, properties known and well typed', () => {
    // Act / Assess
    expect(specProblems(template)).toEqual([]);
    // The check can fail: an unknown property and a wrong type are reported.
    // Prepare
    const broken = structuredClone(template);
    (broken.Resources.DLQStream as Resource).Properties.ShardCounts = 1;
    (broken.Resources.DLQStream as Resource).Properties.RetentionPeriodHours = 'a day';
    // Act / Assess
    expect(specProblems(broken)).toEqual([
      'DLQStream(AWS::Kinesis::Stream).RetentionPeriodHours: expected integer, got "a day"',
      'DLQStream(AWS::Kinesis::Stream).ShardCounts: not a property of this type',
    ]);
  });

  it('holds our own rules: no wildcard IAM, everything encrypted, private TLS-only buckets, log retention', () => {
    // Act / Assess
    for (const [id, resource] of Object.entries(template.Resources)) {
      const documents = [
        ...(resource.Properties.Policies ?? []).map((p: { PolicyDocument: unknown }) => p.PolicyDocument),
        ...(resource.Type === 'AWS::IAM::Policy' ? [resource.Properties.PolicyDocument] : []),
      ] as { Statement: Statement[] }[];
      for (const statement of documents.flatMap((d) => d.Statement)) {
        expect([statement.Action].flat(), id).not.toContain('*');
        expect([statement.Resource].flat(), id).not.toContain('*');
      }
      const encrypted: Record<string, () => unknown> = {
        'AWS::Kinesis::Stream': () => resource.Properties.StreamEncryption?.EncryptionType === 'KMS',
        'AWS::S3::Bucket': () => resource.Properties.BucketEncryption,
        'AWS::SNS::Topic': () => resource.Properties.KmsMasterKeyId,
        'AWS::SQS::Queue': () =>
          resource.Properties.SqsManagedSseEnabled || resource.Properties.KmsMasterKeyId,
        'AWS::KinesisFirehose::DeliveryStream': () =>
          resource.Properties.DeliveryStreamEncryptionConfigurationInput,
      };
      if (encrypted[resource.Type]) expect(encrypted[resource.Type]?.(), `${id} is encrypted`).toBeTruthy();
      if (resource.Type === 'AWS::S3::Bucket' && id !== 'ServerlessDeploymentBucket') {
        expect(resource.Properties.PublicAccessBlockConfiguration?.BlockPublicPolicy, id).toBe(true);
      }
      if (resource.Type === 'AWS::Logs::LogGroup') expect(resource.Properties.RetentionInDays, id).toBe(7);
    }
    for (const [id, policy] of ofType('AWS::S3::BucketPolicy')) {
      const denies = (
        policy.Properties.PolicyDocument.Statement as Statement[] & { Condition?: unknown }[]
      ).filter((s) => s.Effect === 'Deny');
      expect(JSON.stringify(denies), `${id} enforces TLS`).toContain('aws:SecureTransport');
    }
  });

  /** The project in a scratch folder, with `patch` applied to its config. */
  function scratchProject(patch: (raw: RawConfig) => void): string {
    const dir = mkdtempSync(join(tmpdir(), 'sls-scratch-'));
    for (const part of [
      'serverless.yml',
      'package.json',
      'infra',
      'shared',
      'functions',
      'config',
      'tools',
    ]) {
      cpSync(join(ROOT, part), join(dir, part), { recursive: true });
    }
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const raw = JSON.parse(readFileSync(join(dir, 'config/pipeline.json'), 'utf8'));
    patch(raw);
    writeFileSync(join(dir, 'config/pipeline.json'), JSON.stringify(raw));
    return dir;
  }

  it('prints a config warning once', async () => {
    // Prepare: a visibility timeout under 6x the function timeout is a warning, not an error.
    const dir = scratchProject((raw) => {
      raw.sqsToKinesis.routes[1].visibilityTimeoutSeconds = 60;
    });
    // Act: `print` resolves every part of serverless.yml without packaging.
    const result = await run(serverless, ['print', '--stage', 'dev'], { cwd: dir });
    // Assess
    const output = `${result.stdout}${result.stderr}`;
    expect(output.match(/config warning: sqsToKinesis\.routes\[1\]\.visibilityTimeoutSeconds/g)).toHaveLength(
      1,
    );
  });

  it('fails on a bad config, naming the key', async () => {
    // Prepare: the project in a scratch folder with one typo in the config.
    const dir = scratchProject((raw) => {
      raw.sqsToKinesis.routes[2].eventSource.maximumBatchingWindowInSeconds = 5; // not allowed on FIFO
    });
    // Act
    const result = await run(serverless, ['package', '--stage', 'dev'], { cwd: dir }).catch((error) => error);
    // Assess: the key named once, no stack trace, and nothing packaged.
    expect(result.code).not.toBe(0);
    const output = `${result.stdout}${result.stderr}`;
    const line =
      'sqsToKinesis.routes[2].eventSource.maximumBatchingWindowInSeconds: not allowed on a FIFO queue';
    expect(output.split(line)).toHaveLength(2);
    expect(output).not.toMatch(/^\s+at /m);
    expect(output).toContain('Nothing was packaged or deployed.');
  });

  it.each([
    [['--stage', 'prdo'], 'stage "prdo" is not in config/stages.json (known stages: dev, local, prod)'],
    [['--stage', 'dev', '--region', 'us-east-1'], '--region us-east-1: stage "dev" deploys to eu-west-1'],
    [
      ['--stage', 'dev', '--param', 'openSearch=maybe'],
      '--param openSearch: must be true or false, got "maybe"',
    ],
  ])('refuses %j with one line and no stack trace', async (args, message) => {
    // Act
    const result = await run(
      serverless,
      ['package', ...args, '--package', mkdtempSync(join(tmpdir(), 'sls-no-'))],
      {
        cwd: ROOT,
        env: { ...process.env, SLS_TELEMETRY_DISABLED: '1' },
      },
    ).catch((error) => error);
    // Assess
    expect(result.code).toBe(1);
    const output = `${result.stdout}${result.stderr}`;
    expect(output.split(message)).toHaveLength(2);
    expect(output).not.toMatch(/^\s+at /m);
  });
});

describe('serverless invoke local against the emulators', () => {
  let session: LocalSession;
  beforeAll(async () => {
    session = await startLocalSession({}, {});
  });
  afterAll(async () => {
    await session?.stop();
  });

  it('runs the bundled handler on a sample event and writes to the emulated streams', async () => {
    // Prepare
    await createStreams(session.kinesis, session.stage.config);
    const event = loadEvent('sqs-multi-queue.json');
    mkdirSync(join(ROOT, '.esbuild'), { recursive: true });
    // Act
    const { stdout } = await run(
      serverless,
      ['invoke', 'local', '-f', 'sqsToKinesis', '--stage', 'local', '-p', 'events/sqs-multi-queue.json'],
      { cwd: ROOT, env: { ...process.env, ...session.aws.env, POWERTOOLS_LOG_LEVEL: 'ERROR' } },
    );
    // Assess
    expect(stdout).toMatch(/"batchItemFailures": \[\]/);
    const clicks = await readStream(session.kinesis, 'clicks-local');
    expect(clicks.map((r) => r.partitionKey).sort()).toEqual(['acme', 'globex']);
    expect(clicks.map((r) => Buffer.from(r.data).toString()).sort()).toEqual(
      [event.Records[1]?.body, event.Records[3]?.body].sort(),
    );
  }, 120_000);

  it('runs the bundled validator on a sample event, republishing to the PutEvents stand-in', async () => {
    // Prepare
    const before = session.aws.eventBridge.events.length;
    // Act
    await run(
      serverless,
      ['invoke', 'local', '-f', 'eventValidator', '--stage', 'local', '-p', 'events/eventbridge-valid.json'],
      { cwd: ROOT, env: { ...process.env, ...session.aws.env, POWERTOOLS_LOG_LEVEL: 'ERROR' } },
    );
    // Assess
    expect(session.aws.eventBridge.events.slice(before).map((e) => e.source)).toEqual(['valid.cwi.servicea']);
  }, 120_000);

  it('runs the bundled Firehose transform on the sample SES batch', async () => {
    // Act
    const { stdout } = await run(
      serverless,
      ['invoke', 'local', '-f', 'firehoseTransform', '--stage', 'local', '-p', 'events/firehose-ses.json'],
      {
        cwd: ROOT,
        env: { ...process.env, ...session.aws.env, PIPELINE_HASH_KEY: 'k', POWERTOOLS_LOG_LEVEL: 'ERROR' },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    // Assess
    const response = JSON.parse(stdout.slice(stdout.indexOf('{\n'))) as { records: { result: string }[] };
    expect(response.records.map((r) => r.result)).toEqual(['Dropped', ...Array(9).fill('Ok')]);
  }, 120_000);
});
