/**
 * DLQ redrive end to end on the emulators: messages dead-lettered by a wrong partition-key
 * path, the config fixed, the envelopes redriven to their queue, and the messages found in
 * their stream.
 */

import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaContext } from '../../local/lambda-context.js';
import { createQueue, createStreams, localQueueName } from '../../local/provision.js';
import { type LocalSession, startLocalSession } from '../../local/session.js';
import { drainQueues, type QueueBinding } from '../../local/sqs-event-source.js';
import { readStream } from '../../local/stream-reader.js';
import { createKinesisClient } from '../../shared/core/aws-clients.js';
import { parseConfig } from '../../shared/core/config/load.js';
import { noMetrics, silentLogger } from '../../shared/core/observability.js';
import { prepareMapper, processSqsBatch } from '../../shared/sqs-to-kinesis/sqs-to-kinesis.js';
import {
  executeRedrive,
  planRedrive,
  readDlq,
  selectRecords,
  summarisePlan,
} from '../../tools/lib/redrive.js';
import { sdkPorts } from '../../tools/redrive-ports.js';
import { queueArn } from '../helpers/fixtures.js';

let session: LocalSession;

beforeAll(async () => {
  session = await startLocalSession();
});

afterAll(async () => {
  await session?.stop();
});

const routeConfig = (path: string) =>
  parseConfig(
    {
      streams: { 'rd-out': {} },
      dlq: { stream: 'rd-dlq' },
      sqsToKinesis: {
        routes: [
          {
            queueArn: queueArn('rd-queue'),
            visibilityTimeoutSeconds: 180,
            target: 'rd-out',
            partitionKey: { from: 'body', path },
          },
        ],
      },
    },
    { stage: 'rd', params: {} },
  );

describe('DLQ redrive', () => {
  it('sends dead-lettered messages back to their queue, where the fixed mapper delivers them', async () => {
    // Prepare: a route whose partition-key path is wrong, and 30 messages through it.
    const broken = routeConfig('user.id');
    await createStreams(session.kinesis, broken);
    const queueUrl = await createQueue(session.sqs, queueArn('rd-queue'), 1);
    for (let i = 0; i < 30; i += 10) {
      await session.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Array.from({ length: 10 }, (_, k) => ({
            Id: String(k),
            MessageBody: JSON.stringify({ userId: `u-${i + k}`, n: i + k }),
            MessageAttributes: { origin: { DataType: 'String', StringValue: 'web' } },
          })),
        }),
      );
    }
    const binding: QueueBinding = {
      queueUrl,
      eventSourceARN: queueArn('rd-queue'),
      batchSize: 10,
      batchingWindowSeconds: 0,
      region: 'us-east-1',
    };
    const kinesis = createKinesisClient();
    const drain = (config: ReturnType<typeof routeConfig>) =>
      drainQueues(
        session.sqs,
        [binding],
        (event) =>
          processSqsBatch(event, {
            ...prepareMapper(config),
            kinesis,
            logger: silentLogger,
            metrics: noMetrics,
            now: () => new Date(),
          }),
        () => lambdaContext('redrive', 30),
        { maxMillis: 10_000 },
      );
    await drain(broken);
    expect(await readStream(session.kinesis, 'rd-out')).toEqual([]);

    // Act 1: the dry run's plan.
    const records = await readDlq(session.kinesis, 'rd-dlq', { kind: 'trim-horizon' });
    const chosen = selectRecords(records, { reasons: ['PARTITION_KEY_MISSING'], source: 'rd-queue' });
    const plan = planRedrive(chosen);
    expect(chosen).toHaveLength(30);
    expect(summarisePlan(plan)).toEqual([`    30  PARTITION_KEY_MISSING  -> sqs ${queueArn('rd-queue')}`]);

    // Act 2: fix the cause, redrive, let the event source run.
    const ports = sdkPorts(
      { sqs: session.sqs, kinesis, eventBridge: new EventBridgeClient({}) },
      async (arn) => queueUrl.replace(/[^/]+$/, localQueueName(arn)),
    );
    const summary = await executeRedrive(plan, ports);
    await drain(routeConfig('userId'));

    // Assess: all 30 in their stream, keyed by the fixed path, with nothing new in the DLQ.
    expect(summary).toEqual({ sent: 30, skipped: 0, failed: [] });
    const delivered = await readStream(session.kinesis, 'rd-out');
    expect(delivered.map((r) => r.partitionKey).sort()).toEqual(
      Array.from({ length: 30 }, (_, i) => `u-${i}`).sort(),
    );
    expect(await readDlq(session.kinesis, 'rd-dlq', { kind: 'trim-horizon' })).toHaveLength(30);
    const since = new Date(Date.now() + 60_000);
    expect(selectRecords(records, { since })).toEqual([]);
  });
});
