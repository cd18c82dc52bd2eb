/**
 * The mapper against the naive pattern most tutorials show (one PutRecord per message,
 * awaited in a loop), both on the same Kinesis emulator and the same keep-alive client:
 * throughput, Kinesis requests per 10,000 messages, and client CPU per record. Then the
 * cost of per-group order on FIFO routes: requests per 10,000 FIFO messages over 40 groups
 * (SQS FIFO batches of 10), ordered, beside the same traffic batched as a standard queue is.
 * Last, KPL aggregation on write: records, requests and CPU beside the same write without it.
 */
import { createHash } from 'node:crypto';
import { type KinesisClient, PutRecordCommand, type PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { AwsJson1_1Protocol } from '@aws-sdk/core/protocols';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { createStream, createStreams } from '../../local/provision.js';
import { readStream } from '../../local/stream-reader.js';
import { createKinesisClient } from '../../shared/core/aws-clients.js';
import { parseConfig } from '../../shared/core/config/load.js';
import type { PipelineConfig } from '../../shared/core/config/schema.js';
import { noMetrics, silentLogger } from '../../shared/core/observability.js';
import { prepareMapper, processSqsBatch } from '../../shared/sqs-to-kinesis/sqs-to-kinesis.js';
import { type BenchContext, type BenchRow, type BenchSuite, measure } from '../harness.js';

export const MESSAGES = 10_000;
const BATCH_SIZE = 1_000;
const BODY_BYTES = 500;
const QUEUE = 'arn:aws:sqs:us-east-1:123456789012:bench-visits';

/** Measured runs per variant (the median is reported), after WARMUP runs that are not. */
const RUNS = 5;
const WARMUP = 2;

/** One route from the bench queue into `stream`, keyed by the user id. */
function routeConfig(
  stream: string,
  {
    shards,
    batchSize,
    body,
    aggregated = false,
  }: { shards: number; batchSize: number; body?: object; aggregated?: boolean },
) {
  return parseConfig(
    {
      streams: {
        [stream]: {
          capacity: { mode: 'PROVISIONED', shards },
          ...(aggregated ? { aggregation: { format: 'kpl' } } : {}),
        },
      },
      dlq: { stream: 'bench-dlq' },
      sqsToKinesis: {
        routes: [
          {
            queueArn: QUEUE,
            visibilityTimeoutSeconds: 180,
            target: stream,
            partitionKey: { from: 'body', path: 'user.id' },
            ...(body ? { body } : {}),
            eventSource: { batchSize, maximumBatchingWindowInSeconds: 1 },
          },
        ],
      },
    },
    { stage: 'bench', params: {} },
  );
}

/** The mapper rows' route: the body written as received, or reshaped like the page-visits route. */
function benchConfig(stream: string, reshape: boolean) {
  const body = reshape
    ? {
        format: 'json',
        keep: ['page', 'user.id', 'referrer', 'at', 'pad'],
        rename: { 'user.id': 'userId' },
        addMetadata: { queueArn: '_queue', messageId: '_messageId', sentTimestamp: '_sentAt' },
      }
    : { format: 'json' };
  return routeConfig(stream, { shards: 4, batchSize: BATCH_SIZE, body });
}

/** SQS records of about BODY_BYTES each, shaped as Lambda delivers them. */
export function benchRecords(count: number): SQSRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const base = {
      page: `/products/${i % 977}`,
      user: { id: `u-${i % 5003}` },
      referrer: 'https://example.org/',
      at: i,
    };
    const pad = 'x'.repeat(Math.max(0, BODY_BYTES - JSON.stringify(base).length - 10));
    return {
      messageId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      receiptHandle: `rh-${i}`,
      body: JSON.stringify({ ...base, pad }),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '1795250000000',
        SenderId: 'AIDAEXAMPLE',
        ApproximateFirstReceiveTimestamp: '1795250000001',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: QUEUE,
      awsRegion: 'us-east-1',
    };
  });
}

/** The tutorial pattern: parse, pick the key, PutRecord, await, next. */
async function naive(kinesis: KinesisClient, records: readonly SQSRecord[]): Promise<number> {
  let failures = 0;
  for (const record of records) {
    try {
      const body = JSON.parse(record.body) as { user: { id: string } };
      await kinesis.send(
        new PutRecordCommand({
          StreamName: 'bench-naive',
          PartitionKey: body.user.id,
          Data: Buffer.from(record.body),
        }),
      );
    } catch {
      failures++;
    }
  }
  return failures;
}

/** Sends `records` through the mapper in SQS batches of `batchSize`; returns how many were handed back. */
async function sendBatches(
  kinesis: KinesisClient,
  records: readonly SQSRecord[],
  prepared: ReturnType<typeof prepareMapper>,
  batchSize: number,
): Promise<number> {
  let failures = 0;
  for (let i = 0; i < records.length; i += batchSize) {
    const event: SQSEvent = { Records: records.slice(i, i + batchSize) as SQSRecord[] };
    const response = await processSqsBatch(event, {
      ...prepared,
      kinesis,
      logger: silentLogger,
      metrics: noMetrics,
      now: () => new Date(),
      remainingTimeMs: () => 30_000,
    });
    failures += response.batchItemFailures.length;
  }
  return failures;
}

async function mapper(
  kinesis: KinesisClient,
  records: readonly SQSRecord[],
  config: PipelineConfig,
): Promise<number> {
  return sendBatches(kinesis, records, prepareMapper(config), BATCH_SIZE);
}

/**
 * CPU per record of our own code alone: the same batches with `send` answering at once,
 * so the SDK's serialisation, signing and HTTP are left out.
 */
async function coreCpuPerRecord(records: readonly SQSRecord[], config: PipelineConfig): Promise<number> {
  const stub = {
    send: async (command: PutRecordsCommand) => ({
      FailedRecordCount: 0,
      Records: (command.input.Records ?? []).map(() => ({
        SequenceNumber: '1',
        ShardId: 'shardId-000000000000',
      })),
      $metadata: {},
    }),
  } as unknown as KinesisClient;
  const cpus: number[] = [];
  for (let run = 0; run < WARMUP + RUNS; run++) {
    const result = await measure(() => mapper(stub, records, config));
    if (run >= WARMUP) cpus.push(result.cpuMicros / records.length);
  }
  return median(cpus);
}

/** The FIFO cost figure: 10k messages over 40 groups, in SQS FIFO batches of 10. */
const FIFO_GROUPS = 40;
const FIFO_BATCH = 10;
const FIFO_QUEUE = 'arn:aws:sqs:us-east-1:123456789012:bench-orders.fifo';
/** The same traffic from a standard queue: no order kept, today's batching. */
const STANDARD_QUEUE = 'arn:aws:sqs:us-east-1:123456789012:bench-orders';

function fifoConfig() {
  const route = (queueArn: string, partitionKey: object) => ({
    queueArn,
    visibilityTimeoutSeconds: 180,
    target: 'bench-orders',
    partitionKey,
    eventSource: { batchSize: FIFO_BATCH },
  });
  return parseConfig(
    {
      streams: { 'bench-orders': {} },
      dlq: { stream: 'bench-dlq' },
      sqsToKinesis: {
        routes: [
          route(FIFO_QUEUE, { from: 'messageGroupId' }),
          route(STANDARD_QUEUE, { from: 'body', path: 'user.id' }),
        ],
      },
    },
    { stage: 'bench', params: {} },
  );
}

type Arrangement = 'groups interleaved' | 'groups at random' | 'batches of one group';

/** Group of message `i`: in turn, drawn (a fixed hash, so runs compare), or ten at a time. */
function groupOf(i: number, arrangement: Arrangement): number {
  if (arrangement === 'groups interleaved') return i % FIFO_GROUPS;
  if (arrangement === 'groups at random') {
    return createHash('sha1').update(String(i)).digest().readUInt32BE(0) % FIFO_GROUPS;
  }
  return Math.floor(i / FIFO_BATCH) % FIFO_GROUPS;
}

/**
 * FIFO records over 40 groups. 'batches of one group' is how SQS FIFO tends to fill a batch
 * (as many messages of one group as it can): the worst case for one entry per group in flight.
 */
function fifoRecords(queueArn: string, arrangement: Arrangement): SQSRecord[] {
  return benchRecords(MESSAGES).map((record, i) => {
    const group = groupOf(i, arrangement);
    return {
      ...record,
      eventSourceARN: queueArn,
      attributes: { ...record.attributes, MessageGroupId: `customer-${group}` },
    };
  });
}

/** PutRecords calls for MESSAGES records in batches of 10 (Kinesis answering at once). */
async function requestsPer10k(records: readonly SQSRecord[], config: PipelineConfig): Promise<number> {
  let calls = 0;
  const stub = {
    send: async (command: PutRecordsCommand) => {
      calls++;
      const Records = (command.input.Records ?? []).map(() => ({
        SequenceNumber: '1',
        ShardId: 'shardId-0',
      }));
      return { FailedRecordCount: 0, Records, $metadata: {} };
    },
  } as unknown as KinesisClient;
  const prepared = prepareMapper(config);
  for (let i = 0; i < records.length; i += FIFO_BATCH) {
    const event: SQSEvent = { Records: records.slice(i, i + FIFO_BATCH) as SQSRecord[] };
    const response = await processSqsBatch(event, {
      ...prepared,
      kinesis: stub,
      logger: silentLogger,
      metrics: noMetrics,
      now: () => new Date(),
    });
    if (response.batchItemFailures.length > 0) throw new Error('FIFO bench: messages handed back');
  }
  return (calls * 10_000) / records.length;
}

/** Rows: requests per 10k FIFO messages with per-group order kept, beside today's batching. */
export async function fifoOrderRows(log: (line: string) => void): Promise<BenchRow[]> {
  const config = fifoConfig();
  const rows: BenchRow[] = [];
  const arrangements: Arrangement[] = ['groups interleaved', 'groups at random', 'batches of one group'];
  for (const arrangement of arrangements) {
    const ordered = await requestsPer10k(fifoRecords(FIFO_QUEUE, arrangement), config);
    const batched = await requestsPer10k(fifoRecords(STANDARD_QUEUE, arrangement), config);
    log(`FIFO, ${arrangement}: ${ordered} requests ordered, ${batched} batched`);
    rows.push({
      suite: 'sqs-to-kinesis (FIFO order)',
      metric: `Kinesis requests / 10k msgs, ${arrangement}`,
      unit: 'req',
      ours: ordered,
      baseline: batched,
      target: '<= 10k (one PutRecord each)',
      met: ordered <= MESSAGES,
    });
  }
  return rows;
}

/**
 * The PutRecords fast path (shared/core/kinesis-protocol.ts) against the SDK's own serializer,
 * on the plain mapper route: RUNS interleaved pairs after a warm-up pair, median CPU per record.
 */
export async function fastPathRows(ctx: BenchContext, records: readonly SQSRecord[]): Promise<BenchRow[]> {
  const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
  const clients = {
    fast: createKinesisClient({ endpoint: ctx.kinesisEmulator.endpoint, region: ctx.region, credentials }),
    sdk: createKinesisClient({
      endpoint: ctx.kinesisEmulator.endpoint,
      region: ctx.region,
      credentials,
      protocol: AwsJson1_1Protocol,
    }),
  };
  const cpus: Record<keyof typeof clients, number[]> = { fast: [], sdk: [] };
  for (let run = 0; run < 1 + RUNS; run++) {
    for (const name of ['fast', 'sdk'] as const) {
      const config = benchConfig(`bench-fastpath-${name}-${run}`, false);
      await createStreams(clients.fast, config);
      const result = await measure(() => mapper(clients[name], records, config));
      if (result.result > 0) throw new Error(`fast path bench: ${result.result} messages handed back`);
      if (run > 0) cpus[name].push(result.cpuMicros / records.length);
    }
  }
  const fast = median(cpus.fast);
  const sdk = median(cpus.sdk);
  ctx.log(`PutRecords fast path: ${fast.toFixed(2)} us CPU/record, the SDK's serializer ${sdk.toFixed(2)}`);
  return [
    {
      suite: 'sqs-to-kinesis (mapper)',
      metric: "client CPU per record, fast path vs the SDK's serializer",
      unit: 'us',
      ours: fast,
      baseline: sdk,
      target: "< the SDK's",
      met: fast < sdk,
    },
  ];
}

/** The aggregation figure: 10k messages of 500 B, SQS batches of 100, a 2-shard stream. */
const AGGREGATION_BATCH = 100;

function aggregationConfig(stream: string, aggregated: boolean) {
  return routeConfig(stream, { shards: 2, batchSize: AGGREGATION_BATCH, aggregated });
}

/** One pass of MESSAGES through the mapper in batches of 100: CPU, requests, records on the stream. */
async function aggregationRun(
  ctx: BenchContext,
  records: readonly SQSRecord[],
  stream: string,
  aggregated: boolean,
) {
  const config = aggregationConfig(stream, aggregated);
  const setup = ctx.kinesisClient();
  await createStreams(setup.client, config);
  const counted = ctx.kinesisClient();
  const prepared = prepareMapper(config);
  const { result: handedBack, cpuMicros } = await measure(() =>
    sendBatches(counted.client, records, prepared, AGGREGATION_BATCH),
  );
  if (handedBack > 0) throw new Error(`aggregation bench: ${handedBack} messages handed back`);
  const written = await readStream(setup.client, stream);
  return { cpuPerMessage: cpuMicros / records.length, requests: counted.requests(), records: written.length };
}

/**
 * Rows: KPL aggregation on write against the same write without it, in the same run,
 * alternating (plain, aggregated) RUNS times after a warm-up pair; medians.
 */
export async function aggregationRows(ctx: BenchContext): Promise<BenchRow[]> {
  const records = benchRecords(MESSAGES);
  const runs: Record<'plain' | 'aggregated', Awaited<ReturnType<typeof aggregationRun>>[]> = {
    plain: [],
    aggregated: [],
  };
  for (let run = 0; run < 1 + RUNS; run++) {
    for (const aggregated of [false, true]) {
      const result = await aggregationRun(ctx, records, `bench-agg-${aggregated}-${run}`, aggregated);
      if (run === 0) continue; // warm-up
      runs[aggregated ? 'aggregated' : 'plain'].push(result);
      ctx.log(
        `aggregation ${aggregated ? 'on ' : 'off'} run ${run}: ${result.records} Kinesis records, ${result.requests} requests, ${result.cpuPerMessage.toFixed(2)} us CPU/message`,
      );
    }
  }
  const med = (side: 'plain' | 'aggregated', pick: (r: (typeof runs)['plain'][number]) => number) =>
    median(runs[side].map(pick));
  const suite = 'sqs-to-kinesis (KPL aggregation, 2 shards, batches of 100)';
  const written = Math.max(...runs.aggregated.map((r) => r.records));
  const cpu = med('aggregated', (r) => r.cpuPerMessage);
  const plainCpu = med('plain', (r) => r.cpuPerMessage);
  const requests = med('aggregated', (r) => r.requests);
  const plainRequests = med('plain', (r) => r.requests);
  return [
    {
      suite,
      metric: 'Kinesis records / 10k x 500 B',
      unit: 'rec',
      ours: written,
      baseline: med('plain', (r) => r.records),
      target: '<= 200',
      met: written <= 200,
    },
    {
      suite,
      metric: 'Kinesis requests / 10k msgs (ListShards included)',
      unit: 'req',
      ours: requests,
      baseline: plainRequests,
      target: '<= baseline + 1 (one ListShards)',
      met: requests <= plainRequests + 1,
    },
    {
      suite,
      metric: 'client CPU per message',
      unit: 'us',
      ours: cpu,
      baseline: plainCpu,
      // The issue sets no CPU target here: reported beside the same write without aggregation.
      target: '(reported, no target)',
      met: true,
    },
  ];
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

export const sqsToKinesisBench: BenchSuite = {
  name: 'sqs-to-kinesis',
  async run(ctx) {
    const setup = ctx.kinesisClient();
    const configs = new Map<string, PipelineConfig>();
    for (const reshape of [false, true]) {
      for (let run = 0; run < WARMUP + RUNS; run++) {
        const config = benchConfig(`bench-${reshape ? 'reshape' : 'mapper'}-${run}`, reshape);
        configs.set(`${reshape}-${run}`, config);
        await createStreams(setup.client, config);
      }
    }
    await createStream(setup.client, 'bench-naive', {
      capacity: { mode: 'PROVISIONED', shards: 4 },
      retentionHours: 24,
      maxRecordSizeKiB: 1024,
    });
    const records = benchRecords(MESSAGES);

    // Warm both paths (JIT, sockets) first; the mapper's first WARMUP runs are not measured.
    await naive(setup.client, records.slice(0, 200));
    const baselineClient = ctx.kinesisClient();
    const base = await measure(() => naive(baselineClient.client, records));
    const baseThroughput = MESSAGES / (base.wallMs / 1000);
    ctx.log(
      `naive: ${base.wallMs.toFixed(0)} ms, ${baselineClient.requests()} requests, ${base.result} failed`,
    );

    const rows: BenchRow[] = [];
    for (const reshape of [false, true]) {
      const label = reshape ? 'mapper, reshaping' : 'mapper';
      // One client for all runs, as a warm function keeps the one it built at cold start.
      const ours = ctx.kinesisClient();
      for (let run = 0; run < WARMUP; run++) {
        await mapper(ours.client, records, configs.get(`${reshape}-${run}`) as PipelineConfig);
      }
      const throughputs: number[] = [];
      const cpus: number[] = [];
      const requests: number[] = [];
      for (let run = WARMUP; run < WARMUP + RUNS; run++) {
        const before = ours.requests();
        const result = await measure(() =>
          mapper(ours.client, records, configs.get(`${reshape}-${run}`) as PipelineConfig),
        );
        if (result.result > 0)
          throw new Error(`${label}: ${result.result} messages were handed back during the bench`);
        const sent = ours.requests() - before;
        throughputs.push(MESSAGES / (result.wallMs / 1000));
        cpus.push(result.cpuMicros / MESSAGES);
        requests.push(sent);
        ctx.log(
          `${label} run ${run - WARMUP + 1}: ${result.wallMs.toFixed(0)} ms, ${sent} requests, ${(result.cpuMicros / MESSAGES).toFixed(2)} us CPU/record`,
        );
      }
      const suite = `sqs-to-kinesis (${label})`;
      const core = await coreCpuPerRecord(records, configs.get(`${reshape}-0`) as PipelineConfig);
      const throughput = median(throughputs);
      const cpu = median(cpus);
      const maxRequests = Math.max(...requests);
      rows.push(
        {
          suite,
          metric: 'throughput, 10k x 500 B',
          unit: 'msg/s',
          ours: throughput,
          baseline: baseThroughput,
          target: '>= 10x baseline',
          met: throughput >= 10 * baseThroughput,
        },
        {
          suite,
          metric: 'Kinesis requests / 10k msgs',
          unit: 'req',
          ours: maxRequests,
          baseline: baselineClient.requests(),
          target: '<= 21',
          met: maxRequests <= 21,
        },
        {
          suite,
          metric: 'client CPU per record',
          unit: 'us',
          ours: cpu,
          baseline: base.cpuMicros / MESSAGES,
          target: '<= 8 us',
          met: cpu <= 8,
        },
        {
          suite,
          metric: '  of which mapping + batching',
          unit: 'us',
          ours: core,
          baseline: null,
          target: '(SDK send stubbed)',
          met: true,
        },
      );
    }
    rows.push(...(await fastPathRows(ctx, records)));
    rows.push(...(await fifoOrderRows(ctx.log)));
    rows.push(...(await aggregationRows(ctx)));
    return rows;
  },
};
