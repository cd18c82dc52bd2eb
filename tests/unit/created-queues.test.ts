/** Source queues the stack creates for routes with `createQueue` (buildInfra). */
import { describe, expect, it } from 'vitest';
import { buildInfra } from '../../infra/template.js';
import { checkConfig, stageParams } from '../../shared/core/config/load.js';
import { readRawConfig, readStages } from '../../tools/lib/config-files.js';
import type { RawConfig } from '../helpers/fixtures.js';
import type { Template } from '../helpers/watched.js';

function built(stage: string, patch: (raw: RawConfig) => void = () => {}) {
  const raw = structuredClone(readRawConfig()) as RawConfig;
  patch(raw);
  const params = stageParams(readStages(), stage);
  const { config } = checkConfig(raw, { stage, params });
  const infra = buildInfra({ service: 'streaming-pipeline', stage, raw, config, params, functionParams: {} });
  return { template: infra.resources as unknown as Template, functions: infra.functions as RawConfig };
}

describe('queues the stack creates', () => {
  it('creates the own-account queues of the sample config, each with an encrypted dead-letter queue', () => {
    // Act
    const { template } = built('dev');
    // Assess
    expect(template.Resources.PageVisitsQueue).toEqual({
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: 'page-visits-dev',
        // 6x the function timeout (30 s) plus the 5 s batching window.
        VisibilityTimeout: 185,
        MessageRetentionPeriod: 4 * 86_400,
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': ['PageVisitsDeadLetterQueue', 'Arn'] },
          maxReceiveCount: 10,
        },
        SqsManagedSseEnabled: true,
      },
    });
    expect(template.Resources.PageVisitsDeadLetterQueue?.Properties).toEqual({
      QueueName: 'page-visits-dev-dlq',
      MessageRetentionPeriod: 1_209_600,
      SqsManagedSseEnabled: true,
    });
    expect(template.Resources.OrdersQueue?.Properties).toMatchObject({
      QueueName: 'orders-dev.fifo',
      FifoQueue: true,
      VisibilityTimeout: 180,
    });
    expect(template.Resources.OrdersDeadLetterQueue?.Properties).toMatchObject({
      QueueName: 'orders-dev-dlq.fifo',
      FifoQueue: true,
    });
    // The partner's queue is in another account: not created.
    expect(
      Object.keys(template.Resources)
        .filter((id) => id.endsWith('Queue') && template.Resources[id]?.Type === 'AWS::SQS::Queue')
        .sort(),
    ).toEqual([
      'AggregatorFailureQueue',
      'OrdersDeadLetterQueue',
      'OrdersQueue',
      'PageVisitsDeadLetterQueue',
      'PageVisitsQueue',
      'ValidatorFailureQueue',
    ]);
  });

  it('reads created queues through their attributes (the event source waits for the queue), others by ARN', () => {
    // Act
    const { template, functions } = built('dev');
    // Assess
    expect(functions.sqsToKinesis.events.map((e: RawConfig) => e.sqs.arn)).toEqual([
      { 'Fn::GetAtt': ['PageVisitsQueue', 'Arn'] },
      'arn:aws:sqs:eu-west-1:222222222222:clicks',
      { 'Fn::GetAtt': ['OrdersQueue', 'Arn'] },
    ]);
    const statements = template.Resources.SqsToKinesisRole?.Properties.Policies[0].PolicyDocument
      .Statement as RawConfig[];
    expect(statements.find((s) => s.Sid === 'ConsumeConfiguredQueues')?.Resource).toEqual(
      functions.sqsToKinesis.events.map((e: RawConfig) => e.sqs.arn),
    );
  });

  it('takes retention, receives and the customer key from the config, and a longer visibility as configured', () => {
    // Act
    const { template } = built('dev', (raw) => {
      raw.sqsToKinesis.routes[0].createQueue = { retentionDays: 14, maxReceiveCount: 3 };
      raw.sqsToKinesis.routes[0].visibilityTimeoutSeconds = 900;
      raw.sqsToKinesis.routes[0].kmsKeyArn = 'arn:aws:kms:eu-west-1:111111111111:key/abc';
    });
    // Assess
    expect(template.Resources.PageVisitsQueue?.Properties).toMatchObject({
      VisibilityTimeout: 900,
      MessageRetentionPeriod: 14 * 86_400,
      RedrivePolicy: { maxReceiveCount: 3 },
      KmsMasterKeyId: 'arn:aws:kms:eu-west-1:111111111111:key/abc',
    });
    expect(template.Resources.PageVisitsQueue?.Properties).not.toHaveProperty('SqsManagedSseEnabled');
    expect(template.Resources.PageVisitsDeadLetterQueue?.Properties.KmsMasterKeyId).toBe(
      'arn:aws:kms:eu-west-1:111111111111:key/abc',
    );
  });

  it('refuses to create a queue of another account or region, naming the route', () => {
    // Act / Assess
    expect(() => built('dev', (raw) => (raw.sqsToKinesis.routes[1].createQueue = {}))).toThrow(
      'sqsToKinesis.routes[1].createQueue: the stack can only create a queue in its own account and region (111111111111, eu-west-1), not arn:aws:sqs:eu-west-1:222222222222:clicks',
    );
    expect(() =>
      built('dev', (raw) => {
        raw.sqsToKinesis.routes[0].queueArn = 'arn:aws:sqs:us-east-1:${param:accountId}:page-visits-${stage}';
      }),
    ).toThrow(/routes\[0\]\.createQueue: .* not arn:aws:sqs:us-east-1:111111111111:page-visits-dev/);
  });

  it('alarms on the age of a source queue and on messages in its dead-letter queue', () => {
    // Act
    const { template } = built('dev', (raw) => (raw.alarms = { sourceQueueAgeSeconds: 600 }));
    // Assess
    expect(template.Resources.PageVisitsQueueAgeAlarm?.Properties).toMatchObject({
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 600,
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['PageVisitsQueue', 'QueueName'] } }],
    });
    expect(template.Resources.PageVisitsDeadLetterQueueMessagesAlarm?.Properties).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
    });
  });
});
