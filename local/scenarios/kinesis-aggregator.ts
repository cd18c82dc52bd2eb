/**
 * Local run of kinesis-aggregator: a burst of stock trades, KPL-aggregated, written to the
 * input stream on the emulator, then read back shard by shard and driven through the real
 * handler as Lambda's tumbling windows would; prints the results read from the output stream.
 */
import agg from 'aws-kinesis-agg';
import type { KinesisAggregatorConfig } from '../../shared/core/config/schema.js';
import { writeRecords } from '../../shared/core/kinesis-writer.js';
import { driveWindows, type WindowHandler } from '../kinesis-window-driver.js';
import { lambdaContext } from '../lambda-context.js';
import { createStreams } from '../provision.js';
import { readStream } from '../stream-reader.js';
import { count } from '../text.js';
import type { LocalRunContext, Scenario } from './types.js';

const TICKERS = ['AMZN', 'MSFT', 'NVDA', 'AAPL', 'GOOG'];
const USER_RECORDS_PER_KPL_RECORD = 100;

export interface StockTrade {
  id: number;
  tickerSymbol: string;
  tradeType: 'BUY' | 'SELL';
  price: number;
  quantity: number;
}

export function stockTrades(count: number): StockTrade[] {
  return Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    tickerSymbol: TICKERS[(i * 7) % TICKERS.length] as string,
    tradeType: i % 3 === 0 ? 'SELL' : 'BUY',
    price: Math.round((100 + ((i * 37) % 50) + ((i * 13) % 100) / 100) * 100) / 100,
    quantity: ((i * 11) % 500) + 1,
  }));
}

/** KPL-aggregated Kinesis records (as the KPL would put them), through aws-kinesis-agg. */
function aggregateTrades(trades: readonly StockTrade[]): Promise<{ partitionKey: string; data: Buffer }[]> {
  return new Promise((resolve, reject) => {
    const out: { partitionKey: string; data: Buffer }[] = [];
    agg.aggregate(
      trades.map((trade) => ({ partitionKey: trade.tickerSymbol, data: Buffer.from(JSON.stringify(trade)) })),
      (encoded: { partitionKey: string; data: Buffer }, done: () => void) => {
        out.push(encoded);
        done();
      },
      () => resolve(out),
      (error: Error) => reject(error),
    );
  });
}

export interface AggregatorReport {
  trades: number;
  kplRecords: number;
  windows: number;
  invocations: number;
  results: { shardId: string; group: string; records: number; metrics: Record<string, unknown> }[];
  dlq: number;
}

export async function runKinesisAggregator(
  ctx: LocalRunContext,
  handler: WindowHandler,
  count = 600,
): Promise<AggregatorReport> {
  const { config } = ctx.stage;
  const settings = config.kinesisAggregator as KinesisAggregatorConfig;
  await createStreams(ctx.kinesis, config);
  const trades = stockTrades(count);
  const kpl: { partitionKey: string; data: Buffer }[] = [];
  for (let i = 0; i < trades.length; i += USER_RECORDS_PER_KPL_RECORD) {
    kpl.push(...(await aggregateTrades(trades.slice(i, i + USER_RECORDS_PER_KPL_RECORD))));
  }
  const put = await writeRecords(
    kpl.map((record) => ({
      stream: settings.input.stream,
      partitionKey: record.partitionKey,
      data: record.data,
    })),
    { kinesis: ctx.kinesis },
  );
  if (put.outcomes.some((o) => o.status !== 'written'))
    throw new Error('Could not write the trades to the input stream');
  const dlqBefore = (await readStream(ctx.kinesis, config.dlq.stream)).length;
  const region = ctx.stage.ctx.params.region ?? 'us-east-1';
  const account = ctx.stage.ctx.params.accountId ?? '123456789012';
  const drive = await driveWindows(
    ctx.kinesis,
    handler,
    () => lambdaContext('kinesisAggregator', settings.timeoutSeconds),
    {
      streamName: settings.input.stream,
      streamArn: `arn:aws:kinesis:${region}:${account}:stream/${settings.input.stream}`,
      region,
      windowSeconds: settings.input.tumblingWindowInSeconds,
      batchSize: settings.input.batchSize,
    },
  );
  const results = (await readStream(ctx.kinesis, settings.output.stream)).map((record) =>
    JSON.parse(Buffer.from(record.data).toString()),
  );
  const dlq = (await readStream(ctx.kinesis, config.dlq.stream)).length - dlqBefore;
  return {
    trades: trades.length,
    kplRecords: kpl.length,
    windows: drive.windows,
    invocations: drive.invocations,
    results,
    dlq,
  };
}

const fmt = (value: unknown) => (typeof value === 'number' ? value.toFixed(2) : String(value));

export const kinesisAggregatorScenario: Scenario = {
  name: 'kinesis-aggregator',
  async run(ctx) {
    if (!ctx.stage.config.kinesisAggregator) {
      ctx.log('no kinesisAggregator in the config: skipped');
      return true;
    }
    const { handler } = (await import('../../functions/kinesis-aggregator/handler.js')) as {
      handler: WindowHandler;
    };
    const report = await runKinesisAggregator(ctx, handler);
    ctx.log(`wrote ${count(report.trades, 'trade')} in ${count(report.kplRecords, 'KPL-aggregated record')}`);
    ctx.log(
      `${count(report.windows, 'shard window')}, ${count(report.invocations, 'invocation')} (a final one per window)`,
    );
    ctx.log('shard             ticker  trades   volume     vwap      min      max  buys/sells  largest buy');
    for (const r of report.results) {
      const m = r.metrics as Record<string, unknown> & {
        sides: Record<string, number>;
        largestBuy: { quantity: number } | null;
      };
      ctx.log(
        `${r.shardId.slice(-6).padEnd(17)} ${r.group.padEnd(6)} ${String(m.trades).padStart(6)} ${String(m.volume).padStart(8)} ${fmt(m.vwap).padStart(8)} ${fmt(m.minPrice).padStart(8)} ${fmt(m.maxPrice).padStart(8)}  ${`${m.sides.BUY ?? 0}/${m.sides.SELL ?? 0}`.padStart(10)}  ${m.largestBuy?.quantity ?? '-'}`,
      );
    }
    const counted = report.results.reduce((n, r) => n + r.records, 0);
    ctx.log(`trades in results: ${counted} of ${report.trades}; DLQ: ${report.dlq}`);
    return counted === report.trades && report.dlq === 0;
  },
};
