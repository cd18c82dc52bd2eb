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
