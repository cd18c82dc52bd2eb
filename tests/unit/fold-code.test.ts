/**
 * The batch fold written out per config (fold-code.ts) against the general fold it replaces
 * on the hot path: for any config (every op, `where`s, a filter, nested paths, names that
 * would break naive code generation) and any records at any positions, it takes and refuses
 * the same records with the same errors and ends in the same state, sums compared by their
 * exact values. Also its parts: exact running sums against BigInt, category counts past the
 * array, and the fallback where code cannot be generated.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AggregateMetric, KinesisAggregatorConfig } from '../../shared/core/config/schema.js';
import {
  compileReducer,
  emptyState,
  type MetricState,
  type Position,
  type Reducer,
  type WindowState,
} from '../../shared/kinesis-aggregator/aggregation.js';
import {
  exactScaled,
  isExactProduct,
  MAX_EXACT_MAGNITUDE,
  type Partials,
  partialsOf,
  RunningSum,
  scaledOf,
} from '../../shared/kinesis-aggregator/exact-sum.js';
import {
  CategoryCounts,
  type FoldHelpers,
  type FoldPlan,
  generatedTally,
} from '../../shared/kinesis-aggregator/fold-code.js';
import { awkwardDouble, awkwardWeight } from '../helpers/exact.js';
import { localConfig } from '../helpers/fixtures.js';
import { comparableState } from '../helpers/window-state.js';

const settings = localConfig().kinesisAggregator as KinesisAggregatorConfig;

/**
 * Field names: plain ones, nested paths, names an object inherits, and names that would break
 * code that pasted them into source (quotes, backslashes, template and comment openers, line
 * terminators).
 */
const NAMES = [
  'k',
  'x',
  'w',
  'c',
  'side',
  'o.x',
  'o.0',
  'constructor',
  'a"b',
  "a'b",
  'back\\slash',
  '${x}',
  '*/x',
  'new\nline',
  'sep\u2028ara',
];
const anyName = fc.constantFrom(...NAMES);
const scalar = fc.oneof(
  fc.constantFrom('B', 'S', 'a', '1', ''),
  fc.integer({ min: -2, max: 2 }),
  fc.boolean(),
);

const metricOver = (name: fc.Arbitrary<string>): fc.Arbitrary<AggregateMetric> => {
  const where = fc.option(fc.record({ path: name, equals: scalar }), { nil: undefined });
  return fc.oneof(
    fc.record({ op: fc.constant('count' as const), where }),
    fc.record({
      op: fc.constantFrom('sum' as const, 'min' as const, 'max' as const, 'first' as const, 'last' as const),
      path: name,
      where,
    }),
    fc.record({ op: fc.constant('mean' as const), path: name, where }),
    fc.record({ op: fc.constant('weightedMean' as const), path: name, weight: name, where }),
    fc.record({ op: fc.constant('top' as const), by: name, fields: fc.array(name, { maxLength: 3 }), where }),
    fc.record({ op: fc.constant('countBy' as const), path: name, where }),
  ) as fc.Arbitrary<AggregateMetric>;
};

/** Configs over the given names (a few names make records that every metric can read likelier). */
const configOver = (name: fc.Arbitrary<string>): fc.Arbitrary<KinesisAggregatorConfig> =>
  fc
    .record({
      groupBy: name,
      filter: fc.option(fc.record({ path: name, equals: scalar }), { nil: undefined }),
      metrics: fc.array(metricOver(name), { minLength: 1, maxLength: 8 }),
    })
    .map(({ groupBy, filter, metrics }) => ({
      ...settings,
      groupBy,
      ...(filter ? { filter } : {}),
      metrics: Object.fromEntries(metrics.map((metric, i) => [`m${i}`, metric])),
    }));

/** Values as JSON gives them and worse: numbers, numeric and other strings, literals, containers. */
const anyValue = fc.oneof(
  { weight: 4, arbitrary: awkwardDouble() },
  { weight: 2, arbitrary: awkwardWeight() },
  { weight: 1, arbitrary: awkwardDouble().map(String) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(Number.NaN, Infinity, 2 ** 961, -0, '', ' 7 ', 'abc', '1e400', '0x10'),
  },
  // Magnitudes at the edge of what sums take (2^960), and beyond any other value here.
  {
    weight: 1,
    arbitrary: fc.constantFrom(1e300, -1e300, MAX_EXACT_MAGNITUDE, -MAX_EXACT_MAGNITUDE, 2 ** -1000),
  },
  { weight: 2, arbitrary: scalar },
  // Many categories: a countBy past the few it keeps in an array.
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 40 }).map((n) => `cat${n}`) },
  { weight: 1, arbitrary: fc.constantFrom(null, undefined, {}, [2], { x: 1 }) },
);

const recordOver = (name: fc.Arbitrary<string>): fc.Arbitrary<unknown> =>
  fc.oneof(
    {
      weight: 12,
      arbitrary: fc
        .tuple(
          fc.dictionary(name, anyValue, { maxKeys: 10 }),
          fc.option(fc.record({ x: anyValue, 0: anyValue }, { requiredKeys: [] }), { nil: undefined }),
        )
        .map(([fields, nested]) => (nested ? { ...fields, o: nested } : fields)),
    },
    { weight: 1, arbitrary: fc.constantFrom(null, 5, 'text', [1, 2]) },
  );

/** Every kind of name, or only three plain ones (then most records have what most metrics read). */
const widths = [
  ['any names', anyName],
  ['three names', fc.constantFrom('k', 'x', 'c')],
] as const;

/** Sequence numbers of several lengths, some equal but for the last digits, in any order. */
const positionArb: fc.Arbitrary<Position> = fc.record({
  seq: fc.constantFrom(
    '9',
    '10',
    '11',
    '49660000000000000000000000000000000000000000000000000001',
    '49660000000000000000000000000000000000000000000000000002',
    '49660000000000000000000000000000000000000000000000000010',
  ),
  sub: fc.nat(4),
});

type Outcome = { taken: boolean } | { error: string; message: string };

function outcomeOf(fold: () => boolean): Outcome {
  try {
    return { taken: fold() };
  } catch (error) {
    return { error: (error as Error).constructor.name, message: (error as Error).message };
  }
}

/** Folds the records with the general fold (`add` from an empty state) and with a tally. */
function bothWays(general: Reducer, written: Reducer, records: readonly unknown[], at: readonly Position[]) {
  const reference = emptyState();
  const tally = written.tally();
  const outcomes = records.map((record, i) => ({
    general: outcomeOf(() => general.add(reference, record, at[i] as Position)),
    written: outcomeOf(() => tally.add(record, at[i] as Position)),
  }));
  return { outcomes, reference, state: tally.state() };
}

describe('the fold written out for a config', () => {
  it.each(widths)(
    'takes, refuses and folds every record as the general fold does, for any config (%s)',
    (_, name) => {
      fc.assert(
        fc.property(
          configOver(name),
          fc.array(fc.tuple(recordOver(name), positionArb), { maxLength: 40, size: 'large' }),
          (config, rows) => {
            // Prepare
            const general = compileReducer(config, { generated: false });
            const written = compileReducer(config);
            const records = rows.map(([record]) => record);
            const positions = rows.map(([, at]) => at);
            // Act
            const { outcomes, reference, state } = bothWays(general, written, records, positions);
            // Assess: record by record, then the states (sums by exact value) and the results.
            for (const { general: expected, written: actual } of outcomes) expect(actual).toEqual(expected);
            expect(comparableState(config, state)).toEqual(comparableState(config, reference));
            expect(written.results(state)).toEqual(general.results(reference));
          },
        ),
        { numRuns: 400 },
      );
    },
  );

  it('folds the deployed config on trades with positions out of order as the general fold does', () => {
    const trade = fc.record({
      id: fc.nat(),
      tickerSymbol: fc.constantFrom('AMZN', 'MSFT', 'T1'),
      tradeType: fc.constantFrom('BUY', 'SELL', 'HOLD'),
      price: awkwardDouble(),
      quantity: fc.oneof(awkwardWeight(), fc.constant(0)),
    });
    fc.assert(
      fc.property(fc.array(fc.tuple(trade, positionArb), { maxLength: 60, size: 'large' }), (rows) => {
        // Prepare
        const general = compileReducer(settings, { generated: false });
        const written = compileReducer(settings);
        // Act
        const { outcomes, reference, state } = bothWays(
          general,
          written,
          rows.map(([t]) => t),
          rows.map(([, at]) => at),
        );
        // Assess
        expect(outcomes.map((o) => o.written)).toEqual(outcomes.map((o) => o.general));
        expect(comparableState(settings, state)).toEqual(comparableState(settings, reference));
        expect(written.results(state)).toEqual(general.results(reference));
      }),
      { numRuns: 200 },
    );
  });

  it("compares each record with each group's own first position (not the last answer given for another)", () => {
    // Prepare: two groups whose first records sit on either side of a later record's number.
    const config = {
      ...settings,
      groupBy: 'k',
      metrics: { first: { op: 'first', path: 'x' } },
    } as KinesisAggregatorConfig;
    const tally = compileReducer(config).tally();
    const seq = (last: string) => `4966000000000000000000000000000000000000000000000000000${last}`;
    // Act
    tally.add({ k: 'a', x: 1 }, { seq: seq('1'), sub: 0 });
    tally.add({ k: 'b', x: 2 }, { seq: seq('9'), sub: 0 });
    tally.add({ k: 'a', x: 3 }, { seq: seq('5'), sub: 0 }); // after a's first: kept
    tally.add({ k: 'b', x: 4 }, { seq: seq('5'), sub: 0 }); // before b's first: replaces it
    // Assess
    expect(
      compileReducer(config)
        .results(tally.state())
        .map((g) => g.metrics.first),
    ).toEqual([1, 4]);
  });

  it('refuses a record that lacks what any one op reads, as the general fold does', () => {
    const ops: AggregateMetric[] = [
      { op: 'sum', path: 'x' },
      { op: 'min', path: 'x' },
      { op: 'first', path: 'x' },
      { op: 'mean', path: 'x' },
      { op: 'weightedMean', path: 'x', weight: 'w' },
      { op: 'top', by: 'x', fields: [] },
      { op: 'countBy', path: 'x' },
    ];
    for (const metric of ops) {
      for (const x of [undefined, null, {}, [1], 'abc', Number.NaN]) {
        // Prepare
        const config = { ...settings, groupBy: 'k', metrics: { m: metric } } as KinesisAggregatorConfig;
        const general = compileReducer(config, { generated: false });
        const record = { k: 'a', x, w: 2 };
        const at = { seq: '1', sub: 0 };
        // Act
        const expected = outcomeOf(() => general.add(emptyState(), record, at));
        const actual = outcomeOf(() => compileReducer(config).tally().add(record, at));
        // Assess
        expect(actual, `${metric.op} of ${String(x)}`).toEqual(expected);
      }
    }
  });

  it('takes the largest finite values as a minimum and the smallest as a maximum', () => {
    // Prepare
    const config = {
      ...settings,
      groupBy: 'k',
      metrics: { low: { op: 'min', path: 'x' }, high: { op: 'max', path: 'y' } },
    } as KinesisAggregatorConfig;
    const tally = compileReducer(config).tally();
    // Act
    tally.add({ k: 'a', x: Number.MAX_VALUE, y: -Number.MAX_VALUE }, { seq: '1', sub: 0 });
    // Assess
    expect(compileReducer(config).results(tally.state())[0]?.metrics).toEqual({
      low: Number.MAX_VALUE,
      high: -Number.MAX_VALUE,
    });
  });

  it('is what the reducer folds a batch with (not the general fold it falls back to)', () => {
    // Prepare: a fallback would give the same states, so the pin is on what is built. The
    // general fold's tally is a plain object; the written-out one is an instance of its class.
    const general = compileReducer(settings, { generated: false }).tally();
    // Act
    const tally = compileReducer(settings).tally();
    // Assess
    expect(tally.constructor.name).toBe('Tally');
    expect(general.constructor).toBe(Object);
  });

  it('is the general fold where code generation is not allowed, and only then', () => {
    // Prepare
    const plan: FoldPlan = {
      names: [],
      numericSlots: [],
      products: [],
      scalarSlots: [],
      groupSlot: 0,
      filterSlot: -1,
      metrics: [],
    };
    const helpers = {} as FoldHelpers;
    // Act and assess
    expect(
      generatedTally(plan, helpers, () => {
        throw new EvalError('Code generation from strings disallowed for this context');
      }),
    ).toBeNull();
    expect(() =>
      generatedTally(plan, helpers, () => {
        throw new SyntaxError('Unexpected token');
      }),
    ).toThrow(SyntaxError);
  });
});

describe('exact running sums', () => {
  it('hold the exact sum of any values and products, whatever their magnitudes', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            awkwardDouble().map((x) => [x] as const),
            fc.tuple(awkwardDouble(), awkwardWeight()).filter(([a, b]) => isExactProduct(a, b)),
          ),
          { maxLength: 60 },
        ),
        (terms) => {
          // Prepare
          const sum = new RunningSum();
          let expected = 0n;
          // Act
          for (const term of terms) {
            if (term.length === 1) {
              sum.add(term[0]);
              expected += scaledOf(term[0]);
            } else {
              sum.addProduct(term[0], term[1]);
              // The exact product, scaled by 2^1074 twice: brought back to one scale below.
              expected += (scaledOf(term[0]) * scaledOf(term[1])) >> 1074n;
            }
          }
          // Assess: products of doubles within the exact range are multiples of 2^-1074.
          const partials = sum.partials();
          expect(exactScaled(partials)).toBe(expected);
          // Non-overlapping partials in increasing magnitude, none zero (what roundedSum expects).
          for (let i = 1; i < partials.length; i++) {
            expect(Math.abs(partials[i - 1] as number)).toBeLessThan(Math.abs(partials[i] as number));
          }
          expect(partials).not.toContain(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('carry an error that no longer fits the leading pair into the partials', () => {
    // Prepare: a huge value, then tiny ones, so the pair's low part would lose bits.
    const sum = new RunningSum();
    const xs = [2 ** 100, 2 ** -100, 3 * 2 ** -1000, 1, -(2 ** 100)];
    // Act
    for (const x of xs) sum.add(x);
    // Assess
    expect(exactScaled(sum.partials())).toBe(xs.reduce((total, x) => total + scaledOf(x), 0n));
    expect(sum.rest).not.toBeNull();
  });
});

describe('category counts', () => {
  it('count any categories in the order first seen, past the few kept in an array', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.integer({ min: 0, max: 30 }).map((n) => `c${n}`),
          { maxLength: 200, size: 'large' },
        ),
        (keys) => {
          // Prepare
          const counts = new CategoryCounts();
          const expected: Record<string, number> = {};
          // Act
          for (const key of keys) {
            counts.add(key);
            expected[key] = (expected[key] ?? 0) + 1;
          }
          const state = counts.state(() => Object.create(null));
          // Assess
          if (keys.length === 0) expect(state).toBeNull();
          else {
            expect({ ...state }).toEqual(expected);
            expect(Object.keys(state as object)).toEqual(Object.keys(expected));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
