/**
 * Zero loss under injected faults: 20,000 messages over three queues (5% malformed) through
 * SQS, the local event source and the mapper, into Kinesis behind a fault-injecting proxy
 * that fails 10% of entries and 2% of calls and resets some connections. Every message must
 * end in its stream or in the DLQ with its reason; duplicates (at-least-once) are counted.
 * Seeded: SEED replays a run (see tests/setup/seed.ts).
 */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startKinesalite, startSqs } from '../../local/emulators.js';
import { type FaultProxy, startFaultProxy } from '../../local/fault-proxy.js';
import { lambdaContext } from '../../local/lambda-context.js';
import { createQueue, createStreams } from '../../local/provision.js';
import { drainQueues, type QueueBinding } from '../../local/sqs-event-source.js';
import { readStream, readUserRecords } from '../../local/stream-reader.js';
import { createKinesisClient, keepAliveHandler } from '../../shared/core/aws-clients.js';
import { parseConfig } from '../../shared/core/config/load.js';
import { parseDlqEnvelope } from '../../shared/core/dlq.js';
import { noMetrics, silentLogger } from '../../shared/core/observability.js';
import { prepareMapper, processSqsBatch } from '../../shared/sqs-to-kinesis/sqs-to-kinesis.js';
import { queueArn } from '../helpers/fixtures.js';
import { seedFromEnvironment } from '../setup/seed.js';

const MESSAGES = 20_000;
const QUEUE_NAMES = ['zl-a', 'zl-b', 'zl-c'];
const SEED = seedFromEnvironment(process.env);
const REGION = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

let kinesalite: Emulator;
let sqsEmulator: Emulator;
let proxy: FaultProxy;

beforeAll(async () => {
  [kinesalite, sqsEmulator] = await Promise.all([
    startKinesalite(),
    startSqs({ region: REGION, accountId: '123456789012' }),
  ]);
  proxy = await startFaultProxy(kinesalite.endpoint, SEED);
});

afterAll(async () => {
  await Promise.all([proxy?.stop(), kinesalite?.stop(), sqsEmulator?.stop()]);
});

/** What each message should become: its stream, or the DLQ with a reason. */
type Expectation = { stream: string } | { dlq: string };

/** The run as written plain, and with KPL aggregation on every target stream. */
const VARIANTS = [
  { name: 'plain records', prefix: 'zl', aggregation: undefined },
  { name: 'KPL aggregation on', prefix: 'zla', aggregation: { format: 'kpl' } },
];

describe.each(VARIANTS)('zero loss under injected faults ($name)', ({ prefix, aggregation }) => {
  it('puts every one of 20,000 messages in its stream or the DLQ, losing none', async () => {
    // Prepare: config, streams, queues (named apart per variant: the emulators are shared).
    const QUEUES = QUEUE_NAMES.map((q) => q.replace(/^zl/, prefix));
    const config = parseConfig(
      {
        streams: Object.fromEntries(
          QUEUES.map((q) => [
            `${q}-out`,
            { capacity: { mode: 'PROVISIONED', shards: 2 }, ...(aggregation ? { aggregation } : {}) },
          ]),
        ),
        dlq: { stream: `${prefix}-dlq` },
        sqsToKinesis: {
          routes: QUEUES.map((q) => ({
            queueArn: queueArn(q),
            visibilityTimeoutSeconds: 180,
            target: `${q}-out`,
            partitionKey: { from: 'body', path: 'user.id' },
            eventSource: { batchSize: 100, maximumBatchingWindowInSeconds: 1 },
          })),
        },
      },
      { stage: 'zl', params: {} },
    );
    const direct = new KinesisClient({
      endpoint: kinesalite.endpoint,
      region: REGION,
      credentials,
      requestHandler: keepAliveHandler(),
    });
    await createStreams(direct, config);
    const sqs = new SQSClient({
      endpoint: sqsEmulator.endpoint,
      region: REGION,
      credentials,
      requestHandler: keepAliveHandler(),
    });
    const bindings: QueueBinding[] = [];
    for (const q of QUEUES) {
      bindings.push({
        queueUrl: await createQueue(sqs, queueArn(q), 2),
        eventSourceARN: queueArn(q),
        batchSize: 100,
        batchingWindowSeconds: 0,
        region: REGION,
      });
    }
    // 20,000 messages, 5% malformed (half not JSON, half without a partition key).
    const expected = new Map<number, Expectation>();
    for (let start = 0; start < MESSAGES; start += 10) {
      const q = (start / 10) % QUEUES.length;
      const entries = Array.from({ length: 10 }, (_, k) => {
        const n = start + k;
        let body: string;
        if (n % 40 === 7) {
          body = `not json ${n} {`;
          expected.set(n, { dlq: 'BODY_NOT_JSON' });
        } else if (n % 40 === 23) {
          body = JSON.stringify({ n, page: '/' });
          expected.set(n, { dlq: 'PARTITION_KEY_MISSING' });
        } else {
          body = JSON.stringify({ n, user: { id: `u-${n % 997}` }, page: `/p/${n}` });
          expected.set(n, { stream: `${QUEUES[q]}-out` });
        }
        return { Id: String(k), MessageBody: body };
      });
      await sqs.send(new SendMessageBatchCommand({ QueueUrl: bindings[q]?.queueUrl, Entries: entries }));
    }

    // Act: the faults start, and the event source runs until the queues are empty.
    const before = { ...proxy.counts };
    proxy.setRates({ entryFailure: 0.1, callFailure: 0.02, connectionReset: 0.005 });
    const mapper = {
      ...prepareMapper(config),
      kinesis: createKinesisClient({ endpoint: proxy.endpoint, region: REGION, credentials }),
      logger: silentLogger,
      metrics: noMetrics,
      now: () => new Date(),
    };
    const drain = await drainQueues(
      sqs,
      bindings,
      (event, context) =>
        processSqsBatch(event, { ...mapper, remainingTimeMs: () => context.getRemainingTimeInMillis() }),
      () => lambdaContext('zero-loss', 30),
      { maxMillis: 100_000, concurrency: 2 },
    );
    proxy.setRates({ entryFailure: 0, callFailure: 0, connectionReset: 0 });
    // This run's faults (the proxy serves both variants).
    const faults = Object.fromEntries(
      Object.entries(proxy.counts).map(([k, v]) => [k, v - before[k as keyof typeof before]]),
    ) as typeof before;

    // Assess: read everything back and place every message.
    const seen = new Map<number, string[]>();
    const place = (n: number, where: string) => seen.set(n, [...(seen.get(n) ?? []), where]);
    let kinesisRecords = 0;
    for (const q of QUEUES) {
      const users = await readUserRecords(direct, `${q}-out`);
      kinesisRecords += new Set(users.map((u) => `${u.shardId}/${u.sequenceNumber}`)).size;
      for (const user of users) {
        place((JSON.parse(Buffer.from(user.data).toString()) as { n: number }).n, `${q}-out`);
      }
    }
    for (const record of await readStream(direct, `${prefix}-dlq`)) {
      const envelope = parseDlqEnvelope(record.data);
      const n = Number(/(\d+)/.exec(envelope.payload.data)?.[1]);
      place(n, `dlq:${envelope.reason}`);
    }
    const missing: number[] = [];
    const misplaced: number[] = [];
    let duplicates = 0;
    let written = 0;
    let dead = 0;
    for (const [n, want] of expected) {
      const places = seen.get(n) ?? [];
      if (places.length === 0) missing.push(n);
      const target = 'stream' in want ? want.stream : `dlq:${want.dlq}`;
      if (places.some((p) => p !== target)) misplaced.push(n);
      if (places.length > 1) duplicates += places.length - 1;
      if ('stream' in want) written++;
      else dead++;
    }
    console.log(
      `zero-loss (sqs-to-kinesis, ${prefix === 'zl' ? 'plain' : 'aggregated'}, seed ${SEED}): in ${MESSAGES}, written ${written} in ${kinesisRecords} Kinesis records, DLQ ${dead}, ` +
        `duplicates ${duplicates}, lost ${missing.length}; ${drain.invocations} invocations, ` +
        `${drain.handedBack} handed back; faults: ${faults.failedEntries} entries, ` +
        `${faults.failedCalls} calls, ${faults.resets} resets over ${faults.calls} calls`,
    );
    expect(drain.remaining).toBe(0);
    expect(missing).toEqual([]);
    expect(misplaced).toEqual([]);
    expect(faults.failedEntries).toBeGreaterThan(0);
    expect(faults.failedCalls).toBeGreaterThan(0);
    expect(duplicates).toBeLessThan(MESSAGES * (aggregation ? 0.15 : 0.05));
    // With aggregation, far fewer Kinesis records than messages; without, one each (and copies).
    if (aggregation) expect(kinesisRecords).toBeLessThan(written / 10);
    else expect(kinesisRecords).toBeGreaterThanOrEqual(written);
  }, 180_000);
});
