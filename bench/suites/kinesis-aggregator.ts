/**
 * The aggregator: KPL de-aggregation against aws-kinesis-agg's deaggregateSync (MD5 checked
 * on both sides), and the whole handler on a 6 MB batch (one non-final invocation).
 */

import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { KinesisStreamRecord } from 'aws-lambda';
import { stockTrades } from '../../local/scenarios/kinesis-aggregator.js';
import type { KinesisAggregatorConfig } from '../../shared/core/config/schema.js';
import { deaggregate } from '../../shared/core/kpl.js';
import { noMetrics, silentLogger } from '../../shared/core/observability.js';
import { compileReducer } from '../../shared/kinesis-aggregator/aggregation.js';
import {
  aggregateWindow,
  prepareAggregator,
  type TumblingWindowEvent,
} from '../../shared/kinesis-aggregator/kinesis-aggregator.js';
import { aggregateWithLibrary, deaggregateWithLibrary } from '../../tests/helpers/kpl.js';
import { loadStageConfig } from '../../tools/lib/config-files.js';
import { type BenchRow, type BenchSuite, median } from '../harness.js';

const RUNS = 7;

/** Where each user record's bytes sit in its Kinesis record's decoded data. */
type Spans = [start: number, end: number][];

/**
 * The user records' spans of each record, found once by our de-aggregator (and checked), so
 * that the floor below pays for none of it.
 */
function userRecordSpans(records: readonly { data: string; partitionKey: string; sequenceNumber: string }[]) {
  return records.map((record): Spans => {
    const decoded = Buffer.from(record.data, 'base64');
    return deaggregate(record).map(({ data }) => {
      const span: [number, number] = [data.byteOffset, data.byteOffset + data.length];
      if (!decoded.subarray(...span).equals(data)) throw new Error('User record not where expected');
      return span;
    });
  });
}

/**
 * The floor of the handler's work: base64-decoding each record and JSON.parse of each user
 * record's text, nothing else (no MD5, no protobuf, no fold). Gives the records parsed.
 */
function parseFloor(records: readonly { data: string }[], spans: readonly Spans[]): number {
  let parsed = 0;
  records.forEach((record, r) => {
    const bytes = Buffer.from(record.data, 'base64');
    for (const [start, end] of spans[r] as Spans) {
      if (JSON.parse(bytes.toString('utf8', start, end)) !== null) parsed++;
    }
  });
  return parsed;
}

/** `count` KPL records of `perRecord` user records of about `bytes` bytes each. */
async function kplRecords(count: number, perRecord: number, bytes: number) {
  const out: { data: string; partitionKey: string; sequenceNumber: string }[] = [];
  for (let r = 0; r < count; r++) {
    const users = Array.from({ length: perRecord }, (_, i) => {
      const trade = stockTrades(1)[0];
      const text = JSON.stringify({
        ...trade,
        id: r * perRecord + i,
        tickerSymbol: `T${(r * perRecord + i) % 50}`,
      });
      return { partitionKey: `pk-${i % 10}`, data: Buffer.from(text.padEnd(bytes, ' ')) };
    });
    const [encoded] = await aggregateWithLibrary(users);
    out.push({
      data: (encoded as { data: Buffer }).data.toString('base64'),
      partitionKey: 'pk',
      sequenceNumber: String(49650000000000000000000000000000000000000000000000000000n + BigInt(r)),
    });
  }
  return out;
}

export const kinesisAggregatorBench: BenchSuite = {
  name: 'kinesis-aggregator',
  async run(ctx) {
    const rows: BenchRow[] = [];

    // 1. De-aggregation: 1,000 KPL records x 100 user records of 100 B.
    const records = await kplRecords(1000, 100, 100);
    const users = 1000 * 100;
    const time = async (fn: () => Promise<void> | void) => {
      const start = process.hrtime.bigint();
      await fn();
      return Number(process.hrtime.bigint() - start) / 1e6;
    };
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let run = 0; run < RUNS + 2; run++) {
      const o = await time(() => {
        for (const record of records) deaggregate(record, true);
      });
      const t = await time(async () => {
        for (const record of records) await deaggregateWithLibrary(record);
      });
      if (run >= 2) {
        ours.push(o);
        theirs.push(t);
      }
    }
    const oursRate = users / (median(ours) / 1000);
    const theirRate = users / (median(theirs) / 1000);
    ctx.log(
      `de-aggregation: ours ${median(ours).toFixed(1)} ms, aws-kinesis-agg ${median(theirs).toFixed(1)} ms`,
    );
    rows.push({
      suite: 'kinesis-aggregator (de-aggregation)',
      metric: 'user records/s, 1,000 x 100 x 100 B, MD5 on',
      unit: 'rec/s',
      ours: oursRate,
      baseline: theirRate,
      target: '>= 1.6x aws-kinesis-agg',
      met: oursRate >= 1.6 * theirRate,
    });

    // 2. The whole handler on 6 MB batches (as Lambda sends them: base64 data in the event), of
    //    small trades (100 B, the worst case: 42,000 JSON records) and of 1 KB ones.
    const config = loadStageConfig('local').config;
    const prepared = prepareAggregator(config);
    const deps = {
      ...prepared,
      kinesis: undefined as unknown as KinesisClient, // a clean, non-final batch writes nothing
      logger: silentLogger,
      metrics: noMetrics,
      now: () => new Date(),
    };
    for (const [perRecord, bytes] of [
      [700, 100],
      [70, 1000],
    ] as const) {
      const big = await kplRecords(60, perRecord, bytes);
      const event: TumblingWindowEvent = {
        Records: big.map(
          (record) =>
            ({
              kinesis: { ...record, kinesisSchemaVersion: '1.0', approximateArrivalTimestamp: 1795300000 },
              eventSource: 'aws:kinesis',
              eventSourceARN: 'arn:aws:kinesis:us-east-1:123456789012:stream/stock-trades-local',
            }) as unknown as KinesisStreamRecord,
        ),
        window: { start: '2026-11-21T09:00:00Z', end: '2026-11-21T09:01:00Z' },
        state: {},
        shardId: 'shardId-000000000000',
        eventSourceARN: 'arn:aws:kinesis:us-east-1:123456789012:stream/stock-trades-local',
        isFinalInvokeForWindow: false,
        isWindowTerminatedEarly: false,
      };
      const size = Buffer.byteLength(JSON.stringify(event));
      const spans = userRecordSpans(big);
      const trades = 60 * perRecord;
      const handlerTimes: number[] = [];
      const floorTimes: number[] = [];
      for (let run = 0; run < RUNS + 2; run++) {
        let folded = 0;
        const ms = await time(async () => {
          const { state } = await aggregateWindow(event, deps);
          folded = Object.values(state.groups).reduce((n, group) => n + group.n, 0);
        });
        let parsed = 0;
        const floorMs = await time(() => {
          parsed = parseFloor(big, spans);
        });
        if (folded !== trades || parsed !== trades)
          throw new Error('The handler or the floor missed records');
        if (run >= 2) {
          handlerTimes.push(ms);
          floorTimes.push(floorMs);
        }
      }
      ctx.log(
        `handler: ${(size / 1e6).toFixed(2)} MB batch, ${trades} trades of ${bytes} B; ` +
          `floor (base64 + JSON.parse of each trade) ${median(floorTimes).toFixed(1)} ms`,
      );
      const [target, met] =
        bytes === 100
          ? ['<= 1.3x parse floor', median(handlerTimes) <= 1.3 * median(floorTimes)]
          : ['<= 30 ms', median(handlerTimes) <= 30];
      rows.push({
        suite: 'kinesis-aggregator (handler)',
        metric: `time per ${(size / 1e6).toFixed(1)} MB batch (${trades.toLocaleString('en')} x ${bytes} B) vs parse floor`,
        unit: 'ms',
        ours: median(handlerTimes),
        baseline: median(floorTimes),
        target,
        met,
      });
    }
    rows.push(foldRow(ctx, config));
    return rows;
  },
};

/**
 * 3. The fold alone, as the handler folds a batch (a tally): 42,000 parsed trades with prices in
 *    cents (not exact in binary, so sums need more than one partial) into one state.
 */
function foldRow(
  ctx: Parameters<BenchSuite['run']>[0],
  config: ReturnType<typeof loadStageConfig>['config'],
): BenchRow {
  const reducer = compileReducer(config.kinesisAggregator as KinesisAggregatorConfig);
  const trades = Array.from({ length: 42_000 }, (_, i) => ({
    id: i,
    tickerSymbol: `T${i % 50}`,
    tradeType: i % 2 ? 'SELL' : 'BUY',
    price: 100 + (i % 997) / 100,
    quantity: (i % 90) + 1,
  }));
  const times: number[] = [];
  let bytes = 0;
  for (let run = 0; run < RUNS + 2; run++) {
    const start = process.hrtime.bigint();
    const tally = reducer.tally();
    for (let i = 0; i < trades.length; i++) tally.add(trades[i], { seq: '1', sub: i });
    const state = tally.state();
    const results = reducer.results(state);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (run >= 2) times.push(ms);
    bytes = Buffer.byteLength(JSON.stringify(state)) + (results.length > 0 ? 0 : 1);
  }
  ctx.log(`fold: 42,000 trades, 50 groups, state ${bytes} B as JSON`);
  return {
    suite: 'kinesis-aggregator (fold)',
    metric: 'time to fold 42,000 trades and compute results',
    unit: 'ms',
    ours: median(times),
    baseline: null,
    target: '<= 15 ms',
    met: median(times) <= 15,
  };
}
