import type { EventBridgeEvent, FirehoseTransformationEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy } from '../../local/fault-proxy.js';
import { startPutRecordBatchStandIn } from '../../local/firehose-stand-in.js';
import { driveWindows } from '../../local/kinesis-window-driver.js';
import { lambdaContext } from '../../local/lambda-context.js';
import { createStreams } from '../../local/provision.js';
import { stockTrades } from '../../local/scenarios/kinesis-aggregator.js';
import { type LocalSession, startLocalSession } from '../../local/session.js';
import { readStream } from '../../local/stream-reader.js';
import { createKinesisClient } from '../../shared/core/aws-clients.js';
import type { FirehoseTransformConfig, KinesisAggregatorConfig } from '../../shared/core/config/schema.js';
import { parseDlqEnvelope } from '../../shared/core/dlq.js';
import { ResponseTooLargeError, RetryLaterError } from '../../shared/core/errors.js';
import { createFirehoseClient } from '../../shared/core/firehose-clients.js';
import { writeRecords } from '../../shared/core/kinesis-writer.js';
import { noMetrics, silentLogger } from '../../shared/core/observability.js';
import { TRACE_FIELD } from '../../shared/event-validator/event-validator.js';
import { compileTransform, transformBatch } from '../../shared/firehose-transform/firehose-transform.js';
import { aggregateWindow, prepareAggregator } from '../../shared/kinesis-aggregator/kinesis-aggregator.js';
import { loadEvent, type RawConfig } from '../helpers/fixtures.js';
import { aggregateWithLibrary } from '../helpers/kpl.js';
import { seedFromEnvironment } from '../setup/seed.js';

const SEED = seedFromEnvironment(process.env);
let session: LocalSession;

beforeAll(async () => {
  session = await startLocalSession();
});

afterAll(async () => {
  await session?.stop();
});

type Event = EventBridgeEvent<string, RawConfig>;

describe('zero loss under injected faults, per handler', () => {
  it('event-validator: every event republished or dead-lettered once, despite failing PutEvents entries and calls', async () => {
    // Prepare
    // The handler reaches EventBridge through the proxy, in front of the PutEvents stand-in.
    const proxy = await startFaultProxy(session.aws.eventBridge.endpoint, SEED);
    process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = proxy.endpoint;
    const { handler } = (await import('../../functions/event-validator/handler.js')) as {
      handler: (input: Event[], context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
    };
    await createStreams(session.kinesis, session.stage.config);
    const valid = loadEvent<Event>('eventbridge-valid.json');
    const invalid = loadEvent<Event>('eventbridge-invalid.json');
    const events = Array.from({ length: 1000 }, (_, i) => ({
      ...(i % 10 === 3 ? invalid : valid),
      id: `zl-${i}`,
    }));
    const dlqBefore = (await readStream(session.kinesis, session.stage.config.dlq.stream)).length;
    const published = session.aws.eventBridge.events.length;
    // Act
    proxy.setRates({ entryFailure: 0.1, callFailure: 0.02 });
    let retriedInvocations = 0;
    for (let i = 0; i < events.length; i += 25) {
      // A Pipes array: the source redelivers exactly the items named in batchItemFailures
      // (the whole batch only if the invocation throws), up to three deliveries.
      let pending = events.slice(i, i + 25);
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > 3) throw new RetryLaterError(`${pending.length} event(s) still handed back`);
        if (attempt > 1) retriedInvocations++;
        try {
          const response = (await handler(pending, lambdaContext('eventValidator', 30))) as {
            batchItemFailures: { itemIdentifier: string }[];
          };
          const back = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
          pending = pending.filter((e) => back.has(e.id));
        } catch (error) {
          expect(error).toBeInstanceOf(RetryLaterError);
        }
      }
    }
    proxy.setRates({ entryFailure: 0, callFailure: 0 });
    await proxy.stop();
    // Assess
    const republished = session.aws.eventBridge.events
      .slice(published)
      .map((e) => (e.detail as Record<string, { originalId: string }>)[TRACE_FIELD]?.originalId);
    const dlq = (await readStream(session.kinesis, session.stage.config.dlq.stream))
      .slice(dlqBefore)
      .map((r) => parseDlqEnvelope(r.data));
    const counts = new Map<string, number>();
    for (const id of [...republished, ...dlq.map((e) => e.source.id)])
      counts.set(id as string, (counts.get(id as string) ?? 0) + 1);
    const lost = events.filter((e) => !counts.has(e.id)).length;
    const duplicates = [...counts.values()].reduce((n, c) => n + c - 1, 0);
    console.log(
      `zero-loss (event-validator, seed ${SEED}): in 1000, republished ${new Set(republished).size}, DLQ ${dlq.length}, ` +
        `duplicates ${duplicates}, lost ${lost}; ${retriedInvocations} invocations retried; ` +
        `faults: ${proxy.counts.failedEntries} entries, ${proxy.counts.failedCalls} calls`,
    );
    expect(lost).toBe(0);
    expect(duplicates).toBe(0); // nothing written is handed back, so nothing is republished twice
    expect(
      dlq
        .filter((e) => e.reason !== 'INVALID_EVENT')
        .map((e) => `${e.reason}: ${e.message}`)
        .slice(0, 3),
    ).toEqual([]);
    expect(new Set(dlq.map((e) => e.source.id)).size).toBe(100);
  });

  it('kinesis-aggregator: every trade counted once per window despite failed output writes', async () => {
    // Prepare
    const ARRIVED_AT = new Date('2026-11-26T10:15:00.000Z');
    const config = session.stage.config;
    const settings = config.kinesisAggregator as KinesisAggregatorConfig;
    const isolated = {
      ...config,
      kinesisAggregator: { ...settings, output: { stream: 'zl-stats' } },
      streams: {
        ...config.streams,
        'zl-trades': {
          capacity: { mode: 'PROVISIONED' as const, shards: 2 },
          retentionHours: 24,
          maxRecordSizeKiB: 1024,
        },
        'zl-stats': {
          capacity: { mode: 'PROVISIONED' as const, shards: 1 },
          retentionHours: 24,
          maxRecordSizeKiB: 1024,
        },
      },
    };
    await createStreams(session.kinesis, isolated);
    const trades = stockTrades(1200);
    const kpl = [];
    for (let i = 0; i < trades.length; i += 100) {
      kpl.push(
        ...(await aggregateWithLibrary(
          trades
            .slice(i, i + 100)
            .map((t) => ({ partitionKey: `${t.tickerSymbol}-${i}`, data: Buffer.from(JSON.stringify(t)) })),
        )),
      );
    }
    await writeRecords(
      kpl.map((r) => ({ stream: 'zl-trades', partitionKey: r.partitionKey, data: r.data })),
      { kinesis: session.kinesis },
    );
    const proxy = await startFaultProxy(session.aws.kinesis.endpoint, SEED, {
      entryFailure: 0.5,
      callFailure: 0.1,
    });
    try {
      const deps = {
        ...prepareAggregator(isolated),
        kinesis: createKinesisClient({
          endpoint: proxy.endpoint,
          region: 'us-east-1',
          credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
        }),
        logger: silentLogger,
        metrics: noMetrics,
        // Fixed times: the proxy's decisions hash what is written, so the run replays by its seed.
        now: () => ARRIVED_AT,
        policy: { maxAttempts: 2, baseDelayMs: 5 },
      };
      // Act
      const drive = await driveWindows(
        session.kinesis,
        (event) => aggregateWindow(event, deps),
        () => lambdaContext('agg', 60),
        {
          streamName: 'zl-trades',
          streamArn: 'arn:aws:kinesis:us-east-1:123456789012:stream/zl-trades',
          region: 'us-east-1',
          windowSeconds: 3600,
          batchSize: 3,
          arrivedAt: ARRIVED_AT,
        },
      );
      // Assess
      const results = (await readStream(session.kinesis, 'zl-stats')).map((r) =>
        JSON.parse(Buffer.from(r.data).toString()),
      );
      const byKey = new Map<string, { records: number }>();
      for (const result of results) byKey.set(result.idempotencyKey, result);
      // A duplicate (a retried final invocation) carries the very same numbers as the first copy.
      const differing = results.filter(
        (r) => JSON.stringify(r) !== JSON.stringify(byKey.get(r.idempotencyKey)),
      );
      expect(differing).toEqual([]);
      const counted = [...byKey.values()].reduce((n, r) => n + r.records, 0);
      console.log(
        `zero-loss (kinesis-aggregator, seed ${SEED}): in 1200 trades (${kpl.length} KPL records), counted ${counted}, ` +
          `results ${byKey.size} (+${results.length - byKey.size} duplicates, dropped by idempotencyKey), ` +
          `lost ${1200 - counted}; ${drive.retriedFinals} final invocations retried; faults: ${proxy.counts.failedEntries} entries, ${proxy.counts.failedCalls} calls`,
      );
      expect(counted).toBe(1200);
      expect(drive.retriedFinals).toBeGreaterThan(0);
    } finally {
      await proxy.stop();
    }
  });

  it('firehose-transform: every record Ok, filtered, re-ingested or failed with its data, despite re-ingestion failures', async () => {
    // Prepare
    // Re-ingestion goes through the proxy to the PutRecordBatch stand-in.
    const standIn = await startPutRecordBatchStandIn();
    const proxy = await startFaultProxy(standIn.endpoint, SEED, { entryFailure: 0.2, callFailure: 0.05 });
    const settings = session.stage.config.firehoseTransform as FirehoseTransformConfig;
    const deps = {
      transform: compileTransform(settings, Buffer.from('k')),
      logger: silentLogger,
      metrics: noMetrics,
      kinesis: createKinesisClient(),
      firehose: createFirehoseClient({
        endpoint: proxy.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      }),
      policy: { maxAttempts: 2, baseDelayMs: 1 },
    };
    const reingested = () =>
      new Set((standIn.records.get('ses-events-local') ?? []).map((data) => data.toString('base64')));
    const open = loadEvent<RawConfig>('ses/open.json');
    let total = 0;
    let lost = 0;
    const tally = { ok: 0, filtered: 0, reingested: 0, failed: 0, batchRetries: 0 };
    // Act
    for (let b = 0; b < 6; b++) {
      const event: FirehoseTransformationEvent = {
        ...loadEvent<FirehoseTransformationEvent>('firehose-ses.json'),
        records: Array.from({ length: 40 }, (_, i) => {
          const copy = structuredClone(open);
          copy.mail.messageId = `zl-${b}-${i}`;
          copy.mail.tags.pad = ['p'.repeat(120_000)];
          if (i % 8 === 0) copy.eventType = 'Send'; // filtered by the config
          return {
            recordId: `${b}-${i}`,
            approximateArrivalTimestamp: 0,
            data: Buffer.from(JSON.stringify(copy)).toString('base64'),
          };
        }),
      };
      total += event.records.length;
      let response: Awaited<ReturnType<typeof transformBatch>> | undefined;
      for (let attempt = 1; attempt <= 4 && !response; attempt++) {
        try {
          response = await transformBatch(event, deps);
        } catch (error) {
          expect(error).toBeInstanceOf(ResponseTooLargeError); // Firehose retries the whole batch
          tally.batchRetries++;
        }
      }
      if (!response) throw new Error('batch never answered');
      expect(response.records.map((r) => r.recordId)).toEqual(event.records.map((r) => r.recordId));
      for (const [i, entry] of response.records.entries()) {
        const input = event.records[i] as (typeof event.records)[number];
        if (entry.result === 'Ok') tally.ok++;
        else if (entry.result === 'ProcessingFailed') {
          tally.failed++;
          if (entry.data !== input.data) lost++;
        } else if (i % 8 === 0) tally.filtered++;
        else if (reingested().has(input.data)) tally.reingested++;
        else lost++;
      }
    }
    // Assess
    console.log(
      `zero-loss (firehose-transform, seed ${SEED}): in ${total}, Ok ${tally.ok}, filtered ${tally.filtered}, ` +
        `re-ingested ${tally.reingested}, ProcessingFailed ${tally.failed}, lost ${lost}; ${tally.batchRetries} batch retries; ` +
        `faults: ${proxy.counts.failedEntries} entries, ${proxy.counts.failedCalls} calls`,
    );
    expect(lost).toBe(0);
    expect(tally.reingested).toBeGreaterThan(0);
    expect(proxy.counts.failedEntries).toBeGreaterThan(0);
    await proxy.stop();
    await standIn.stop();
  });
});
