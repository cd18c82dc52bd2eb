/**
 * Per-group order on the emulators: 3,000 FIFO messages in 40 groups (about 3% unmappable)
 * through an SQS FIFO queue and event source held in memory (local/fifo-event-source.ts:
 * batches of 10, SQS FIFO's delivery rule, which local-aws-sqs does not keep, four pollers)
 * and the mapper, into Kinesis (kinesalite) behind the fault proxy: entry failures, call
 * failures, answers delayed past the SDK's request timeout, and connection resets (half of
 * them after the write reached the emulator). The streams are read back; per group, the
 * first occurrences in the target stream must follow queue order, every message must be in
 * its stream or the DLQ, and no message the writer was told was written may be handed back.
 * Seeded: SEED replays a run (see tests/setup/seed.ts).
 */
import { createHash } from 'node:crypto';
import { KinesisClient, type ListShardsCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startKinesalite } from '../../local/emulators.js';
import { type FaultProxy, startFaultProxy } from '../../local/fault-proxy.js';
import { drainFifo } from '../../local/fifo-event-source.js';
import { lambdaContext } from '../../local/lambda-context.js';
import { createStreams } from '../../local/provision.js';
import { readStream, readUserRecords } from '../../local/stream-reader.js';
import { createKinesisClient, keepAliveHandler } from '../../shared/core/aws-clients.js';
import { parseConfig } from '../../shared/core/config/load.js';
import { parseDlqEnvelope } from '../../shared/core/dlq.js';
import { shardMapCache } from '../../shared/core/kinesis-aggregation.js';
import { deaggregate } from '../../shared/core/kpl.js';
import { noMetrics, silentLogger } from '../../shared/core/observability.js';
import { prepareMapper, processSqsBatch } from '../../shared/sqs-to-kinesis/sqs-to-kinesis.js';
import { loadEvent, queueArn } from '../helpers/fixtures.js';
import { seedFromEnvironment } from '../setup/seed.js';

const MESSAGES = 3_000;
const GROUPS = 40;
const QUEUE = queueArn('fo-orders.fifo');
const SEED = seedFromEnvironment(process.env);
const REGION = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
/**
 * A short function timeout and a visibility timeout no shorter (AWS refuses a mapping whose
 * function timeout exceeds it), so that a handed-back message comes back within the run.
 */
const FUNCTION_TIMEOUT_SECONDS = 2;
const VISIBILITY_SECONDS = 2;
/** The writer keeps this much of the invocation back (3 s on Lambda; the calls here are local). */
const RESERVE_MS = 500;
/** The client's request timeout, and a proxy delay past it. */
const REQUEST_TIMEOUT_MS = 300;
const DELAY_MS = 450;

let kinesalite: Emulator;
let proxy: FaultProxy;

beforeAll(async () => {
  kinesalite = await startKinesalite();
  proxy = await startFaultProxy(kinesalite.endpoint, SEED);
});

afterAll(async () => {
  await Promise.all([proxy?.stop(), kinesalite?.stop()]);
});

interface Sent {
  n: number;
  group: string;
  /** Position in its group. */
  k: number;
  bad: boolean;
}

/** The seeded traffic: each message's group drawn from the seed, about 3% not JSON. */
function traffic(): Sent[] {
  const counts = new Map<string, number>();
  return Array.from({ length: MESSAGES }, (_, n) => {
    const draw = createHash('sha1').update(`${SEED}:${n}`).digest();
    const group = `customer-${draw.readUInt16BE(0) % GROUPS}`;
    const k = counts.get(group) ?? 0;
    counts.set(group, k + 1);
    return { n, group, k, bad: draw.readUInt8(2) < 8 };
  });
}

const bodyOf = (m: Sent) =>
  m.bad ? `not json #${m.n}#` : JSON.stringify({ n: m.n, group: m.group, k: m.k });
/** Message `m` as SQS delivers it, built from the FIFO sample event. */
function fifoRecord(m: Sent): SQSRecord {
  const record = loadEvent('sqs-fifo.json').Records[0] as SQSRecord;
  record.messageId = `fo-${m.n}`;
  record.eventSourceARN = QUEUE;
  record.attributes.MessageGroupId = m.group;
  record.attributes.SequenceNumber = String(m.n);
  record.body = bodyOf(m);
  return record;
}

const numberIn = (text: string) =>
  Number(
    /#(\d+)#|"n":(\d+)/
      .exec(text)
      ?.slice(1)
      .find((x) => x !== undefined),
  );

/** A client that also notes which bodies Kinesis confirmed as written (every message of an aggregated record). */
function confirmingClient(client: KinesisClient, confirmed: Set<number>, dlq: string) {
  return {
    async send(command: PutRecordsCommand | ListShardsCommand) {
      const out = await client.send(command as PutRecordsCommand);
      if (!(command instanceof PutRecordsCommand)) return out;
      (out.Records ?? []).forEach((result, i) => {
        const record = command.input.Records?.[i];
        if (!result.SequenceNumber || record?.Data === undefined) return;
        const data = typeof record.Data === 'string' ? Buffer.from(record.Data) : record.Data;
        for (const user of deaggregate({
          data,
          partitionKey: record.PartitionKey ?? '',
          sequenceNumber: '0',
        })) {
          const text = user.data.toString('utf8');
          confirmed.add(
            numberIn(command.input.StreamName === dlq ? parseDlqEnvelope(text).payload.data : text),
          );
        }
      });
      return out;
    },
  } as unknown as KinesisClient;
}

/** The run as written plain, and with KPL aggregation on the target (streams named apart). */
const VARIANTS = [
  { name: 'plain records', prefix: 'fo', aggregation: undefined },
  { name: 'KPL aggregation on', prefix: 'foa', aggregation: { format: 'kpl' } },
];

describe.each(VARIANTS)('FIFO order under injected faults ($name)', ({ prefix, aggregation }) => {
  it('keeps each group in queue order in the target stream, losing nothing, handing back nothing written', async () => {
    // Prepare: one FIFO route keyed by message group, its streams, its queue, the traffic.
    const TARGET = `${prefix}-orders`;
    const DLQ = `${prefix}-dlq`;
    const config = parseConfig(
      {
        streams: {
          [TARGET]: { capacity: { mode: 'PROVISIONED', shards: 2 }, ...(aggregation ? { aggregation } : {}) },
        },
        dlq: { stream: DLQ },
        sqsToKinesis: {
          routes: [
            {
              queueArn: QUEUE,
              visibilityTimeoutSeconds: 180,
              target: TARGET,
              partitionKey: { from: 'messageGroupId' },
              eventSource: { batchSize: 10 },
            },
          ],
        },
      },
      { stage: 'fo', params: {} },
    );
    const direct = new KinesisClient({
      endpoint: kinesalite.endpoint,
      region: REGION,
      credentials,
      requestHandler: keepAliveHandler(),
    });
    await createStreams(direct, config);
    const sent = traffic();

    // Act: faults on, drain the queue as Lambda's FIFO event source would.
    proxy.setRates({
      entryFailure: 0.15,
      callFailure: 0.05,
      connectionReset: 0.02,
      delay: 0.01,
      delayMs: DELAY_MS,
    });
    const kinesis = createKinesisClient({
      endpoint: proxy.endpoint,
      region: REGION,
      credentials,
      requestHandler: keepAliveHandler(REQUEST_TIMEOUT_MS),
    });
    const mapper = {
      ...prepareMapper(config),
      logger: silentLogger,
      metrics: noMetrics,
      now: () => new Date(),
    };
    const writtenThenHandedBack: string[] = [];
    // One shard-map cache for the run, as one container keeps it across invocations.
    const shardMaps = shardMapCache(kinesis);
    const started = Date.now();
    const before = { ...proxy.counts };
    const drain = await drainFifo(
      sent.map(fifoRecord),
      async (event: SQSEvent, context) => {
        const confirmed = new Set<number>();
        const response = await processSqsBatch(event, {
          ...mapper,
          shardMaps,
          kinesis: confirmingClient(kinesis, confirmed, DLQ),
          remainingTimeMs: () => context.getRemainingTimeInMillis(),
          policy: { maxAttempts: 3, baseDelayMs: 10, reserveMs: RESERVE_MS },
        });
        const bodies = new Map(event.Records.map((r) => [r.messageId, numberIn(r.body)]));
        for (const { itemIdentifier } of response.batchItemFailures) {
          const n = bodies.get(itemIdentifier) as number;
          if (confirmed.has(n)) writtenThenHandedBack.push(`#${n}`);
        }
        return response;
      },
      () => lambdaContext('fifo-order', FUNCTION_TIMEOUT_SECONDS),
      { maxMillis: 60_000, pollers: 4, visibilityTimeoutMs: VISIBILITY_SECONDS * 1000 },
    );
    proxy.setRates({ entryFailure: 0, callFailure: 0, connectionReset: 0, delay: 0 });
    // This run's faults (the proxy serves both variants).
    const faults = Object.fromEntries(
      Object.entries(proxy.counts).map(([k, v]) => [k, v - before[k as keyof typeof before]]),
    ) as typeof before;
    const drainMs = Date.now() - started;

    // Assess: read both streams back.
    const places = new Map<number, string[]>();
    const firstSeen = new Set<number>();
    const highest = new Map<string, number>();
    const violations: string[] = [];
    const users = await readUserRecords(direct, TARGET);
    const kinesisRecords = new Set(users.map((u) => `${u.shardId}/${u.sequenceNumber}`)).size;
    for (const record of users) {
      const m = sent[numberIn(Buffer.from(record.data).toString('utf8'))] as Sent;
      places.set(m.n, [...(places.get(m.n) ?? []), TARGET]);
      if (firstSeen.has(m.n)) continue;
      firstSeen.add(m.n);
      const top = highest.get(m.group) ?? -1;
      if (m.k < top) violations.push(`${m.group}: #${m.k} first written after #${top}`);
      highest.set(m.group, Math.max(top, m.k));
    }
    for (const record of await readStream(direct, DLQ)) {
      const n = numberIn(parseDlqEnvelope(record.data).payload.data);
      places.set(n, [...(places.get(n) ?? []), DLQ]);
    }
    const lost = sent.filter((m) => !places.has(m.n));
    const misplaced = sent.filter((m) => places.get(m.n)?.some((p) => p !== (m.bad ? DLQ : TARGET)));
    const duplicates = [...places.values()].reduce((sum, p) => sum + p.length - 1, 0);
    const dead = sent.filter((m) => m.bad).length;
    console.log(
      `fifo-order (${prefix === 'fo' ? 'plain' : 'aggregated'}, seed ${SEED}): in ${MESSAGES} over ${GROUPS} groups, written ${MESSAGES - dead} in ${kinesisRecords} Kinesis records, DLQ ${dead}, ` +
        `duplicates ${duplicates}, lost ${lost.length}, order violations ${violations.length}, ` +
        `written then handed back ${writtenThenHandedBack.length}; ${drain.invocations} invocations, ` +
        `${drain.handedBack} handed back, ${drainMs} ms; faults: ${faults.failedEntries} entries, ${faults.failedCalls} calls, ` +
        `${faults.resets} resets, ${faults.delayed} delayed past the timeout over ${faults.calls} calls`,
    );
    expect(drain.remaining).toBe(0);
    expect(lost).toEqual([]);
    expect(misplaced).toEqual([]);
    expect(violations).toEqual([]);
    expect(writtenThenHandedBack).toEqual([]);
    expect(faults.failedEntries).toBeGreaterThan(0);
    expect(faults.failedCalls).toBeGreaterThan(0);
    expect(faults.resets).toBeGreaterThan(0);
    expect(faults.delayed).toBeGreaterThan(0);
  }, 120_000);
});
