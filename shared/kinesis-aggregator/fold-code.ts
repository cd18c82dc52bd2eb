/**
 * The batch fold written out for one config (`Reducer.tally`): the steps of the general fold
 * in aggregation.ts (`addRead`, then `applyValue` per metric), with the config's paths, slots
 * and metrics put in the code instead of looked up per record, and each group's state held
 * in a class made for the config (one field per thing a metric keeps) until the batch ends.
 * Every field is then read at its own site and every metric updated by its own lines, so the
 * engine sees one shape at each place. The general fold, which reads any path and updates any
 * metric at the same sites, spent most of its time there: 0.7 µs per trade of eleven metrics
 * in the bench's batch, against 0.2 here. Within a batch, exact sums run as RunningSums
 * (exact-sum.ts) and countBy's categories as CategoryCounts (below); `state()` turns them into
 * the state's partials and dictionaries.
 *
 * Only numbers the compiler made (slots, metric indexes) and JSON string literals of the
 * config's names go into the source; values to compare with (`where`, `filter`) are passed
 * in, never written into it. The general fold stays the reference (the tests hold this one
 * to it) and the fallback where code generation is not allowed.
 */
import type { AggregateMetric } from '../core/config/schema.js';
import type { CompiledPath, getPath } from '../core/json-path.js';
import type { Tally, WindowState } from './aggregation.js';

type Op = AggregateMetric['op'];

/** What the generated fold needs to know of the compiled config (see `Compiled` in aggregation.ts). */
export interface FoldPlan {
  /** Per slot: its path's one name when the path is a single plain name, else null (read with getPath). */
  names: readonly (string | null)[];
  numericSlots: readonly number[];
  /** Each weighted mean's value slot and weight slot, one pair after the other. */
  products: readonly number[];
  scalarSlots: readonly number[];
  groupSlot: number;
  filterSlot: number;
  metrics: readonly {
    op: Op;
    valueSlot: number;
    weightSlot: number;
    whereSlot: number;
  }[];
}

/** The functions and values the generated code calls and compares with, by these names. */
export interface FoldHelpers {
  getPath: typeof getPath;
  /** The compiled paths, by slot (for the paths read with getPath). */
  paths: readonly CompiledPath[];
  numericValue: (value: unknown) => number;
  isExactSummand: (x: number) => boolean;
  isExactProduct: (a: number, b: number) => boolean;
  /** The general check, for a record some metric may refuse: throws MissingFieldError. */
  checkAll: (read: unknown[], numbers: Float64Array) => void;
  /** Scratch for checkAll's numbers, by slot. */
  numbers: Float64Array;
  missingGroup: () => never;
  /** Exact running sums (exact-sum.ts). */
  RunningSum: new () => {
    add(x: number): void;
    addProduct(a: number, b: number): void;
    partials(): number[];
  };
  /** Top's kept fields of a record, from its values by slot. */
  keptOf: (metric: number, read: unknown[]) => Record<string, unknown>;
  dictionary: () => Record<string, number>;
  /** A fresh WindowState (see aggregation.ts). */
  emptyState: () => WindowState;
  filterEquals: unknown;
  /** Each metric's `where` value, by metric index. */
  whereEquals: readonly unknown[];
}

/** Categories below this many are found by a scan of an array, more in a Map. */
const FEW_CATEGORIES = 16;

/**
 * A countBy's counts while a batch is folded: a few categories (the usual case: sides, types,
 * statuses) are found by comparing with each, which costs less than a hash lookup; past
 * FEW_CATEGORIES they move to a Map. Both keep the order categories were first seen in.
 */
export class CategoryCounts {
  keys: string[] = [];
  counts: number[] = [];
  many: Map<string, number> | null = null;

  add(key: string): void {
    if (this.many !== null) {
      this.many.set(key, (this.many.get(key) ?? 0) + 1);
      return;
    }
    const { keys } = this;
    for (let j = 0; j < keys.length; j++) {
      if (keys[j] === key) {
        this.counts[j] = (this.counts[j] as number) + 1;
        return;
      }
    }
    keys.push(key);
    this.counts.push(1);
    if (keys.length >= FEW_CATEGORIES) this.many = new Map(keys.map((k, j) => [k, this.counts[j] as number]));
  }

  /** The counts as countBy's state (a dictionary from `dictionary`), or null when there are none. */
  state(dictionary: () => Record<string, number>): Record<string, number> | null {
    if (this.keys.length === 0) return null;
    const out = dictionary();
    if (this.many !== null) for (const [key, n] of this.many) out[key] = n;
    else {
      for (let j = 0; j < this.keys.length; j++) out[this.keys[j] as string] = this.counts[j] as number;
    }
    return out;
  }
}

/** What the generated code finds here rather than in the helpers. */
interface Runtime {
  CategoryCounts: typeof CategoryCounts;
}

const HELPERS = [
  'getPath',
  'paths',
  'numericValue',
  'isExactSummand',
  'isExactProduct',
  'checkAll',
  'numbers',
  'missingGroup',
  'RunningSum',
  'CategoryCounts',
  'keptOf',
  'dictionary',
  'emptyState',
  'filterEquals',
  'whereEquals',
] as const satisfies readonly (keyof (FoldHelpers & Runtime))[];

/**
 * Whether the record at `at` comes before (`<`) or after (`>`) the position in fields
 * `seq`/`sub` of the group `t`: `comparePositions` in aggregation.ts, written out.
 */
function positionTest(order: '<' | '>', seq: string, sub: string): string {
  const textOrder = order === '<' ? `seqBefore(at.seq, t.${seq})` : `seqBefore(t.${seq}, at.seq)`;
  return `(at.seq === t.${seq} ? at.sub ${order} t.${sub} : at.seq.length !== t.${seq}.length ? at.seq.length ${order} t.${seq}.length : ${textOrder})`;
}

/**
 * A metric's fields in the group class, with their starting values; the lines that fold a
 * checked record into them (values `r<slot>`, numbers `n<slot>`, the group `t`); and the
 * expression of its MetricState (what `applyValue` would have built, key for key).
 */
function metricCode(
  metric: FoldPlan['metrics'][number],
  i: number,
  read: string,
): { fields: [string, string][]; fold: string[]; state: string } {
  const v = `n${metric.valueSlot}`;
  const [a, p, q, s, u, k, n] = ['a', 'p', 'q', 's', 'u', 'k', 'n'].map((letter) => `${letter}${i}`) as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  switch (metric.op) {
    case 'count':
      return { fields: [[n, '0']], fold: [`t.${n}++;`], state: `t.${n} === 0 ? null : t.${n}` };
    case 'sum':
      return {
        fields: [
          [p, 'new RunningSum()'],
          [n, '0'],
        ],
        fold: [`t.${p}.add(${v});`, `t.${n}++;`],
        state: `t.${n} === 0 ? null : t.${p}.partials()`,
      };
    case 'min':
    case 'max': {
      // Values are finite, so the infinity it starts from is "nothing yet".
      const none = metric.op === 'min' ? 'Infinity' : '-Infinity';
      return {
        fields: [[a, none]],
        fold: [`if (${v} ${metric.op === 'min' ? '<' : '>'} t.${a}) t.${a} = ${v};`],
        state: `t.${a} === ${none} ? null : { m: t.${a} }`,
      };
    }
    case 'first':
    case 'last':
      return {
        fields: [
          [a, '0'],
          [s, 'null'],
          [u, '0'],
        ],
        fold: [
          `if (t.${s} === null || ${positionTest(metric.op === 'first' ? '<' : '>', s, u)}) { t.${a} = ${v}; t.${s} = at.seq; t.${u} = at.sub; }`,
        ],
        state: `t.${s} === null ? null : { v: t.${a}, s: t.${s}, i: t.${u} }`,
      };
    case 'mean':
      return {
        fields: [
          [p, 'new RunningSum()'],
          [n, '0'],
        ],
        fold: [`t.${p}.add(${v});`, `t.${n}++;`],
        state: `t.${n} === 0 ? null : { s: t.${p}.partials(), n: t.${n} }`,
      };
    case 'weightedMean':
      return {
        fields: [
          [p, 'new RunningSum()'],
          [q, 'new RunningSum()'],
          [n, '0'],
        ],
        fold: [
          `t.${p}.addProduct(${v}, n${metric.weightSlot});`,
          `t.${q}.add(n${metric.weightSlot});`,
          `t.${n}++;`,
        ],
        state: `t.${n} === 0 ? null : { sw: t.${p}.partials(), w: t.${q}.partials() }`,
      };
    case 'top':
      // topWins: a larger value, or an equal one from an earlier record.
      return {
        fields: [
          [a, '0'],
          [s, 'null'],
          [u, '0'],
          [k, 'null'],
        ],
        fold: [
          `if (t.${s} === null || ${v} > t.${a} || (${v} === t.${a} && ${positionTest('<', s, u)})) {`,
          `t.${a} = ${v}; t.${s} = at.seq; t.${u} = at.sub; t.${k} = keptOf(${i}, ${read});`,
          '}',
        ],
        state: `t.${s} === null ? null : { b: t.${a}, s: t.${s}, i: t.${u}, r: t.${k} }`,
      };
    case 'countBy':
      return {
        fields: [[k, 'new CategoryCounts()']],
        fold: [`t.${k}.add(String(r${metric.valueSlot}));`],
        state: `t.${k}.state(dictionary)`,
      };
  }
}

/** Whether no metric can refuse the record (`surelyFits` in aggregation.ts), as an expression. */
function fitsExpression(plan: FoldPlan): string {
  const terms = [
    ...plan.numericSlots.map((k) => `isExactSummand(n${k})`),
    ...plan.products.flatMap((k, at) =>
      at % 2 === 0 ? [`isExactProduct(n${k}, n${plan.products[at + 1]})`] : [],
    ),
    ...plan.scalarSlots.map(
      (k) => `(typeof r${k} === 'string' || typeof r${k} === 'number' || typeof r${k} === 'boolean')`,
    ),
  ];
  return terms.length === 0 ? 'true' : terms.join(' && ');
}

/** The source of a function of the helpers `h` that gives a new tally per call. */
export function tallySource(plan: FoldPlan): string {
  const read = `[${plan.names.map((_, k) => `r${k}`).join(', ')}]`;
  const metrics = plan.metrics.map((metric, i) => metricCode(metric, i, read));
  const lines = [
    "'use strict';",
    `const { ${HELPERS.join(', ')} } = h;`,
    // Sequence numbers of equal length, in text order. A batch asks the same question again and
    // again (this record's number against the first record's, for every group), and comparing
    // two numbers that differ only in their last digits reads them whole: the last answer is kept.
    'let beforeA = null, beforeB = null, beforeIs = false;',
    'function seqBefore(a, b) {',
    'if (a !== beforeA || b !== beforeB) { beforeA = a; beforeB = b; beforeIs = a < b; }',
    'return beforeIs;',
    '}',
    // One group's state while the batch is folded.
    'class Group {',
    'constructor() {',
    'this.n = 0;',
    ...metrics.flatMap(({ fields }) => fields.map(([field, start]) => `this.${field} = ${start};`)),
    '}',
    '}',
    // A batch's fold: its groups by key, and the state its counters (and, at the end, its groups) go to.
    'class Tally {',
    'constructor() {',
    'this.groups = new Map();',
    'this.out = emptyState();',
    '}',
    'add(record, at) {',
    "const o = typeof record === 'object' && record !== null ? record : undefined;",
    ...plan.names.map((name, k) =>
      name === null
        ? `const r${k} = getPath(record, paths[${k}]);`
        : `const r${k} = o === undefined ? undefined : o[${JSON.stringify(name)}];`,
    ),
  ];
  if (plan.filterSlot >= 0) {
    lines.push(`if (r${plan.filterSlot} !== filterEquals) { this.out.filtered++; return false; }`);
  }
  lines.push(
    `const g = r${plan.groupSlot};`,
    "if (typeof g !== 'string' && typeof g !== 'number') missingGroup();",
    ...plan.numericSlots.map((k) => `const n${k} = numericValue(r${k});`),
    // Everything is checked first: a missing field must leave the state untouched.
    `if (!(${fitsExpression(plan)})) {`,
    ...plan.numericSlots.map((k) => `numbers[${k}] = n${k};`),
    `checkAll(${read}, numbers);`,
    '}',
    'const key = String(g);',
    'let t = this.groups.get(key);',
    'if (t === undefined) {',
    't = new Group();',
    'this.groups.set(key, t);',
    '}',
    't.n++;',
  );
  plan.metrics.forEach((metric, i) => {
    const { fold } = metrics[i] as (typeof metrics)[number];
    if (metric.whereSlot < 0) lines.push('{', ...fold, '}');
    else lines.push(`if (r${metric.whereSlot} === whereEquals[${i}]) {`, ...fold, '}');
  });
  lines.push(
    'return true;',
    '}',
    'state() {',
    'const { out } = this;',
    'for (const [key, t] of this.groups) {',
    `out.groups[key] = { n: t.n, m: [${metrics.map(({ state }) => state).join(', ')}] };`,
    '}',
    'this.groups.clear();',
    'return out;',
    '}',
    '}',
    'return () => new Tally();',
  );
  return lines.join('\n');
}

/** Compiles generated source into a function of the helpers (`new Function`, unless a test says otherwise). */
export type Compile = (source: string) => (h: FoldHelpers & Runtime) => () => Tally;

const compileSource: Compile = (source) =>
  new Function('h', source) as (h: FoldHelpers & Runtime) => () => Tally;

/**
 * A maker of tallies for `plan`, or null where the runtime does not allow code generation
 * (`--disallow-code-generation-from-strings`: then the general fold does the work).
 */
export function generatedTally(
  plan: FoldPlan,
  helpers: FoldHelpers,
  compile: Compile = compileSource,
): (() => Tally) | null {
  let build: ReturnType<Compile>;
  try {
    build = compile(tallySource(plan));
  } catch (error) {
    if (error instanceof EvalError) return null;
    throw error;
  }
  return build({ ...helpers, CategoryCounts });
}
