/**
 * kinesis-aggregator end to end on the emulator: KPL-aggregated trades into the input stream,
 * read back shard by shard and driven through the real handler window by window, results
 * read from the output stream and checked against the trades themselves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WindowHandler } from '../../local/kinesis-window-driver.js';
import { runKinesisAggregator, stockTrades } from '../../local/scenarios/kinesis-aggregator.js';
import { type LocalSession, startLocalSession } from '../../local/session.js';
import { div, isCorrectlyRounded, mul, rationalOf, sumOf } from '../helpers/exact.js';

let session: LocalSession;
let handler: WindowHandler;

beforeAll(async () => {
  session = await startLocalSession();
  ({ handler } = (await import('../../functions/kinesis-aggregator/handler.js')) as {
    handler: WindowHandler;
  });
});

afterAll(async () => {
  await session?.stop();
});

describe('kinesis-aggregator on the emulator', () => {
  it('counts every trade once, per ticker, with the right volume, VWAP and extremes', async () => {
    // Act
    const report = await runKinesisAggregator({ ...session, log: () => {} }, handler, 600);
    // Assess
    expect(report.dlq).toBe(0);
    expect(report.kplRecords).toBe(6);
    const trades = stockTrades(600);
    for (const ticker of new Set(trades.map((t) => t.tickerSymbol))) {
      const mine = trades.filter((t) => t.tickerSymbol === ticker);
      const rows = report.results.filter((r) => r.group === ticker);
      expect(
        rows.reduce((n, r) => n + r.records, 0),
        ticker,
      ).toBe(mine.length);
      if (rows.length !== 1) continue; // a ticker spread over windows is checked by its count only
      const metrics = rows[0]?.metrics as Record<string, number> & { largestBuy: { id: number } };
      const volume = mine.reduce((n, t) => n + t.quantity, 0);
      expect(metrics.volume).toBe(volume);
      // VWAP and mean: the exact quotients, rounded once (a BigInt-rational reference).
      const exactSw = sumOf(mine.map((t) => mul(rationalOf(t.price), rationalOf(t.quantity))));
      const exactPrices = sumOf(mine.map((t) => rationalOf(t.price)));
      expect(isCorrectlyRounded(metrics.vwap as number, div(exactSw, rationalOf(volume)))).toBe(true);
      expect(isCorrectlyRounded(metrics.meanPrice as number, div(exactPrices, rationalOf(mine.length)))).toBe(
        true,
      );
      expect(metrics.minPrice).toBe(Math.min(...mine.map((t) => t.price)));
      expect(metrics.maxPrice).toBe(Math.max(...mine.map((t) => t.price)));
      const buys = mine.filter((t) => t.tradeType === 'BUY');
      const largest = Math.max(...buys.map((t) => t.quantity));
      expect(metrics.largestBuy.id).toBe(buys.find((t) => t.quantity === largest)?.id);
    }
  });
});
