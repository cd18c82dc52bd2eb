/**
 * Every place the stack keeps data waiting has an alarm to the alarm topic, and the stack
 * has a dashboard, for each stage, with OpenSearch on and off (buildInfra: what
 * `serverless package` embeds; the packaged template is checked the same way in
 * tests/deploy/serverless.test.ts).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { buildInfra } from '../../infra/template.js';
import { checkConfig, stageParams } from '../../shared/core/config/load.js';
import { readRawConfig, readStages } from '../../tools/lib/config-files.js';
import type { RawConfig } from '../helpers/fixtures.js';
import { placesWithoutAlarm, type Template } from '../helpers/watched.js';

function built(stage: string, openSearch: boolean, patch: (raw: RawConfig) => void = () => {}) {
  const raw = structuredClone(readRawConfig()) as RawConfig;
  patch(raw);
  const params = { ...stageParams(readStages(), stage), openSearch: String(openSearch) };
  const { config } = checkConfig(raw, { stage, params });
  const infra = buildInfra({ service: 'streaming-pipeline', stage, raw, config, params, functionParams: {} });
  return { template: infra.resources as unknown as Template, functions: infra.functions, config };
}

const alarmsOf = (template: Template) =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');

describe('alarms on every place data can wait', () => {
  it.each([
    ['dev', false],
    ['dev', true],
    ['prod', true],
    ['local', false],
  ])(
    'leave no queue, stream, delivery stream or function unwatched (%s, openSearch %s)',
    (stage, openSearch) => {
      // Act
      const { template, functions } = built(stage, openSearch as boolean);
      // Assess
      expect(placesWithoutAlarm(template, functions)).toEqual([]);
      for (const [id, alarm] of alarmsOf(template)) {
        expect(alarm.Properties.AlarmActions, id).toEqual([{ Ref: 'AlarmTopic' }]);
        expect(alarm.Properties.TreatMissingData, id).toBe('notBreaching');
      }
    },
  );

  it('finds the place whose alarm is missing (the check can fail)', () => {
    // Prepare
    const { template, functions } = built('dev', true);
    for (const id of [
      'AggregatorFailureQueueMessagesAlarm',
      'KinesisAggregatorIteratorAgeAlarm',
      'SesSearchDeliveryStreamFreshnessAlarm',
      'SearchIndexErrorsAlarm',
    ]) {
      delete template.Resources[id];
    }
    // Act / Assess
    expect(placesWithoutAlarm(template, functions).sort()).toEqual([
      'delivery stream SesSearchDeliveryStream: DeliveryToAmazonOpenSearchServerless.DataFreshness',
      'function kinesisAggregator (Kinesis input): IteratorAge',
      'function searchIndex: Errors',
      'queue AggregatorFailureQueue: ApproximateNumberOfMessagesVisible',
    ]);
  });

  it('takes thresholds and the period from the config, with the iterator age against how long a record can wait', () => {
    // Act
    const { template } = built('dev', false, (raw) => {
      raw.alarms = {
        periodSeconds: 60,
        queueMessages: 5,
        functionErrors: 3,
        functionThrottles: 2,
        iteratorAgeShare: 0.25,
        deliveryFreshnessSeconds: 120,
      };
    });
    const alarm = (id: string) => template.Resources[id]?.Properties as RawConfig;
    // Assess
    expect(alarm('ValidatorRuleDlqMessagesAlarm')).toMatchObject({
      Threshold: 5,
      Period: 60,
      Statistic: 'Maximum',
    });
    expect(alarm('SqsToKinesisErrorsAlarm')).toMatchObject({
      Threshold: 3,
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
    });
    expect(alarm('EventValidatorThrottlesAlarm')).toMatchObject({ Threshold: 2, MetricName: 'Throttles' });
    // The aggregator skips records older than its maximum record age (3600 s): a quarter of it.
    expect(alarm('KinesisAggregatorIteratorAgeAlarm')).toMatchObject({
      Threshold: 900_000,
      MetricName: 'IteratorAge',
      Statistic: 'Maximum',
    });
    // 120 s is below the stream's own buffering (300 s to S3 + 60 s at the processor): the floor is 420 s.
    expect(alarm('SesDeliveryStreamFreshnessAlarm')).toMatchObject({
      Threshold: 420,
      MetricName: 'DeliveryToS3.DataFreshness',
    });
    expect(alarm('SesDeliveryStreamProcessingAlarm')).toMatchObject({
      Threshold: 1,
      MetricName: 'ExecuteProcessing.Success',
      ComparisonOperator: 'LessThanThreshold',
      Statistic: 'Minimum',
    });
  });

  it('uses the stream retention when the aggregator keeps records until they expire', () => {
    // Act
    const { template } = built('dev', false, (raw) => {
      raw.kinesisAggregator.input.maximumRecordAgeInSeconds = -1;
    });
    // Assess: 24 hours of retention, half of it.
    expect(template.Resources.KinesisAggregatorIteratorAgeAlarm?.Properties.Threshold).toBe(12 * 3600 * 1000);
  });

  it('has sane defaults: any message in a failure queue, any error, a 15-minute delivery delay', () => {
    // Act
    const { template } = built('dev', true);
    const alarm = (id: string) => template.Resources[id]?.Properties as RawConfig;
    // Assess
    expect(alarm('AggregatorFailureQueueMessagesAlarm')).toMatchObject({
      Threshold: 1,
      Period: 300,
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['AggregatorFailureQueue', 'QueueName'] } }],
    });
    expect(alarm('KinesisAggregatorErrorsAlarm')?.Dimensions).toEqual([
      { Name: 'FunctionName', Value: { Ref: 'KinesisAggregatorLambdaFunction' } },
    ]);
    expect(alarm('SesSearchDeliveryStreamFreshnessAlarm')).toMatchObject({
      Threshold: 900,
      Namespace: 'AWS/Firehose',
    });
    expect(alarm('KinesisAggregatorIteratorAgeAlarm')?.Threshold).toBe(1_800_000);
  });
});

describe('the dashboard', () => {
  let template: Template;
  let body: RawConfig;
  beforeEach(() => {
    template = built('dev', true).template;
    const text = template.Resources.Dashboard?.Properties.DashboardBody['Fn::Sub'] as string;
    body = JSON.parse(
      text.replaceAll('${AWS::Region}', 'eu-west-1').replace(/\$\{(\w+)\.QueueName\}/g, 'queue-$1'),
    );
  });

  it('shows each route, each handler, each function, the DLQ stream, the failure queues, the aggregator and the deliveries', () => {
    // Act
    const titles = (body.widgets as RawConfig[]).map((w) => w.properties.title as string);
    const metrics = JSON.stringify(body.widgets);
    // Assess
    expect(template.Resources.Dashboard?.Properties.DashboardName).toBe('streaming-pipeline-dev');
    expect(titles).toEqual([
      'Route page-visits: received, written, to DLQ, handed back, filtered',
      'Route partner-clicks: received, written, to DLQ, handed back, filtered',
      'Route orders: received, written, to DLQ, handed back, filtered',
      'Transform of ses-events-dev: Ok, Dropped, ProcessingFailed, re-ingested',
      'Validator: received, republished, to DLQ, retried later',
      'Aggregator: records, to DLQ, handed back, evicted groups, results written',
      'Functions: Invocations (Sum)',
      'Functions: Errors (Sum)',
      'Functions: Duration (p99)',
      'Functions: Throttles (Sum)',
      'DLQ stream pipeline-dlq-dev: incoming records',
      'Failure queues: messages waiting',
      'Aggregator: iterator age (ms)',
      'Firehose: oldest undelivered record (s)',
      'Firehose: incoming records',
    ]);
    expect(body.widgets[0].properties.metrics).toEqual(
      ['received', 'written', 'sentToDlq', 'handedBack', 'filtered'].map((m) => [
        'StreamingPipeline',
        m,
        'route',
        'page-visits',
        'service',
        'sqs-to-kinesis',
      ]),
    );
    for (const fn of [
      'sqsToKinesis',
      'firehoseTransform',
      'eventValidator',
      'kinesisAggregator',
      'searchIndex',
    ]) {
      expect(metrics).toContain(`"FunctionName","streaming-pipeline-dev-${fn}"`);
    }
    expect(metrics).toContain('"QueueName","queue-AggregatorFailureQueue"');
    expect(metrics).toContain(
      '"DeliveryToAmazonOpenSearchServerless.DataFreshness","DeliveryStreamName","ses-events-dev-search"',
    );
    expect(body.widgets[0].properties.region).toBe('eu-west-1');
  });

  it('is named in the stack outputs, with its address', () => {
    // Act
    const outputs = (built('prod', false).template as unknown as { Outputs: RawConfig }).Outputs;
    // Assess
    expect(outputs.DashboardName).toEqual({ Value: 'streaming-pipeline-prod' });
    expect(outputs.DashboardUrl.Value['Fn::Sub']).toBe(
      'https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}#dashboards:name=streaming-pipeline-prod',
    );
  });
});

describe('alarms and the dashboard, exactly', () => {
  let template: Template;
  let widgets: RawConfig[];
  beforeEach(() => {
    template = built('dev', true).template;
    const text = template.Resources.Dashboard?.Properties.DashboardBody['Fn::Sub'] as string;
    widgets = JSON.parse(text).widgets;
  });
  const alarm = (id: string) => template.Resources[id] as { Type: string; Properties: RawConfig };
  const common = {
    Period: 300,
    EvaluationPeriods: 1,
    TreatMissingData: 'notBreaching',
    AlarmActions: [{ Ref: 'AlarmTopic' }],
    OKActions: [{ Ref: 'AlarmTopic' }],
  };

  it('has one alarm of each kind as documented', () => {
    // Assess
    expect(alarm('AggregatorFailureQueueMessagesAlarm')).toEqual({
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        ...common,
        AlarmName: 'streaming-pipeline-dev-AggregatorFailureQueue-messages',
        AlarmDescription:
          "Messages wait in AggregatorFailureQueue: they failed for good and expire with the queue's retention. Read them, fix the cause, and replay or delete them.",
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['AggregatorFailureQueue', 'QueueName'] } }],
        Statistic: 'Maximum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      },
    });
    expect(alarm('PageVisitsQueueAgeAlarm').Properties).toEqual({
      ...common,
      AlarmName: 'streaming-pipeline-dev-PageVisitsQueue-age',
      AlarmDescription:
        'The oldest message in PageVisitsQueue waits longer than expected: the mapper is behind or failing (after maxReceiveCount receives a message moves to the dead-letter queue).',
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['PageVisitsQueue', 'QueueName'] } }],
      Statistic: 'Maximum',
      Threshold: 900,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(alarm('SesDeliveryStreamFreshnessAlarm').Properties).toEqual({
      ...common,
      AlarmName: 'streaming-pipeline-dev-SesDeliveryStream-freshness',
      AlarmDescription:
        'Records wait in the delivery stream SesDeliveryStream longer than expected: delivery is failing or falling behind (Firehose retries for up to 24 hours).',
      Namespace: 'AWS/Firehose',
      MetricName: 'DeliveryToS3.DataFreshness',
      Dimensions: [{ Name: 'DeliveryStreamName', Value: { Ref: 'SesDeliveryStream' } }],
      Statistic: 'Maximum',
      Threshold: 900,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(alarm('SesSearchDeliveryStreamProcessingAlarm').Properties).toMatchObject({
      AlarmDescription:
        'Invocations of the transform failed for SesSearchDeliveryStream: Firehose retries, then writes the records under errors/.',
      Namespace: 'AWS/Firehose',
    });
    expect(alarm('SqsToKinesisErrorsAlarm').Properties).toEqual({
      ...common,
      AlarmName: 'streaming-pipeline-dev-sqsToKinesis-errors',
      AlarmDescription: 'sqsToKinesis failed invocations (its records are retried or handed back).',
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: 'SqsToKinesisLambdaFunction' } }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(alarm('SqsToKinesisThrottlesAlarm').Properties.AlarmDescription).toBe(
      'sqsToKinesis was throttled: raise its concurrency, or expect delays.',
    );
    expect(alarm('KinesisAggregatorIteratorAgeAlarm').Properties.AlarmDescription).toBe(
      "kinesisAggregator is behind on its Kinesis input: records older than 3600 s are skipped to the failure queue, or expire with the stream's retention.",
    );
    // Functions without a Kinesis input have no iterator-age alarm.
    expect(Object.keys(template.Resources).filter((id) => id.endsWith('IteratorAgeAlarm'))).toEqual([
      'KinesisAggregatorIteratorAgeAlarm',
    ]);
  });

  it('caps the iterator age at the retention when the maximum record age is longer, and takes a stream it does not declare as 24 hours', () => {
    // Act
    const longer = built('dev', false, (raw) => {
      raw.kinesisAggregator.input.maximumRecordAgeInSeconds = 604_800;
    }).template;
    // Assess: the input stream keeps records 24 hours (its retention in the sample config).
    expect(longer.Resources.KinesisAggregatorIteratorAgeAlarm?.Properties.Threshold).toBe(12 * 3600 * 1000);
  });

  it('draws every widget from the template and the config', () => {
    // Prepare
    const ns = 'StreamingPipeline';
    const fn = (name: string) => `streaming-pipeline-dev-${name}`;
    const functions = [
      'sqsToKinesis',
      'firehoseTransform',
      'searchIndex',
      'eventValidator',
      'kinesisAggregator',
    ].map(fn);
    // Act / Assess
    expect(widgets.every((w) => w.type === 'metric' && w.width === 12 && w.height === 6)).toBe(true);
    expect(widgets.every((w) => w.properties.period === 300 && w.properties.view === 'timeSeries')).toBe(
      true,
    );
    expect(widgets.every((w) => w.properties.region === '${AWS::Region}')).toBe(true);
    expect(widgets.map((w) => [w.properties.stat, w.properties.metrics])).toEqual([
      ...['page-visits', 'partner-clicks', 'orders'].map((route) => [
        'Sum',
        ['received', 'written', 'sentToDlq', 'handedBack', 'filtered'].map((m) => [
          ns,
          m,
          'route',
          route,
          'service',
          'sqs-to-kinesis',
        ]),
      ]),
      [
        'Sum',
        ['records', 'ok', 'dropped', 'failed', 'reingested'].map((m) => [
          ns,
          m,
          'deliveryStream',
          'ses-events-dev',
          'service',
          'firehose-transform',
        ]),
      ],
      [
        'Sum',
        ['received', 'republished', 'sentToDlq', 'retryLater'].map((m) => [
          ns,
          m,
          'handler',
          'event-validator',
          'service',
          'event-validator',
        ]),
      ],
      [
        'Sum',
        ['records', 'sentToDlq', 'handedBack', 'evictedGroups', 'resultsWritten'].map((m) => [
          ns,
          m,
          'handler',
          'kinesis-aggregator',
          'service',
          'kinesis-aggregator',
        ]),
      ],
      ['Sum', functions.map((f) => ['AWS/Lambda', 'Invocations', 'FunctionName', f])],
      ['Sum', functions.map((f) => ['AWS/Lambda', 'Errors', 'FunctionName', f])],
      ['p99', functions.map((f) => ['AWS/Lambda', 'Duration', 'FunctionName', f])],
      ['Sum', functions.map((f) => ['AWS/Lambda', 'Throttles', 'FunctionName', f])],
      ['Sum', [['AWS/Kinesis', 'IncomingRecords', 'StreamName', 'pipeline-dlq-dev']]],
      [
        'Maximum',
        [
          'PageVisitsDeadLetterQueue',
          'PageVisitsQueue',
          'OrdersDeadLetterQueue',
          'OrdersQueue',
          'ValidatorRuleDlq',
          'ValidatorFailureQueue',
          'AggregatorFailureQueue',
        ].map((id) => ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', `\${${id}.QueueName}`]),
      ],
      ['Maximum', [['AWS/Lambda', 'IteratorAge', 'FunctionName', fn('kinesisAggregator')]]],
      [
        'Maximum',
        [
          ['AWS/Firehose', 'DeliveryToS3.DataFreshness', 'DeliveryStreamName', 'ses-events-dev'],
          [
            'AWS/Firehose',
            'DeliveryToAmazonOpenSearchServerless.DataFreshness',
            'DeliveryStreamName',
            'ses-events-dev-search',
          ],
        ],
      ],
      [
        'Sum',
        ['ses-events-dev', 'ses-events-dev-search'].map((name) => [
          'AWS/Firehose',
          'IncomingRecords',
          'DeliveryStreamName',
          name,
        ]),
      ],
    ]);
  });

  it('leaves out the widgets of parts the config does not have', () => {
    // Act
    const { template: bare } = built('dev', false, (raw) => {
      delete raw.firehoseTransform;
      delete raw.eventValidator;
      delete raw.kinesisAggregator;
      for (const route of raw.sqsToKinesis.routes) delete route.createQueue;
    });
    const titles = JSON.parse(bare.Resources.Dashboard?.Properties.DashboardBody['Fn::Sub']).widgets.map(
      (w: RawConfig) => w.properties.title,
    );
    // Assess
    expect(titles.filter((t: string) => !t.startsWith('Route '))).toEqual([
      'Functions: Invocations (Sum)',
      'Functions: Errors (Sum)',
      'Functions: Duration (p99)',
      'Functions: Throttles (Sum)',
      'DLQ stream pipeline-dlq-dev: incoming records',
    ]);
  });
});
