/**
 * The config-driven reducer behind the aggregator: per group, a compact state for each
 * configured metric. States are plain JSON (Lambda carries them between invocations of a
 * tumbling window), and merging two states gives what one pass over both inputs gives, in
 * any split and any order: first/last and ties carry the record's position in the stream.
 *
 * Folding is the hot path (tens of thousands of records per batch): each record's values
 * are read once, those read as numbers converted once, all checked first, then applied in
 * place, so a record with a missing field changes nothing and a valid one allocates next
 * to nothing. This general fold (`add`) is the reference; a batch is folded by a `tally`
 * written out for the config (fold-code.ts), held to this fold by property tests.
 */
import type { AggregateMetric, KinesisAggregatorConfig } from '../core/config/schema.js';
import { MissingFieldError } from '../core/errors.js';
import { type CompiledPath, compilePath, getPath } from '../core/json-path.js';
import {
  addExact,
  addProduct,
  isExactProduct,
  isExactSummand,
  mergeExact,
  type Partials,
  partialsOf,
  RunningSum,
  roundedMean,
  roundedRatio,
  roundedSum,
} from './exact-sum.js';
import { type FoldPlan, generatedTally } from './fold-code.js';

export const STATE_VERSION = 1;

/** Where a record sits in its shard: its sequence number and sub-sequence number. */
export interface Position {
  seq: string;
  sub: number;
}

/** Sequence numbers are decimal strings of up to 128 bits: compare by length, then by text. */
export function comparePositions(a: Position, b: Position): number {
  if (a.seq.length !== b.seq.length) return a.seq.length - b.seq.length;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return a.sub - b.sub;
}

/**
 * One metric's state, per op (short keys: the state travels with every invocation). Sums
 * are exact (see exact-sum.ts): non-overlapping partials, rounded once for the result; a
 * plain number there is a state written before sums were exact, read as one partial.
 */
export type MetricState =
  | number // count
  | Partials // sum
  | { m: number } // min, max
  | { v: number; s: string; i: number } // first, last: value and position
  | { s: Partials | number; n: number } // mean
  | { sw: Partials | number; w: Partials | number } // weighted mean
  | { b: number; s: string; i: number; r: Record<string, unknown> } // top: by-value, position, kept fields
  | Record<string, number> // countBy
  | null; // nothing seen yet

export interface GroupState {
  /** Records folded in (what `keepBy` ranks on when it is not set). */
  n: number;
  m: MetricState[];
}

export interface WindowState {
  v: typeof STATE_VERSION;
  groups: Record<string, GroupState>;
  /** Groups dropped to stay within the state budget, and their records. */
  evictedGroups: number;
  evictedRecords: number;
  /** Records skipped by the filter. */
  filtered: number;
}

/** A map keyed by data (group keys, categories): no prototype, so `__proto__` is just a key. */
const dictionary = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

/** Keys (groups, categories) in code-unit order: the order results are written in. */
const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function emptyState(): WindowState {
  return { v: STATE_VERSION, groups: dictionary(), evictedGroups: 0, evictedRecords: 0, filtered: 0 };
}

/** A state from Lambda's `state` field: ours, or empty (the first invocation sends `{}`). */
export function stateFrom(raw: unknown): WindowState {
  const candidate = raw as Partial<WindowState> | undefined;
  if (candidate?.v !== STATE_VERSION || typeof candidate.groups !== 'object' || candidate.groups === null) {
    return emptyState();
  }
  return {
    v: STATE_VERSION,
    groups: Object.assign(dictionary<GroupState>(), candidate.groups),
    evictedGroups: candidate.evictedGroups ?? 0,
    evictedRecords: candidate.evictedRecords ?? 0,
    filtered: candidate.filtered ?? 0,
  };
}

/** A record that lacks what the config needs: it goes to the DLQ, not into the state. */

const BEYOND_EXACT = 'its magnitude is beyond what is summed exactly (2^960)';

/**
 * The values of a record at the paths the reducer reads, each read once per record; a
 * metric finds its own by the slot numbers it was compiled with.
 */
type Read = readonly unknown[];

/**
 * A record's values as numbers, by slot, for the slots a metric reads as a number (see
 * `numericValue`): converted once per record, and kept unboxed.
 */
type Numbers = Float64Array;

/** Gives a path's slot in `Read` (the same path, the same slot). */
type SlotOf = (path: string) => number;

interface CompiledMetric {
  name: string;
  op: Op;
  /** What `checkMetric` and `applyValue` do for it (one switch, so the fold's calls stay monomorphic). */
  kind: Kind;
  /** The slot of its value (`path`, or `by` for top), and of its weight (weightedMean; else -1). */
  valueSlot: number;
  /** Whether it reads its value as a number (all but count and countBy). */
  numeric: boolean;
  weightSlot: number;
  /** The paths a top metric keeps, with their slots. */
  kept: readonly (readonly [string, number])[];
  /** The path its value comes from (`path`, or `by` for top), and the weight's: for MissingFieldError. */
  valuePath: string;
  weightPath: string;
  /** The slot of the `where` path, and the value it must equal; slot -1 when there is none. */
  whereSlot: number;
  whereEquals: unknown;
  /** Merges two states (neither is changed). */
  merge(a: MetricState, b: MetricState): MetricState;
  result(state: MetricState): unknown;
}

/**
 * A value as a metric reads it: a number, or a string that holds one (not blank); NaN for
 * anything else. A metric takes it when it is finite (see `numberAt`).
 */
function numericValue(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '') return Number(value);
  return Number.NaN;
}

/** A slot's number, or MissingFieldError naming `name` when it has none (or not a finite one). */
function numberAt(numbers: Numbers, slot: number, name: string): number {
  const value = numbers[slot] as number;
  if (!Number.isFinite(value)) throw new MissingFieldError(name);
  return value;
}

/** A slot's number that a sum or a mean adds exactly (see the limits in exact-sum.ts). */
function summandAt(numbers: Numbers, slot: number, name: string): number {
  const value = numberAt(numbers, slot, name);
  if (!isExactSummand(value)) throw new MissingFieldError(name, BEYOND_EXACT);
  return value;
}

const positionOf = (state: { s: string; i: number }): Position => ({ seq: state.s, sub: state.i });

/** comparePositions of `at` and a state's position, without building a Position. */
const compareTo = (at: Position, state: { s: string; i: number }): number =>
  at.seq.length !== state.s.length
    ? at.seq.length - state.s.length
    : at.seq !== state.s
      ? at.seq < state.s
        ? -1
        : 1
      : at.sub - state.i;

/**
 * How one kind of metric merges its states (null before its first record) and gives its
 * result. Folding a record in is in `checkMetric` and `applyValue` below, one switch over
 * every kind: there the fold's calls stay monomorphic (a call through eleven different
 * closures per record cost more than the work they did).
 */
interface MetricOps<S> {
  merge(a: S | null, b: S | null): S | null;
  result(state: S | null): unknown;
}

type Op = AggregateMetric['op'];
/** The config of the metrics whose `op` can be any of `K`. */
type Having<M, K> = M extends { op: infer O } ? ([K] extends [O] ? M : never) : never;
type MetricOf<K extends Op> = Having<AggregateMetric, K>;

/** The fold's tag for each op. */
const KIND = {
  count: 0,
  sum: 1,
  min: 2,
  max: 3,
  first: 4,
  last: 5,
  mean: 6,
  weightedMean: 7,
  top: 8,
  countBy: 9,
} as const satisfies Record<Op, number>;
type Kind = (typeof KIND)[Op];

/** A sum's partials, or a plain number from a state written before sums were exact. */
type Exact = Partials | number;
/** The partials to add to in place: the state's own array, or a fresh one. */
const ownPartials = (state: Exact | null): Partials => (Array.isArray(state) ? state : partialsOf(state));
/** Merges two exact sums into a fresh array. */
const mergedExact = (a: Exact | null, b: Exact | null): Partials => mergeExact(partialsOf(a), partialsOf(b));

/** Of two states, the one `wins` picks; a state beats none. */
function pick<S>(a: S | null, b: S | null, bWins: (b: S, a: S) => boolean): S | null {
  if (a === null) return b;
  if (b === null) return a;
  return bWins(b, a) ? b : a;
}

const count = (): MetricOps<number> => ({
  merge: (a, b) => (a ?? 0) + (b ?? 0),
  result: (state) => state ?? 0,
});

const sum = (): MetricOps<Exact> => ({
  merge: mergedExact,
  result: (state) => roundedSum(partialsOf(state)),
});

function extreme(metric: MetricOf<'min' | 'max'>): MetricOps<{ m: number }> {
  const better = metric.op === 'min' ? (a: number, b: number) => a < b : (a: number, b: number) => a > b;
  return {
    merge: (a, b) => (a === null ? b : b === null ? a : { m: better(b.m, a.m) ? b.m : a.m }),
    result: (state) => (state === null ? null : state.m),
  };
}

type Positioned = { v: number; s: string; i: number };

function firstOrLast(metric: MetricOf<'first' | 'last'>): MetricOps<Positioned> {
  const sign = metric.op === 'first' ? -1 : 1;
  // Does a record at `candidate` replace the one at `current`?
  const wins = (candidate: Position, current: Position) => sign * comparePositions(candidate, current) > 0;
  return {
    merge: (a, b) => pick(a, b, (y, x) => wins(positionOf(y), positionOf(x))),
    result: (state) => (state === null ? null : state.v),
  };
}

type Mean = { s: Exact; n: number };

const mean = (): MetricOps<Mean> => ({
  merge: (a, b) => ({ s: mergedExact(a?.s ?? [], b?.s ?? []), n: (a?.n ?? 0) + (b?.n ?? 0) }),
  result: (state) => (state && state.n > 0 ? roundedMean(partialsOf(state.s), state.n) : null),
});

type Weighted = { sw: Exact; w: Exact };

const weightedMean = (): MetricOps<Weighted> => ({
  merge: (a, b) => ({ sw: mergedExact(a?.sw ?? [], b?.sw ?? []), w: mergedExact(a?.w ?? [], b?.w ?? []) }),
  result: (state) => (state ? roundedRatio(partialsOf(state.sw), partialsOf(state.w)) : null),
});

type Top = { b: number; s: string; i: number; r: Record<string, unknown> };

/** The larger value wins; on a tie, the earlier record (so any split agrees). */
const topWins = (b: number, at: Position, current: Top): boolean =>
  b > current.b || (b === current.b && compareTo(at, current) < 0);

const top = (): MetricOps<Top> => ({
  merge: (a, b) => pick(a, b, (y, x) => topWins(y.b, positionOf(y), x)),
  result: (state) => (state === null ? null : state.r),
});

type Counted = Record<string, number>;

const countBy = (): MetricOps<Counted> => ({
  merge: (a, b) => {
    const out = Object.assign(dictionary<number>(), a);
    for (const [key, n] of Object.entries(b ?? {})) out[key] = (out[key] ?? 0) + n;
    return out;
  },
  // Categories in key order: the order they were first seen in depends on the split.
  result: (state) => Object.fromEntries(Object.entries(state ?? {}).sort(([a], [b]) => byKey(a, b))),
});

/** One factory per op; each metric's state type stays its own inside. */
const METRICS: { [K in Op]: (metric: MetricOf<K>) => object } = {
  count,
  sum,
  min: extreme,
  max: extreme,
  first: firstOrLast,
  last: firstOrLast,
  mean,
  weightedMean,
  top,
  countBy,
};

/** Checks what a metric needs from a record's values; throws MissingFieldError. */
function checkMetric(metric: CompiledMetric, read: Read, numbers: Numbers): void {
  switch (metric.kind) {
    case KIND.count:
      return;
    case KIND.sum:
    case KIND.mean:
      summandAt(numbers, metric.valueSlot, metric.valuePath);
      return;
    case KIND.weightedMean: {
      const w = summandAt(numbers, metric.weightSlot, metric.weightPath);
      const v = numberAt(numbers, metric.valueSlot, metric.valuePath);
      if (!isExactProduct(v, w))
        throw new MissingFieldError(metric.valuePath, `${BEYOND_EXACT} once weighted`);
      return;
    }
    case KIND.countBy: {
      const value = read[metric.valueSlot];
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        throw new MissingFieldError(metric.valuePath);
      }
      return;
    }
    default: // min, max, first, last, top
      numberAt(numbers, metric.valueSlot, metric.valuePath);
  }
}

/** The fields a top metric keeps of a record, by their paths (null for a missing one). */
function keptOf(metric: CompiledMetric, read: Read): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [field, from] of metric.kept) kept[field] = read[from] ?? null;
  return kept;
}

/** Folds a checked record into a metric's state, in place where it can; gives the state. */
function applyValue(
  metric: CompiledMetric,
  state: MetricState,
  read: Read,
  numbers: Numbers,
  at: Position,
): MetricState {
  // Count has no slot (-1), countBy's is not numeric: neither reads it (nor reads out of bounds).
  const value = metric.numeric ? (numbers[metric.valueSlot] as number) : 0;
  switch (metric.kind) {
    case KIND.count:
      return ((state as number | null) ?? 0) + 1;
    case KIND.sum: {
      const exact = state as Exact | null;
      return addExact(Array.isArray(exact) ? exact : [...partialsOf(exact)], value);
    }
    case KIND.min:
    case KIND.max: {
      const extreme = state as { m: number } | null;
      if (extreme === null) return { m: value };
      if (metric.kind === KIND.min ? value < extreme.m : value > extreme.m) extreme.m = value;
      return extreme;
    }
    case KIND.first:
    case KIND.last: {
      const positioned = state as Positioned | null;
      if (positioned === null) return { v: value, s: at.seq, i: at.sub };
      if ((metric.kind === KIND.first ? -1 : 1) * compareTo(at, positioned) > 0) {
        positioned.v = value;
        positioned.s = at.seq;
        positioned.i = at.sub;
      }
      return positioned;
    }
    case KIND.mean: {
      const averaged = state as Mean | null;
      if (averaged === null) return { s: addExact([], value), n: 1 };
      averaged.s = addExact(ownPartials(averaged.s), value);
      averaged.n += 1;
      return averaged;
    }
    case KIND.weightedMean: {
      const weighted = (state as Weighted | null) ?? { sw: [], w: [] };
      const weight = numbers[metric.weightSlot] as number;
      weighted.sw = addProduct(ownPartials(weighted.sw), value, weight);
      weighted.w = addExact(ownPartials(weighted.w), weight);
      return weighted;
    }
    case KIND.top: {
      const current = state as Top | null;
      if (current !== null && !topWins(value, at, current)) return current;
      return { b: value, s: at.seq, i: at.sub, r: keptOf(metric, read) };
    }
    default: {
      const counts = (state as Counted | null) ?? dictionary<number>();
      const key = String(read[metric.valueSlot]);
      counts[key] = (counts[key] ?? 0) + 1;
      return counts;
    }
  }
}

/** The fields a metric reads, by path; the slots are taken in the order the metric names them. */
function pathsOf(metric: AggregateMetric): { value: string; weight: string; kept: readonly string[] } {
  switch (metric.op) {
    case 'count':
      return { value: '', weight: '', kept: [] };
    case 'weightedMean':
      return { value: metric.path, weight: metric.weight, kept: [] };
    case 'top':
      return { value: metric.by, weight: '', kept: metric.fields };
    default:
      return { value: metric.path, weight: '', kept: [] };
  }
}

function compileMetric(name: string, metric: AggregateMetric, slot: SlotOf): CompiledMetric {
  // The one place where a metric's own state type meets the state's union of them all.
  type Ops = Pick<CompiledMetric, 'merge' | 'result'>;
  const factory = METRICS[metric.op] as (metric: AggregateMetric) => Ops;
  const { merge, result } = factory(metric);
  const paths = pathsOf(metric);
  // Every compiled metric has the same shape, so the fold's property reads stay monomorphic.
  return {
    name,
    op: metric.op,
    kind: KIND[metric.op],
    valueSlot: paths.value === '' ? -1 : slot(paths.value),
    numeric: metric.op !== 'count' && metric.op !== 'countBy',
    weightSlot: paths.weight === '' ? -1 : slot(paths.weight),
    kept: paths.kept.map((field) => [field, slot(field)] as const),
    valuePath: paths.value,
    weightPath: paths.weight,
    whereSlot: metric.where ? slot(metric.where.path) : -1,
    whereEquals: metric.where?.equals,
    merge,
    result,
  };
}

/** One group's result of a window. */
export interface GroupResult {
  group: string;
  records: number;
  metrics: Record<string, unknown>;
}

/**
 * A fold of one batch into a state of its own, from empty (the handler's hot path). It takes
 * and refuses what `add` does, with the same errors, and ends in the state `add` would give
 * from an empty one, but for the form of its exact sums: other partials of the same exact
 * value (so every result is the same).
 */
export interface Tally {
  /** As `Reducer.add`, into the tally's state. */
  add(record: unknown, at: Position): boolean;
  /** The state of what was added. Ends the tally. */
  state(): WindowState;
}

export interface Reducer {
  metricNames: string[];
  /**
   * Folds one record into the state. Throws MissingFieldError when a field is missing (the
   * state is left as it was); returns false when the filter skips it.
   */
  add(state: WindowState, record: unknown, at: Position): boolean;
  /** A fold of a batch from an empty state: the same state as `add`'s, sooner. */
  tally(): Tally;
  /** Merges two states; it takes them over (fold nothing into them afterwards). */
  merge(a: WindowState, b: WindowState): WindowState;
  /** Metric values per group. */
  results(state: WindowState): GroupResult[];
  /** Drops the least important groups until the serialised state fits; returns how many. */
  bound(state: WindowState): number;
}

/** A reducer's compiled config: what `add`, `merge`, `results` and `bound` share. */
interface Compiled {
  config: KinesisAggregatorConfig;
  metrics: CompiledMetric[];
  /** The distinct paths the reducer reads, by slot. */
  paths: CompiledPath[];
  /** The slots some metric reads as a number. */
  numericSlots: readonly number[];
  /** Each weighted mean's value slot and weight slot, one pair after the other. */
  products: readonly number[];
  /** The slots a countBy reads. */
  scalarSlots: readonly number[];
  groupSlot: number;
  /** The filter's slot and the value it keeps; slot -1 when there is no filter. */
  filterSlot: number;
  filterEquals: unknown;
  /** The metric `keepBy` names, or -1 to rank groups by their record count. */
  keepIndex: number;
}

/** Converts the values of the numeric slots once (see `numericValue`). */
function readNumbers(c: Compiled, read: Read, numbers: Numbers): void {
  for (let k = 0; k < c.numericSlots.length; k++) {
    const slot = c.numericSlots[k] as number;
    numbers[slot] = numericValue(read[slot]);
  }
}

/** Whether metric's `where` holds for the record (or it has none). */
const isFor = (metric: CompiledMetric, read: Read): boolean =>
  metric.whereSlot < 0 || read[metric.whereSlot] === metric.whereEquals;

/**
 * Checks every metric the record is for, in the metrics' order (so the first missing field
 * is the one reported); throws MissingFieldError.
 */
function checkAll(c: Compiled, read: Read, numbers: Numbers): void {
  for (let i = 0; i < c.metrics.length; i++) {
    const metric = c.metrics[i] as CompiledMetric;
    if (isFor(metric, read)) checkMetric(metric, read, numbers);
  }
}

/**
 * Whether no metric can refuse the record, whatever its `where`s say: every numeric slot
 * holds a number a sum adds exactly, every weighted product is exact, every countBy value
 * is a scalar. Then `checkAll` would pass; this asks each slot once instead of each metric.
 */
function surelyFits(c: Compiled, read: Read, numbers: Numbers): boolean {
  for (let k = 0; k < c.numericSlots.length; k++) {
    if (!isExactSummand(numbers[c.numericSlots[k] as number] as number)) return false;
  }
  for (let k = 0; k < c.products.length; k += 2) {
    const value = numbers[c.products[k] as number] as number;
    if (!isExactProduct(value, numbers[c.products[k + 1] as number] as number)) return false;
  }
  for (let k = 0; k < c.scalarSlots.length; k++) {
    const value = read[c.scalarSlots[k] as number];
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return false;
  }
  return true;
}

/** The record's values at each path, once each (records are plain data: a read is pure). */
function readPaths(c: Compiled, record: unknown, read: unknown[]): void {
  for (let k = 0; k < c.paths.length; k++) read[k] = getPath(record, c.paths[k] as CompiledPath);
}

/** The buffers a fold reuses from one record to the next (folding is the hot path). */
interface Scratch {
  read: unknown[];
  numbers: Numbers;
}

/** Folds a record whose values at the reducer's paths are in `read`, by slot. */
function addRead(c: Compiled, scratch: Scratch, state: WindowState, read: Read, at: Position): boolean {
  if (c.filterSlot >= 0 && read[c.filterSlot] !== c.filterEquals) {
    state.filtered++;
    return false;
  }
  const key = read[c.groupSlot];
  if (typeof key !== 'string' && typeof key !== 'number') throw new MissingFieldError(c.config.groupBy);
  // Check everything first: a missing field must leave the state untouched.
  const { numbers } = scratch;
  readNumbers(c, read, numbers);
  if (!surelyFits(c, read, numbers)) checkAll(c, read, numbers);
  const group = String(key);
  let current = state.groups[group];
  if (current === undefined) {
    current = { n: 0, m: c.metrics.map(() => null) };
    state.groups[group] = current;
  }
  current.n++;
  for (let i = 0; i < c.metrics.length; i++) {
    const metric = c.metrics[i] as CompiledMetric;
    if (!isFor(metric, read)) continue;
    current.m[i] = applyValue(metric, current.m[i] ?? null, read, numbers, at);
  }
  return true;
}

function mergeStates(c: Compiled, a: WindowState, b: WindowState): WindowState {
  const out = emptyState();
  for (const source of [a, b]) {
    for (const [group, g] of Object.entries(source.groups)) {
      const existing = out.groups[group];
      out.groups[group] = existing
        ? {
            n: existing.n + g.n,
            m: c.metrics.map((metric, i) => metric.merge(existing.m[i] ?? null, g.m[i] ?? null)),
          }
        : g;
    }
  }
  out.evictedGroups = a.evictedGroups + b.evictedGroups;
  out.evictedRecords = a.evictedRecords + b.evictedRecords;
  out.filtered = a.filtered + b.filtered;
  return out;
}

function resultsOf(c: Compiled, state: WindowState): GroupResult[] {
  return Object.entries(state.groups)
    .sort(([a], [b]) => byKey(a, b))
    .map(([group, g]) => ({
      group,
      records: g.n,
      metrics: Object.fromEntries(c.metrics.map((metric, i) => [metric.name, metric.result(g.m[i] ?? null)])),
    }));
}

/** How much a group is worth keeping: its `keepBy` metric, else its record count. */
function importance(c: Compiled, group: GroupState): number {
  if (c.keepIndex < 0) return group.n;
  const value = (c.metrics[c.keepIndex] as CompiledMetric).result(group.m[c.keepIndex] as MetricState);
  return typeof value === 'number' ? value : group.n;
}

function boundState(c: Compiled, state: WindowState): number {
  const { maxBytes } = c.config.state;
  let size = Buffer.byteLength(JSON.stringify(state));
  if (size <= maxBytes) return 0;
  // Least important first; equal importance, by group key, so that no merge order decides.
  const ranked = Object.entries(state.groups)
    .map(([group, g]) => ({ group, g, rank: importance(c, g) }))
    .sort((x, y) => x.rank - y.rank || byKey(x.group, y.group));
  let evicted = 0;
  for (const { group, g } of ranked) {
    if (size <= maxBytes) break;
    size -= Buffer.byteLength(JSON.stringify({ [group]: g })) - 1; // the group's share of the JSON
    delete state.groups[group];
    state.evictedGroups++;
    state.evictedRecords += g.n;
    evicted++;
  }
  return evicted;
}

/** The slots some metric reads as a number: every metric's value but count's and countBy's, and weights. */
function numericSlotsOf(metrics: readonly CompiledMetric[]): number[] {
  const slots = new Set<number>();
  for (const metric of metrics) {
    if (metric.numeric) slots.add(metric.valueSlot);
    if (metric.weightSlot >= 0) slots.add(metric.weightSlot);
  }
  return [...slots];
}

/** The batch fold written out for the config (see fold-code.ts); null where code cannot be generated. */
function generatedTallyOf(c: Compiled, scratch: Scratch): (() => Tally) | null {
  const plan: FoldPlan = {
    names: c.paths.map((path) => (path.length === 1 && path.plain ? (path[0] as string) : null)),
    numericSlots: c.numericSlots,
    products: c.products,
    scalarSlots: c.scalarSlots,
    groupSlot: c.groupSlot,
    filterSlot: c.filterSlot,
    metrics: c.metrics,
  };
  return generatedTally(plan, {
    getPath,
    paths: c.paths,
    numericValue,
    isExactSummand,
    isExactProduct,
    checkAll: (read, numbers) => checkAll(c, read, numbers),
    numbers: scratch.numbers,
    missingGroup: () => {
      throw new MissingFieldError(c.config.groupBy);
    },
    RunningSum,
    keptOf: (i, read) => keptOf(c.metrics[i] as CompiledMetric, read),
    dictionary,
    emptyState,
    filterEquals: c.filterEquals,
    whereEquals: c.metrics.map((metric) => metric.whereEquals),
  });
}

/** Options of compileReducer (for the tests). */
export interface ReducerOptions {
  /** Tally with the code written out for the config (the default), or with the general fold. */
  generated?: boolean;
}

export function compileReducer(config: KinesisAggregatorConfig, options: ReducerOptions = {}): Reducer {
  const slots = new Map<string, number>();
  const slot: SlotOf = (path) => {
    if (!slots.has(path)) slots.set(path, slots.size);
    return slots.get(path) as number;
  };
  const groupSlot = slot(config.groupBy);
  const filterSlot = config.filter ? slot(config.filter.path) : -1;
  const metrics = Object.entries(config.metrics).map(([name, metric]) => compileMetric(name, metric, slot));
  const paths = [...slots.keys()].map(compilePath);
  const c: Compiled = {
    config,
    metrics,
    paths,
    numericSlots: numericSlotsOf(metrics),
    products: metrics.flatMap((m) => (m.kind === KIND.weightedMean ? [m.valueSlot, m.weightSlot] : [])),
    scalarSlots: metrics.filter((m) => m.kind === KIND.countBy).map((m) => m.valueSlot),
    groupSlot,
    filterSlot,
    filterEquals: config.filter?.equals,
    keepIndex: config.state.keepBy ? metrics.findIndex((m) => m.name === config.state.keepBy) : -1,
  };
  const scratch: Scratch = {
    read: new Array(paths.length),
    numbers: new Float64Array(paths.length),
  };
  const add: Reducer['add'] = (state, record, at) => {
    readPaths(c, record, scratch.read);
    return addRead(c, scratch, state, scratch.read, at);
  };
  // Without generated code, a tally is the general fold into an empty state.
  const generalTally = (): Tally => {
    const state = emptyState();
    return { add: (record, at) => add(state, record, at), state: () => state };
  };
  return {
    metricNames: metrics.map((m) => m.name),
    add,
    tally: (options.generated === false ? null : generatedTallyOf(c, scratch)) ?? generalTally,
    merge: (a, b) => mergeStates(c, a, b),
    results: (state) => resultsOf(c, state),
    bound: (state) => boundState(c, state),
  };
}
