/**
 * The reducer's promise: the same records of a window, in any split into invocations and
 * any order of merges, with the states through JSON, give byte-identical results; and its
 * sums, means and weighted means are the exact values rounded once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KinesisAggregatorConfig } from '../../shared/core/config/schema.js';
import { MissingFieldError } from '../../shared/core/errors.js';
import {
  comparePositions,
  compileReducer,
  emptyState,
  type Position,
  type Reducer,
  stateFrom,
  type WindowState,
} from '../../shared/kinesis-aggregator/aggregation.js';
import {
  addExact,
  addProduct,
  isExactProduct,
  MAX_EXACT_MAGNITUDE,
  mergeExact,
  roundedMean,
  roundedRatio,
  roundedSum,
} from '../../shared/kinesis-aggregator/exact-sum.js';
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
      { numRuns: 200 },
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
      { numRuns: 300 },
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
      { numRuns: 300 },
    );
  });

  it('break ties to even, across subnormals, exponents and the overflow edge', () => {
    // Act / Assess
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
    // Prepare
    const state = emptyState();
    const at = { seq: SEQ, sub: 0 };
    const trade = { tickerSymbol: 'AMZN', tradeType: 'BUY', id: 1, price: 10, quantity: 2 };
    // Act / Assess
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

/** A reducer over every op, with a where clause, for records `{ k, x, w, c, side }`. */
function everyOp(overrides: Partial<KinesisAggregatorConfig> = {}) {
  return compileReducer(everyOpConfig(overrides));
}

function everyOpConfig(overrides: Partial<KinesisAggregatorConfig> = {}): KinesisAggregatorConfig {
  return {
    ...settings,
    groupBy: 'k',
    metrics: {
      n: { op: 'count' },
      buys: { op: 'count', where: { path: 'side', equals: 'B' } },
      total: { op: 'sum', path: 'x' },
      low: { op: 'min', path: 'x' },
      high: { op: 'max', path: 'x' },
      first: { op: 'first', path: 'x' },
      last: { op: 'last', path: 'x' },
      mean: { op: 'mean', path: 'x' },
      weighted: { op: 'weightedMean', path: 'x', weight: 'w' },
      top: { op: 'top', by: 'w', fields: ['x', 'missing'] },
      kinds: { op: 'countBy', path: 'c' },
      buyMean: { op: 'mean', path: 'x', where: { path: 'side', equals: 'B' } },
    },
    state: { maxBytes: 10_000 },
    ...overrides,
  } as KinesisAggregatorConfig;
}

describe('reducer metrics', () => {
  it('orders positions by sequence number as a 128-bit number, then by sub-sequence', () => {
    const seq = fc.bigInt({ min: 0n, max: 2n ** 128n - 1n });
    fc.assert(
      fc.property(seq, fc.nat(5), seq, fc.nat(5), (a, i, b, j) => {
        // Prepare
        const expected = a < b ? -1 : a > b ? 1 : Math.sign(i - j);
        // Act
        const order = comparePositions({ seq: String(a), sub: i }, { seq: String(b), sub: j });
        // Assess
        expect(Math.sign(order)).toBe(expected);
      }),
    );
    expect(comparePositions({ seq: '99', sub: 0 }, { seq: '100', sub: 0 })).toBeLessThan(0);
    expect(comparePositions({ seq: '100', sub: 0 }, { seq: '99', sub: 9 })).toBeGreaterThan(0);
    expect(comparePositions({ seq: '123', sub: 2 }, { seq: '123', sub: 1 })).toBeGreaterThan(0);
  });

  it('takes first and last by position, whatever the order records come in', () => {
    // Prepare
    const r = everyOp();
    const state = emptyState();
    const rows = [
      { x: 3, at: { seq: '100', sub: 1 } },
      { x: 1, at: { seq: '99', sub: 5 } },
      { x: 2, at: { seq: '100', sub: 0 } },
      { x: 4, at: { seq: '101', sub: 0 } },
      { x: 5, at: { seq: '1000', sub: 0 } },
      { x: 0, at: { seq: '999', sub: 7 } },
    ];
    // Act
    for (const row of rows) r.add(state, { k: 'g', x: row.x, w: 1, c: 'a' }, row.at);
    const [result] = r.results(state);
    // Assess
    expect(result?.metrics).toMatchObject({ first: 1, last: 5 });
    // The same through merges, in both orders.
    // Prepare
    const early = emptyState();
    const late = emptyState();
    r.add(early, { k: 'g', x: 7, w: 1, c: 'a' }, { seq: '5', sub: 0 });
    r.add(late, { k: 'g', x: 8, w: 1, c: 'a' }, { seq: '10', sub: 0 });
    // Act / Assess
    for (const merged of [
      r.merge(throughJson(early), throughJson(late)),
      r.merge(throughJson(late), throughJson(early)),
    ]) {
      expect(r.results(merged)[0]?.metrics).toMatchObject({ first: 7, last: 8 });
    }
  });

  it('computes every op with where clauses, and merges states with empty sides', () => {
    // Prepare
    const r = everyOp();
    const one = emptyState();
    const two = emptyState();
    const rows = [
      { k: 'g', x: 4, w: 2, c: 'a', side: 'B' },
      { k: 'g', x: -1, w: 6, c: 'b', side: 'S' },
      { k: 'g', x: '2.5', w: 2, c: true, side: 'S' },
      { k: 7, x: 1, w: 1, c: 3 },
    ];
    rows.forEach((row, i) => {
      expect(r.add(i < 2 ? one : two, row, { seq: '1', sub: i })).toBe(true);
    });
    // Act
    const results = r.results(r.merge(throughJson(one), throughJson(two)));
    // Assess
    expect(results).toEqual([
      {
        group: '7',
        records: 1,
        metrics: {
          n: 1,
          buys: 0,
          total: 1,
          low: 1,
          high: 1,
          first: 1,
          last: 1,
          mean: 1,
          weighted: 1,
          top: { x: 1, missing: null },
          kinds: { 3: 1 },
          buyMean: null,
        },
      },
      {
        group: 'g',
        records: 3,
        metrics: {
          n: 3,
          buys: 1,
          total: 5.5,
          low: -1,
          high: 4,
          first: 4,
          last: 2.5,
          mean: 5.5 / 3,
          weighted: (8 - 6 + 5) / 10,
          top: { x: -1, missing: null },
          kinds: { a: 1, b: 1, true: 1 },
          buyMean: 4,
        },
      },
    ]);
  });

  it('refuses values that are not finite numbers or numeric text, and keys that are not text or numbers', () => {
    // Prepare
    const r = everyOp();
    const state = emptyState();
    const at = { seq: '1', sub: 0 };
    const ok = { k: 'g', x: 1, w: 1, c: 'a' };
    // Act / Assess
    for (const x of [
      '',
      '  ',
      'abc',
      'Infinity',
      Number.NaN,
      Number.POSITIVE_INFINITY,
      true,
      null,
      {},
      [1],
    ]) {
      expect(() => r.add(state, { ...ok, x }, at), String(x)).toThrow(MissingFieldError);
    }
    for (const c of [null, {}, [], undefined]) expect(() => r.add(state, { ...ok, c }, at)).toThrow('"c"');
    for (const k of [true, null, {}, undefined]) expect(() => r.add(state, { ...ok, k }, at)).toThrow('"k"');
    expect(() => r.add(state, { ...ok, w: 'x' }, at)).toThrow('"w"');
    expect(Object.keys(state.groups)).toEqual([]);
    expect(r.add(state, { ...ok, x: ' 12.5 ' }, at)).toBe(true);
    expect(r.results(state)[0]?.metrics.total).toBe(12.5);
  });

  it('skips exactly the records the filter does not match, creating nothing for them', () => {
    // Prepare: 3 buys and 7 sells, so an inverted filter would keep a different count.
    const r = everyOp({ filter: { path: 'side', equals: 'B' } });
    const state = emptyState();
    const sides = ['B', 'S', 'S', 'B', 'S', 'S', 'S', 'B', 'S', 'S'];
    // Act
    const kept = sides.map((side, i) =>
      r.add(state, { k: side === 'B' ? 'buy' : 'sell', x: i, w: 1, c: 'a', side }, { seq: '1', sub: i }),
    );
    // Assess
    expect(kept).toEqual(sides.map((side) => side === 'B'));
    expect(state.filtered).toBe(7);
    expect(r.results(state).map((g) => [g.group, g.records])).toEqual([['buy', 3]]);
  });
});

describe('reducer state', () => {
  it('reads Lambda state: ours as it is (v1 sums included), anything else as empty', () => {
    // Prepare
    const r = everyOp();
    // Act / Assess
    expect(stateFrom({})).toEqual(emptyState());
    expect(stateFrom(undefined)).toEqual(emptyState());
    expect(stateFrom({ v: 2, groups: {} })).toEqual(emptyState());
    expect(stateFrom({ v: 1, groups: null })).toEqual(emptyState());
    expect(stateFrom({ v: 1, groups: 'x' })).toEqual(emptyState());
    // A state written before sums were exact: plain numbers, counters missing.
    const v1 = stateFrom({
      v: 1,
      groups: {
        ['__proto__']: {
          n: 2,
          m: [
            2,
            0,
            3.5,
            { m: 1 },
            { m: 2.5 },
            null,
            null,
            { s: 3.5, n: 2 },
            { sw: 6, w: 4 },
            null,
            { a: 2 },
            null,
          ],
        },
      },
    });
    expect(Object.getPrototypeOf(v1.groups)).toBeNull();
    expect([v1.evictedGroups, v1.evictedRecords, v1.filtered]).toEqual([0, 0, 0]);
    r.add(v1, { k: '__proto__', x: 0.5, w: 2, c: 'a' }, { seq: '1', sub: 0 });
    expect(r.results(v1)[0]).toMatchObject({
      group: '__proto__',
      records: 3,
      metrics: { n: 3, total: 4, low: 0.5, high: 2.5, mean: 4 / 3, weighted: 7 / 6, kinds: { a: 3 } },
    });
    expect(stateFrom({ v: 1, groups: {}, evictedGroups: 2, evictedRecords: 5, filtered: 1 })).toMatchObject({
      evictedGroups: 2,
      evictedRecords: 5,
      filtered: 1,
    });
  });

  it('merges counters and keeps groups seen on one side only', () => {
    // Prepare
    const r = everyOp();
    const a = { ...emptyState(), evictedGroups: 1, evictedRecords: 2, filtered: 3 };
    const b = { ...emptyState(), evictedGroups: 10, evictedRecords: 20, filtered: 30 };
    r.add(a, { k: 'left', x: 1, w: 1, c: 'a' }, { seq: '1', sub: 0 });
    r.add(b, { k: 'right', x: 2, w: 1, c: 'a' }, { seq: '1', sub: 1 });
    // Act
    const merged = r.merge(a, b);
    // Assess
    expect([merged.evictedGroups, merged.evictedRecords, merged.filtered]).toEqual([11, 22, 33]);
    expect(r.results(merged).map((g) => [g.group, g.metrics.total])).toEqual([
      ['left', 1],
      ['right', 2],
    ]);
  });

  /** One group's share of the state JSON (what evicting it saves). */
  const share = (group: string, state: WindowState) =>
    Buffer.byteLength(JSON.stringify({ [group]: state.groups[group] })) - 1;

  function overBudget(r: Reducer, groups: readonly [string, number][]) {
    const state = emptyState();
    let sub = 0;
    for (const [group, records] of groups) {
      for (let i = 0; i < records; i++)
        r.add(state, { k: group, x: i, w: records, c: 'a' }, { seq: '1', sub: sub++ });
    }
    return state;
  }

  it('evicts the fewest groups that bring the state within budget, least records first, then by key', () => {
    // Prepare: 120 groups; equal record counts for many, so the tie-break decides.
    const r = everyOp();
    const groups = Array.from(
      { length: 120 },
      (_, i) => [`g${String(119 - i).padStart(3, '0')}`, 1 + (i % 3)] as [string, number],
    );
    const state = overBudget(r, groups);
    const before = structuredClone(state);
    // Act
    const evicted = r.bound(state);
    expect(evicted).toBeGreaterThan(10);
    // Assess: within budget, and putting back the last evicted group would not be.
    const size = Buffer.byteLength(JSON.stringify(state));
    expect(size).toBeLessThanOrEqual(10_000);
    const gone = Object.keys(before.groups).filter((g) => !(g in state.groups));
    expect(gone).toHaveLength(evicted);
    expect(state.evictedGroups).toBe(evicted);
    expect(state.evictedRecords).toBe(gone.reduce((n, g) => n + (before.groups[g]?.n ?? 0), 0));
    const order = Object.keys(before.groups).sort(
      (x, y) => (before.groups[x]?.n ?? 0) - (before.groups[y]?.n ?? 0) || (x < y ? -1 : 1),
    );
    expect(gone.sort()).toEqual(order.slice(0, evicted).sort());
    const last = order[evicted - 1] as string;
    expect(size + share(last, before)).toBeGreaterThan(10_000);
    // Under budget: nothing goes.
    expect(r.bound(state)).toBe(0);
  });

  it('ranks by the keepBy metric when it has a number, by records otherwise', () => {
    // keepBy total: the group with the larger total stays, even with fewer records.
    // Prepare
    const byTotal = everyOp({ state: { maxBytes: 10_000, keepBy: 'total' } });
    const names = Array.from({ length: 150 }, (_, i) => `k${i}`);
    const state = emptyState();
    names.forEach((k, i) => {
      byTotal.add(state, { k, x: i, w: 1, c: 'a' }, { seq: '1', sub: i });
    });
    byTotal.add(state, { k: 'k0', x: 0, w: 1, c: 'a' }, { seq: '1', sub: 999 }); // more records, total 0
    // Act
    byTotal.bound(state);
    // Assess
    expect(state.groups.k149).toBeDefined();
    expect(state.groups.k0).toBeUndefined();
    // keepBy top (not a number): falls back to the record count.
    // Prepare
    const byTop = everyOp({ state: { maxBytes: 10_000, keepBy: 'top' } });
    const other = emptyState();
    names.forEach((k, i) => {
      byTop.add(other, { k, x: i, w: 1, c: 'a' }, { seq: '1', sub: i });
    });
    byTop.add(other, { k: 'k0', x: 0, w: 1, c: 'a' }, { seq: '1', sub: 999 });
    // Act
    byTop.bound(other);
    // Assess
    expect(other.groups.k0).toBeDefined();
    expect(other.groups.k1).toBeUndefined();
  });
});

describe('records of any values (numbers converted once per slot, checked per slot first)', () => {
  // The reading the fold is held to, as it was written before values were converted once per
  // slot: each metric reads its own value, in the metrics' order, and the first value a
  // metric cannot use is the error.
  const BEYOND = 'its magnitude is beyond what is summed exactly (2^960)';
  function numberOf(value: unknown, name: string): number {
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
      return Number(value);
    throw new MissingFieldError(name);
  }
  function summandOf(value: unknown, name: string): number {
    const x = numberOf(value, name);
    if (Math.abs(x) > MAX_EXACT_MAGNITUDE) throw new MissingFieldError(name, BEYOND);
    return x;
  }
  function checkMetric(metric: KinesisAggregatorConfig['metrics'][string], record: Record<string, unknown>) {
    switch (metric.op) {
      case 'count':
        return;
      case 'sum':
      case 'mean':
        summandOf(record[metric.path], metric.path);
        return;
      case 'weightedMean': {
        const w = summandOf(record[metric.weight], metric.weight);
        const v = numberOf(record[metric.path], metric.path);
        if (!isExactProduct(v, w)) throw new MissingFieldError(metric.path, `${BEYOND} once weighted`);
        return;
      }
      case 'countBy': {
        const value = record[metric.path];
        if (!['string', 'number', 'boolean'].includes(typeof value)) throw new MissingFieldError(metric.path);
        return;
      }
      case 'top':
        numberOf(record[metric.by], metric.by);
        return;
      default:
        numberOf(record[metric.path], metric.path);
    }
  }
  /** The message of the error `add` must throw for `record`, or null when it must take it. */
  function refusalOf(config: KinesisAggregatorConfig, record: Record<string, unknown>): string | null {
    try {
      const key = record[config.groupBy];
      if (typeof key !== 'string' && typeof key !== 'number') throw new MissingFieldError(config.groupBy);
      for (const metric of Object.values(config.metrics)) {
        if (metric.where && record[metric.where.path] !== metric.where.equals) continue;
        checkMetric(metric, record);
      }
      return null;
    } catch (error) {
      return (error as Error).message;
    }
  }

  /** Values as JSON gives them and worse: numbers, numeric and other strings, literals, containers. */
  const anyValue = fc.oneof(
    awkwardDouble(),
    awkwardDouble().map(String),
    fc.double(), // NaN and the infinities too
    fc.constantFrom(2 ** 961, -(2 ** 961), MAX_EXACT_MAGNITUDE, 1e-300, -0, 1e300),
    fc.constantFrom('', ' ', ' 12 ', '\t-0.5\n', '1e400', '-0', '0x10', '1_0', 'Infinity', 'abc', '\u00a07'),
    fc.string({ unit: 'grapheme', maxLength: 4 }),
    fc.constantFrom(true, false, null, undefined, {}, [2], { x: 1 }),
  );
  const recordArb = fc.record(
    {
      k: fc.oneof(fc.constantFrom('a', 'b', '1', 1, 'é'), anyValue),
      x: anyValue,
      w: fc.oneof(awkwardWeight(), anyValue),
      c: anyValue,
      side: fc.constantFrom('B', 'S', 'b', null),
    },
    { requiredKeys: [] },
  );
  const configs = [
    everyOp().metricNames,
    ['n', 'total'], // fewer metrics: a smaller set of slots
  ].map((names) => {
    const full = everyOpConfig();
    return { ...full, metrics: Object.fromEntries(names.map((n) => [n, full.metrics[n]])) } as typeof full;
  });

  it('are refused with the same first missing field as each metric would name, leaving the state as it was', () => {
    fc.assert(
      fc.property(fc.constantFrom(...configs), fc.array(recordArb, { maxLength: 30 }), (config, records) => {
        // Prepare
        const r = compileReducer(config);
        const state = emptyState();
        records.forEach((record, i) => {
          const before = JSON.stringify(state);
          const expected = refusalOf(config, record);
          // Act
          let thrown: unknown = null;
          try {
            r.add(state, record, { seq: SEQ, sub: i });
          } catch (error) {
            thrown = error;
          }
          // Assess
          if (expected === null) {
            expect(thrown).toBeNull();
          } else {
            expect(thrown).toBeInstanceOf(MissingFieldError);
            expect((thrown as Error).message).toBe(expected);
            expect(JSON.stringify(state)).toBe(before);
          }
        });
      }),
      { numRuns: 400 },
    );
  });

  it('give every metric the value each metric would read itself (numbers, numeric strings, scalars)', () => {
    const config = configs[0] as KinesisAggregatorConfig;
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 30 }), (records) => {
        // Prepare: the records it takes, in order, and what each metric reads of them.
        const r = compileReducer(config);
        const state = emptyState();
        const taken = records.filter((record) => refusalOf(config, record) === null);
        // Act
        records.forEach((record, i) => {
          try {
            r.add(state, record, { seq: SEQ, sub: i });
          } catch (error) {
            if (!(error instanceof MissingFieldError)) throw error;
          }
        });
        const results = r.results(state); // not through JSON, which turns -0 into 0
        // Assess: per group, against the values read one metric at a time.
        const groups = [...new Set(taken.map((t) => String(t.k)))].sort();
        expect(results.map((g) => g.group)).toEqual(groups);
        for (const result of results) {
          const mine = taken.filter((t) => String(t.k) === result.group);
          const xs = mine.map((t) => numberOf(t.x, 'x'));
          const ws = mine.map((t) => numberOf(t.w, 'w'));
          const m = result.metrics as Record<string, unknown>;
          expect(result.records).toBe(mine.length);
          expect(m.n).toBe(mine.length);
          expect(m.buys).toBe(mine.filter((t) => t.side === 'B').length);
          expect(isCorrectlyRounded(m.total as number, sumOf(xs.map(rationalOf)))).toBe(true);
          expect(
            Object.is(
              m.low,
              xs.reduce((a, b) => (b < a ? b : a)),
            ),
          ).toBe(true);
          expect(
            Object.is(
              m.high,
              xs.reduce((a, b) => (b > a ? b : a)),
            ),
          ).toBe(true);
          expect(Object.is(m.first, xs[0])).toBe(true);
          expect(Object.is(m.last, xs[xs.length - 1])).toBe(true);
          const exactW = sumOf(ws.map(rationalOf));
          const exactSw = sumOf(xs.map((x, i) => mul(rationalOf(x), rationalOf(ws[i] as number))));
          if (exactW.num === 0n) expect(m.weighted).toBeNull();
          else expect(isCorrectlyRounded(m.weighted as number, div(exactSw, exactW))).toBe(true);
          const best = ws.reduce((b, w, i) => (w > (ws[b] as number) ? i : b), 0);
          expect(m.top).toEqual({ x: (mine[best] as Record<string, unknown>).x ?? null, missing: null });
          const kinds: Record<string, number> = {};
          for (const t of mine) kinds[String(t.c)] = (kinds[String(t.c)] ?? 0) + 1;
          expect(JSON.stringify(m.kinds)).toBe(
            JSON.stringify(Object.fromEntries(Object.entries(kinds).sort())),
          );
          const buys = xs.filter((_, i) => (mine[i] as Record<string, unknown>).side === 'B');
          if (buys.length === 0) expect(m.buyMean).toBeNull();
          else
            expect(
              isCorrectlyRounded(
                m.buyMean as number,
                div(sumOf(buys.map(rationalOf)), { num: BigInt(buys.length), den: 1n }),
              ),
            ).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
