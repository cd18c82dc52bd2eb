/**
 * KPL aggregation on write, on both Kinesis emulators: messages go through the mapper into
 * streams with `aggregation`, and are read back by the readers users have: aws-kinesis-agg
 * (the library, checksums on, not our decoder) and our own kinesis-aggregator. Each message
 * must come back exactly once, with its own partition key, on the shard that key hashes to;
 * and the records written must be few. The client is the handlers' own, so its PutRecords
 * fast path (shared/core/kinesis-protocol.ts) is tested against both emulators here too.
 */
import {
  DescribeStreamSummaryCommand,
  type KinesisClient,
  ListShardsCommand,
  type Shard,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startKinesalite, startKinesis } from '../../local/emulators.js';
import { driveWindows } from '../../local/kinesis-window-driver.js';
import { lambdaContext } from '../../local/lambda-context.js';
import { createStreams } from '../../local/provision.js';
import { readStream, type StreamRecord } from '../../local/stream-reader.js';
import { createKinesisClient } from '../../shared/core/aws-clients.js';
import { parseConfig } from '../../shared/core/config/load.js';
import type { PipelineConfig } from '../../shared/core/config/schema.js';
import { fastPathUse } from '../../shared/core/kinesis-protocol.js';
import { noMetrics, silentLogger } from '../../shared/core/observability.js';
import { aggregateWindow, prepareAggregator } from '../../shared/kinesis-aggregator/kinesis-aggregator.js';
import { prepareMapper, processSqsBatch } from '../../shared/sqs-to-kinesis/sqs-to-kinesis.js';
import { recordingLogger } from '../helpers/doubles.js';
import { landingShard } from '../helpers/faulty-kinesis.js';
import { loadEvent, queueArn } from '../helpers/fixtures.js';
import { deaggregateWithLibrary } from '../helpers/kpl.js';

const REGION = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const BATCH = 100;

/** A route from queue `queue` to `target`, keyed by the body field `key`, in batches of BATCH. */
const route = (queue: string, target: string, key: string) => ({
  queueArn: queueArn(queue),
  visibilityTimeoutSeconds: 180,
  target,
  partitionKey: { from: 'body', path: key },
  eventSource: { batchSize: BATCH, maximumBatchingWindowInSeconds: 1 },
});

const config: PipelineConfig = parseConfig(
  {
    streams: {
      'kpl-two': { capacity: { mode: 'PROVISIONED', shards: 2 }, aggregation: { format: 'kpl' } },
      'kpl-four': { capacity: { mode: 'PROVISIONED', shards: 4 }, aggregation: { format: 'kpl' } },
      'kpl-stats': { capacity: { mode: 'PROVISIONED', shards: 1 } },
    },
    dlq: { stream: 'kpl-dlq' },
    sqsToKinesis: {
      routes: [route('kpl-small', 'kpl-two', 'user'), route('kpl-trades', 'kpl-four', 'account')],
    },
    kinesisAggregator: {
      input: { stream: 'kpl-four', batchSize: 500, tumblingWindowInSeconds: 60 },
      output: { stream: 'kpl-stats' },
      groupBy: 'ticker',
      metrics: { trades: { op: 'count' }, volume: { op: 'sum', path: 'quantity' } },
    },
  },
  { stage: 'kpl', params: {} },
);

/** Message `n` as SQS delivers it from `queue`. */
function sqsRecord(queue: string, n: number, body: string): SQSRecord {
  const record = loadEvent('sqs-standard.json').Records[0] as SQSRecord;
  return { ...record, messageId: `kpl-${n}`, eventSourceARN: queueArn(queue), body };
}

/** A body of exactly 500 bytes. */
function smallBody(n: number): string {
  const start = JSON.stringify({ n, user: `user-${(n * 7919) % 1000}`, pad: '' });
  return JSON.stringify({ n, user: `user-${(n * 7919) % 1000}`, pad: 'x'.repeat(500 - start.length) });
}

interface ReadBack {
  records: StreamRecord[];
  users: { n: number; partitionKey: string; shardId: string }[];
  shards: Shard[];
}

/** A stream read back and opened by aws-kinesis-agg. */
async function readWithLibrary(kinesis: KinesisClient, stream: string): Promise<ReadBack> {
  const records = await readStream(kinesis, stream);
  const users: ReadBack['users'] = [];
  for (const record of records) {
    const opened = await deaggregateWithLibrary({
      data: Buffer.from(record.data).toString('base64'),
      partitionKey: record.partitionKey,
      sequenceNumber: record.sequenceNumber,
    });
    for (const user of opened) {
      const body = JSON.parse(Buffer.from(user.data, 'base64').toString('utf8')) as { n: number };
      users.push({ n: body.n, partitionKey: user.partitionKey, shardId: record.shardId });
    }
  }
  const shards = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
  return { records, users, shards };
}

/** Waits until a resharded stream is ACTIVE again. */
async function waitActive(kinesis: KinesisClient, stream: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
    if (summary.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${stream} did not become ACTIVE after the split`);
}

const EMULATORS = [
  { name: 'kinesis-local', start: () => startKinesis({ region: REGION, accountId: '123456789012' }) },
  { name: 'kinesalite', start: () => startKinesalite() },
];

describe.each(EMULATORS)('aggregation on write, on $name', ({ start }) => {
  let emulator: Emulator;
  let kinesis: KinesisClient;

  beforeAll(async () => {
    emulator = await start();
    // The client the handlers build: PutRecords through the fast path (kinesis-protocol.ts).
    kinesis = createKinesisClient({ endpoint: emulator.endpoint, region: REGION, credentials });
    await createStreams(kinesis, config);
  });

  afterAll(async () => {
    kinesis?.destroy();
    await emulator?.stop();
  });

  it('writes 10,000 messages of 500 B in at most 200 records on 2 shards; aws-kinesis-agg reads each once, with its key, on its shard', async () => {
    // Prepare
    const mapper = { ...prepareMapper(config), kinesis, metrics: noMetrics, now: () => new Date() };
    const logger = recordingLogger();
    // Act: 100 batches of 100, as the event source would deliver them.
    const fastBefore = fastPathUse.requests;
    let handedBack = 0;
    for (let start = 0; start < 10_000; start += BATCH) {
      const Records = Array.from({ length: BATCH }, (_, k) =>
        sqsRecord('kpl-small', start + k, smallBody(start + k)),
      );
      const response = await processSqsBatch({ Records } as SQSEvent, { ...mapper, logger });
      handedBack += response.batchItemFailures.length;
    }
    // Assess
    const { records, users, shards } = await readWithLibrary(kinesis, 'kpl-two');
    expect(handedBack).toBe(0);
    expect(fastPathUse.requests - fastBefore).toBeGreaterThanOrEqual(100);
    expect(records.length).toBeLessThanOrEqual(200);
    expect(users.map((u) => u.n).sort((a, b) => a - b)).toEqual(Array.from({ length: 10_000 }, (_, n) => n));
    for (const user of users) {
      expect(user.partitionKey).toBe(`user-${(user.n * 7919) % 1000}`);
      expect(user.shardId).toBe(landingShard(shards, user.partitionKey));
    }
    // The mapper's log says how many Kinesis records each batch became.
    const logged = logger.lines.filter((l) => l.message === 'Batch processed');
    expect(logged).toHaveLength(100);
    const kinesisRecords = logged.map((l) => (l.extra[0] as { kinesisRecords: number }).kinesisRecords);
    expect(kinesisRecords.reduce((a, b) => a + b, 0)).toBe(records.length);
    console.log(
      `kpl-aggregation: 10,000 messages of 500 B in ${records.length} Kinesis records on 2 shards (batches of ${BATCH})`,
    );
  });

  it('after a shard split, finds the new shards at once: the batch after the split is on its own shards again', async () => {
    // Prepare: a stream of its own, written once so that its 2-shard map is cached.
    const splitConfig = parseConfig(
      {
        streams: {
          'kpl-split': { capacity: { mode: 'PROVISIONED', shards: 2 }, aggregation: { format: 'kpl' } },
        },
        dlq: { stream: 'kpl-dlq' },
        sqsToKinesis: {
          routes: [route('kpl-split', 'kpl-split', 'user')],
        },
      },
      { stage: 'kpl', params: {} },
    );
    await createStreams(kinesis, splitConfig);
    const logger = recordingLogger();
    const mapper = {
      ...prepareMapper(splitConfig),
      kinesis,
      logger,
      metrics: noMetrics,
      now: () => new Date(),
    };
    const batch = (from: number) =>
      ({
        Records: Array.from({ length: BATCH }, (_, k) =>
          sqsRecord('kpl-split', from + k, smallBody(from + k)),
        ),
      }) as SQSEvent;
    await processSqsBatch(batch(0), mapper);
    // Act: split the first shard in two, then write three more batches.
    const before = (await kinesis.send(new ListShardsCommand({ StreamName: 'kpl-split' }))).Shards ?? [];
    const first = before[0] as Shard;
    const middle =
      (BigInt(first.HashKeyRange?.StartingHashKey as string) +
        BigInt(first.HashKeyRange?.EndingHashKey as string)) /
      2n;
    await kinesis.send(
      new SplitShardCommand({
        StreamName: 'kpl-split',
        ShardToSplit: first.ShardId as string,
        NewStartingHashKey: String(middle),
      }),
    );
    await waitActive(kinesis, 'kpl-split');
    for (const from of [BATCH, 2 * BATCH, 3 * BATCH]) {
      const response = await processSqsBatch(batch(from), mapper);
      expect(response.batchItemFailures).toEqual([]);
    }
    // Assess: nothing lost; the first batch after the split found the map stale (the logged
    // warning), and every message of the last batch is on the open shard its key hashes to.
    const { users, shards } = await readWithLibrary(kinesis, 'kpl-split');
    expect(users.map((u) => u.n).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 4 * BATCH }, (_, n) => n),
    );
    const open = shards.filter((s) => s.SequenceNumberRange?.EndingSequenceNumber === undefined);
    expect(open).toHaveLength(3);
    expect(logger.lines.filter((l) => l.message.includes('shard map refreshed'))).toHaveLength(1);
    for (const user of users.filter((u) => u.n >= 3 * BATCH)) {
      expect(user.shardId).toBe(landingShard(open, user.partitionKey));
    }
  });

  it('on 4 shards, keeps every trade on its own shard, and our aggregator counts each once', async () => {
    // Prepare: 2,000 trades over 50 accounts and 5 tickers.
    const tickers = ['AMZN', 'MSFT', 'NVDA', 'AAPL', 'GOOG'];
    const trades = Array.from({ length: 2000 }, (_, n) => ({
      n,
      account: `acct-${n % 50}`,
      ticker: tickers[(n * 3) % 5] as string,
      quantity: (n % 9) + 1,
    }));
    const mapper = {
      ...prepareMapper(config),
      kinesis,
      logger: silentLogger,
      metrics: noMetrics,
      now: () => new Date(),
    };
    // Act
    for (let start = 0; start < trades.length; start += BATCH) {
      const Records = trades
        .slice(start, start + BATCH)
        .map((t) => sqsRecord('kpl-trades', t.n, JSON.stringify(t)));
      const response = await processSqsBatch({ Records } as SQSEvent, mapper);
      expect(response.batchItemFailures).toEqual([]);
    }
    const { records, users, shards } = await readWithLibrary(kinesis, 'kpl-four');
    // Assess: the library reads every trade once, each on its own account's shard, all 4 shards used.
    expect(users.map((u) => u.n).sort((a, b) => a - b)).toEqual(trades.map((t) => t.n));
    for (const user of users) expect(user.shardId).toBe(landingShard(shards, `acct-${user.n % 50}`));
    expect(new Set(users.map((u) => u.shardId)).size).toBe(4);
    expect(records.length).toBeLessThanOrEqual((trades.length / BATCH) * 4);
    // ...and so does our aggregator, reading the same stream as Lambda would hand it over.
    const aggregator = {
      ...prepareAggregator(config),
      kinesis,
      logger: silentLogger,
      metrics: noMetrics,
      now: () => new Date('2026-11-26T10:00:00.000Z'),
    };
    await driveWindows(
      kinesis,
      (event) => aggregateWindow(event, aggregator),
      () => lambdaContext('kpl-aggregator', 60),
      {
        streamName: 'kpl-four',
        streamArn: 'arn:aws:kinesis:us-east-1:123456789012:stream/kpl-four',
        region: REGION,
        windowSeconds: 3600,
        batchSize: 500,
        arrivedAt: new Date('2026-11-26T10:00:00.000Z'),
      },
    );
    const results = (await readStream(kinesis, 'kpl-stats')).map(
      (r) =>
        JSON.parse(Buffer.from(r.data).toString()) as {
          group: string;
          records: number;
          metrics: { volume: number };
        },
    );
    for (const ticker of tickers) {
      const mine = trades.filter((t) => t.ticker === ticker);
      const rows = results.filter((r) => r.group === ticker);
      expect(
        rows.reduce((sum, r) => sum + r.records, 0),
        ticker,
      ).toBe(mine.length);
      expect(
        rows.reduce((sum, r) => sum + r.metrics.volume, 0),
        ticker,
      ).toBe(mine.reduce((sum, t) => sum + t.quantity, 0));
    }
  });
});
