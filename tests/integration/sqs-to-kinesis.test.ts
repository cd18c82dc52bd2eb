/**
 * sqs-to-kinesis against the real emulators: messages go through SQS, the local event
 * source and the handler, and the streams are read back.
 */
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaContext } from '../../local/lambda-context.js';
import { createQueue, createStream, createStreams } from '../../local/provision.js';
import { runSqsToKinesis } from '../../local/scenarios/sqs-to-kinesis.js';
import { type LocalSession, startLocalSession } from '../../local/session.js';
import { drainQueues, type QueueBinding } from '../../local/sqs-event-source.js';
import { readStream, readUserRecords } from '../../local/stream-reader.js';
import { createKinesisClient } from '../../shared/core/aws-clients.js';
import { parseConfig } from '../../shared/core/config/load.js';
import { prepareMapper, processSqsBatch } from '../../shared/sqs-to-kinesis/sqs-to-kinesis.js';
import { fixedNow, recordingLogger, recordingMetrics } from '../helpers/doubles.js';
import { queueArn, rawTestConfig } from '../helpers/fixtures.js';

let session: LocalSession;

beforeAll(async () => {
  session = await startLocalSession();
});

afterAll(async () => {
  await session?.stop();
});

describe('sqs-to-kinesis on the emulators', () => {
  it('puts every sample message in exactly one place: its stream with its key, or the DLQ with its reason', async () => {
    // Prepare: the deployed handler module, configured from the environment like on Lambda.
    const { handler } = (await import('../../functions/sqs-to-kinesis/handler.js')) as {
      handler: (event: SQSEvent, context: ReturnType<typeof lambdaContext>) => Promise<SQSBatchResponse>;
    };
    // Act
    const report = await runSqsToKinesis({ ...session, log: () => {} }, handler);
    // Assess
    expect(report.missing).toEqual([]);
    expect(report.misplaced).toEqual([]);
    // Each message in exactly one place, but those a route's filter drops, which are nowhere.
    for (const message of report.sent) {
      expect(
        report.placements.filter((p) => p.tag === message.tag),
        message.tag,
      ).toHaveLength('filtered' in message.expect ? 0 : 1);
    }
    const filtered = report.sent
      .filter((m) => 'filtered' in m.expect)
      .map((m) => `${m.tag}:${(m.expect as { filtered: string }).filtered}`);
    expect(filtered).toEqual([
      'visit-bot-0:function',
      'visit-bot-1:function',
      'click-hover-0:source',
      'click-hover-1:source',
    ]);
    // The hovers never reached the function: the event source deleted them, as Lambda does.
    expect(report.drain.filtered).toBe(2);
    expect(report.drain.remaining).toBe(0);
    const visit = report.placements.find((p) => p.tag === 'visit-5');
    expect(visit).toMatchObject({ where: 'page-visits-local', partitionKey: 'u-1' });
    const order = report.placements.find((p) => p.tag === 'order-4');
    expect(order).toMatchObject({ where: 'orders-local', partitionKey: 'customer-1' });
    const dlqReasons = report.placements.filter((p) => p.reason).map((p) => `${p.tag}:${p.reason}`);
    expect(dlqReasons.sort()).toEqual([
      'click-no-tenant:PARTITION_KEY_MISSING',
      'unrouted-0:NO_ROUTE',
      'visit-bad-json:BODY_NOT_JSON',
      'visit-no-user:PARTITION_KEY_MISSING',
    ]);
    // The reshaped page visits lost the fields the config does not keep.
    const visits = await readUserRecords(session.kinesis, 'page-visits-local');
    const body = JSON.parse(Buffer.from(visits[0]?.data as Uint8Array).toString());
    // page-visits has KPL aggregation: fewer Kinesis records than visits, each on its own key's shard
    // (the scenario counts a visit on another shard as misplaced, checked above).
    const [aggregated] = report.aggregated;
    expect(aggregated?.stream).toBe('page-visits-local');
    expect(aggregated?.messages).toBe(visits.length);
    expect(aggregated?.records).toBeLessThan(visits.length);
    expect(visits.every((visit) => visit.aggregated)).toBe(true);
    expect(Object.keys(body).sort()).toEqual(['_messageId', '_queue', '_sentAt', 'at', 'page', 'userId']);
  });

  it('hands back what cannot be written, lets SQS redeliver it, and writes it once the cause is fixed', async () => {
    // Prepare: a route to a stream that does not exist yet.
    const streamArn = 'arn:aws:kinesis:us-east-1:123456789012:stream/late-stream';
    const config = parseConfig(
      rawTestConfig((raw) => {
        raw.sqsToKinesis.routes[0].queueArn = queueArn('late-queue');
        raw.sqsToKinesis.routes[0].target = streamArn;
      }),
      { stage: 'it', params: {} },
    );
    await createStreams(session.kinesis, config);
    const queueUrl = await createQueue(session.sqs, queueArn('late-queue'), 1);
    await session.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Array.from({ length: 10 }, (_, i) => ({
          Id: String(i),
          MessageBody: JSON.stringify({ user: { id: `late-${i}` }, n: i }),
        })),
      }),
    );
    const logger = recordingLogger();
    const deps = {
      ...prepareMapper(config),
      kinesis: createKinesisClient(),
      logger,
      metrics: recordingMetrics(),
      now: fixedNow,
    };
    const binding: QueueBinding = {
      queueUrl,
      eventSourceARN: queueArn('late-queue'),
      batchSize: 10,
      batchingWindowSeconds: 0,
      region: 'us-east-1',
    };
    const run = (maxMillis: number) =>
      drainQueues(
        session.sqs,
        [binding],
        (event) => processSqsBatch(event, deps),
        () => lambdaContext('it', 30),
        {
          maxMillis,
        },
      );

    // Act 1: the stream is missing, so nothing can be written.
    const failing = await run(2_500);
    // Assess 1: every message was handed back, none acknowledged, none lost.
    expect(failing.deleted).toBe(0);
    expect(failing.handedBack).toBeGreaterThanOrEqual(20); // delivered at least twice each
    expect(failing.remaining).toBe(10);
    expect(JSON.stringify(logger.lines)).toContain('ResourceNotFoundException');

    // Act 2: fix the cause, let the event source run again.
    await createStream(session.kinesis, 'late-stream', config.dlq.settings);
    const healed = await run(10_000);
    // Assess 2: each message written exactly once, and the DLQ untouched.
    expect(healed.remaining).toBe(0);
    const records = await readStream(session.kinesis, 'late-stream');
    expect(records.map((r) => r.partitionKey).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `late-${i}`).sort(),
    );
    expect(await readStream(session.kinesis, config.dlq.stream)).toEqual([]);
  });
});
