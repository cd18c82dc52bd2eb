/**
 * The reducer's promise: the same records of a window, in any split into invocations and
 * any order of merges, with the states through JSON, give byte-identical results; and its
 * sums, means and weighted means are the exact values rounded once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compileReducer,
  emptyState,
  MissingFieldError,
  type Position,
  type Reducer,
  type WindowState,
} from '../../shared/aggregation.js';
import type { KinesisAggregatorConfig } from '../../shared/config/schema.js';
import {
  addExact,
  addProduct,
  isExactProduct,
  MAX_EXACT_MAGNITUDE,
  mergeExact,
  roundedMean,
  roundedRatio,
  roundedSum,
} from '../../shared/exact-sum.js';
import {
  awkwardDouble,
  awkwardWeight,
  div,
  isCorrectlyRounded,
  mul,
  rationalOf,
  sumOf,
} from '../helpers/exact.js';
import { localConfig } from '../helpers/fixtures.js';

const settings = localConfig().kinesisAggregator as KinesisAggregatorConfig;
const reducer = compileReducer(settings);
const SEQ = '49660000000000000000000000000000000000000000000000000001';

interface Trade {
  id: number;
  tickerSymbol: string;
  tradeType: 'BUY' | 'SELL';
  price: number;
  quantity: number;
}

const tradeArb = (id: number) =>
  fc.record({
    id: fc.constant(id),
    tickerSymbol: fc.constantFrom('AMZN', 'MSFT'),
    tradeType: fc.constantFrom<'BUY' | 'SELL'>('BUY', 'SELL'),
    price: awkwardDouble(),
    quantity: awkwardWeight(),
  });

const tradesArb = fc
  .integer({ min: 1, max: 40 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => tradeArb(i))));

/** Folds trades into a state, skipping what the reducer refuses (it refuses it in every split). */
function fold(r: Reducer, state: WindowState, trades: readonly Trade[], positions: readonly Position[]) {
  trades.forEach((trade, i) => {
    try {
      r.add(state, trade, positions[i] as Position);
    } catch (error) {
      if (!(error instanceof MissingFieldError)) throw error;
    }
  });
  return state;
}

const throughJson = (state: WindowState): WindowState => JSON.parse(JSON.stringify(state));

describe('window results under any split', () => {
  it('are byte-identical for any split into invocations, any merge order, states through JSON', () => {
    fc.assert(
      fc.property(
        tradesArb,
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean()), { minLength: 8, maxLength: 8 }),
        (trades, cuts, merges) => {
          // Prepare: one pass, and the same records cut into invocations at random places.
          const n = trades.length;
          const positions = trades.map((_, i) => ({ seq: SEQ, sub: i }));
          const once = fold(reducer, emptyState(), trades, positions);
          const bounds = [...new Set([0, ...cuts.map((c) => c % n), n])].sort((a, b) => a - b);
          let parts = bounds.slice(1).map((end, k) => {
            const from = bounds[k] as number;
            return throughJson(
              fold(reducer, emptyState(), trades.slice(from, end), positions.slice(from, end)),
            );
          });
          // Act: merge any two of them, in either order, until one is left, through JSON each time.
          for (let k = 0; parts.length > 1; k++) {
            const [i, j, swap] = merges[k % merges.length] as [number, number, boolean];
            const a = i % parts.length;
            const b = (a + 1 + (j % (parts.length - 1))) % parts.length;
            const [x, y] = swap ? [parts[b], parts[a]] : [parts[a], parts[b]];
            const merged = throughJson(reducer.merge(x as WindowState, y as WindowState));
            parts = [...parts.filter((_, p) => p !== a && p !== b), merged];
          }
          // Assess
          expect(JSON.stringify(reducer.results(parts[0] as WindowState))).toBe(
            JSON.stringify(reducer.results(once)),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('are byte-identical whatever the order the records are folded in', () => {
    fc.assert(
      fc.property(
        tradesArb.chain((trades) =>
          fc.tuple(fc.constant(trades), fc.shuffledSubarray(trades, { minLength: trades.length })),
        ),
        ([trades, shuffled]) => {
          // Prepare: each record keeps its position in the stream, whatever order it comes in.
          const at = (t: Trade) => ({ seq: SEQ, sub: t.id });
          // Act
          const inOrder = fold(reducer, emptyState(), trades, trades.map(at));
          const outOfOrder = fold(reducer, emptyState(), shuffled, shuffled.map(at));
          // Assess
          expect(JSON.stringify(reducer.results(outOfOrder))).toBe(JSON.stringify(reducer.results(inOrder)));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('exact sums', () => {
  const summands = fc.array(awkwardDouble(), { minLength: 1, maxLength: 40 });

  it('round the exact sum and mean once, correctly, and keep min and max (BigInt reference)', () => {
    fc.assert(
      fc.property(summands, (xs) => {
        // Prepare
        const exact = sumOf(xs.map(rationalOf));
        const sumConfig = {
          ...settings,
          metrics: {
            total: { op: 'sum', path: 'x' },
            mean: { op: 'mean', path: 'x' },
            low: { op: 'min', path: 'x' },
            high: { op: 'max', path: 'x' },
          },
        } as KinesisAggregatorConfig;
        const r = compileReducer(sumConfig);
        // Act
        const state = emptyState();
        xs.forEach((x, i) => {
          r.add(state, { tickerSymbol: 'g', x }, { seq: SEQ, sub: i });
        });
        const [result] = r.results(throughJson(state));
        const metrics = result?.metrics as { total: number; mean: number; low: number; high: number };
        // Assess
        expect(isCorrectlyRounded(metrics.total, exact)).toBe(true);
        expect(isCorrectlyRounded(metrics.mean, div(exact, { num: BigInt(xs.length), den: 1n }))).toBe(true);
        expect(metrics.low).toBe(Math.min(...xs));
        expect(metrics.high).toBe(Math.max(...xs));
      }),
      { numRuns: 500 },
    );
  });

  it('add products exactly, and round a ratio of exact sums once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(awkwardDouble(), awkwardWeight()), { minLength: 1, maxLength: 30 }),
        (pairs) => {
          // Prepare
          const usable = pairs.filter(([v, w]) => isExactProduct(v, w));
          fc.pre(usable.length > 0);
          const exactSw = sumOf(usable.map(([v, w]) => mul(rationalOf(v), rationalOf(w))));
          const exactW = sumOf(usable.map(([, w]) => rationalOf(w)));
          // Act
          const sw: number[] = [];
          const w: number[] = [];
          for (const [value, weight] of usable) {
            addProduct(sw, value, weight);
            addExact(w, weight);
          }
          // Assess: the partials hold the exact value, and the ratio is rounded once.
          expect(isCorrectlyRounded(roundedSum(sw), exactSw)).toBe(true);
          expect(isCorrectlyRounded(roundedRatio(sw, w) as number, div(exactSw, exactW))).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('break ties to even, across subnormals, exponents and the overflow edge', () => {
    // Half-way cases that a sum of two doubles rounds wrongly without the correction.
    expect(roundedSum([2 ** -53, 1])).toBe(1); // 1 + half an ulp: tie, to even
    expect(roundedSum([2 ** -53, 1 + 2 ** -52])).toBe(1 + 2 ** -51); // tie, up to even
    expect(roundedSum([2 ** -80, 2 ** -53, 1])).toBe(1 + 2 ** -52); // just over half: up
    expect(roundedSum([-(2 ** -80), 2 ** -53, 1])).toBe(1); // just under half: down
    expect(roundedSum([Number.MIN_VALUE, Number.MIN_VALUE])).toBe(2 * Number.MIN_VALUE);
    expect(roundedSum([-5e-324])).toBe(-5e-324);
    expect(roundedSum([2 ** 1023, 2 ** 1023])).toBe(Number.POSITIVE_INFINITY);
    expect(roundedSum([])).toBe(0);
    expect(roundedMean([3], 2)).toBe(1.5);
    expect(roundedMean([-1], 3)).toBe(-1 / 3);
    expect(roundedRatio([1], [])).toBeNull();
    expect(roundedRatio([1], [-3])).toBe(-1 / 3);
    expect(mergeExact([1e16], [1, -1e16])).toEqual([1]);
  });

  it('refuses what it cannot add exactly, naming the field', () => {
    const state = emptyState();
    const at = { seq: SEQ, sub: 0 };
    const trade = { tickerSymbol: 'AMZN', tradeType: 'BUY', id: 1, price: 10, quantity: 2 };
    expect(() => reducer.add(state, { ...trade, quantity: MAX_EXACT_MAGNITUDE * 2 }, at)).toThrow(
      /"quantity": its magnitude is beyond/,
    );
    expect(() => reducer.add(state, { ...trade, price: 1e-300, quantity: 1e-300 }, at)).toThrow(
      /"price": its magnitude is beyond .* once weighted/,
    );
    expect(() => reducer.add(state, { ...trade, price: 2 ** 961 }, at)).toThrow(MissingFieldError);
    expect(state.groups).toEqual({});
    expect(reducer.add(state, { ...trade, price: 0, quantity: 1e-300 }, at)).toBe(true);
    expect(reducer.add(state, { ...trade, price: MAX_EXACT_MAGNITUDE, quantity: 1 }, at)).toBe(true);
  });
});
