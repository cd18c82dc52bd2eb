/**
 * The config-driven reducer behind the aggregator: per group, a compact state for each
 * configured metric. States are plain JSON (Lambda carries them between invocations of a
 * tumbling window), and merging two states gives what one pass over both inputs gives, in
 * any split and any order: first/last and ties carry the record's position in the stream.
 *
 * Folding is the hot path (tens of thousands of records per batch): each record's values
 * are read and checked first, then applied in place, so a record with a missing field
 * changes nothing and a valid one allocates next to nothing.
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
  roundedMean,
  roundedRatio,
  roundedSum,
} from './exact-sum.js';

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

/** Gives a path's slot in `Read` (the same path, the same slot). */
type SlotOf = (path: string) => number;

interface CompiledMetric {
  name: string;
  /** The slot of the `where` path, and the value it must equal; slot -1 when there is none. */
  whereSlot: number;
  whereEquals: unknown;
  /** Checks what the metric needs from a record's values; throws MissingFieldError. */
  extract(read: Read): unknown;
  /** Folds an extracted value in, in place where it can; returns the state. */
  apply(state: MetricState, value: unknown, read: Read, at: Position): MetricState;
  /** Merges two states (neither is changed). */
  merge(a: MetricState, b: MetricState): MetricState;
  result(state: MetricState): unknown;
}

function numberOf(value: unknown, name: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  throw new MissingFieldError(name);
}

/** A number that a sum or a mean adds exactly (see the limits in exact-sum.ts). */
function summandOf(raw: unknown, name: string): number {
  const value = numberOf(raw, name);
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
 * What one kind of metric does, over its own state `S` (null before its first record) and
 * the value `V` it reads from a record.
 */
interface MetricOps<S, V> {
  extract(read: Read): V;
  apply(state: S | null, value: V, read: Read, at: Position): S;
  merge(a: S | null, b: S | null): S | null;
  result(state: S | null): unknown;
}

type Op = AggregateMetric['op'];
/** The config of the metrics whose `op` can be any of `K`. */
type Having<M, K> = M extends { op: infer O } ? ([K] extends [O] ? M : never) : never;
type MetricOf<K extends Op> = Having<AggregateMetric, K>;

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

const count = (_metric: MetricOf<'count'>, _slot: SlotOf): MetricOps<number, 1> => ({
  extract: () => 1,
  apply: (state) => (state ?? 0) + 1,
  merge: (a, b) => (a ?? 0) + (b ?? 0),
  result: (state) => state ?? 0,
});

const sum = (metric: MetricOf<'sum'>, slot: SlotOf): MetricOps<Exact, number> => {
  const at = slot(metric.path);
  return {
    extract: (read) => summandOf(read[at], metric.path),
    apply: (state, value) => addExact(Array.isArray(state) ? state : [...partialsOf(state)], value),
    merge: mergedExact,
    result: (state) => roundedSum(partialsOf(state)),
  };
};

function extreme(metric: MetricOf<'min' | 'max'>, slot: SlotOf): MetricOps<{ m: number }, number> {
  const at = slot(metric.path);
  const better = metric.op === 'min' ? (a: number, b: number) => a < b : (a: number, b: number) => a > b;
  return {
    extract: (read) => numberOf(read[at], metric.path),
    apply: (state, value) => {
      if (state === null) return { m: value };
      if (better(value, state.m)) state.m = value;
      return state;
    },
    merge: (a, b) => (a === null ? b : b === null ? a : { m: better(b.m, a.m) ? b.m : a.m }),
    result: (state) => (state === null ? null : state.m),
  };
}

type Positioned = { v: number; s: string; i: number };

function firstOrLast(metric: MetricOf<'first' | 'last'>, slot: SlotOf): MetricOps<Positioned, number> {
  const from = slot(metric.path);
  const sign = metric.op === 'first' ? -1 : 1;
  // Does a record at `candidate` replace the one at `current`?
  const wins = (candidate: Position, current: Position) => sign * comparePositions(candidate, current) > 0;
  return {
    extract: (read) => numberOf(read[from], metric.path),
    apply: (state, value, _read, at) => {
      if (state === null) return { v: value, s: at.seq, i: at.sub };
      if (sign * compareTo(at, state) > 0) {
        state.v = value;
        state.s = at.seq;
        state.i = at.sub;
      }
      return state;
    },
    merge: (a, b) => pick(a, b, (y, x) => wins(positionOf(y), positionOf(x))),
    result: (state) => (state === null ? null : state.v),
  };
}

type Mean = { s: Exact; n: number };

function mean(metric: MetricOf<'mean'>, slot: SlotOf): MetricOps<Mean, number> {
  const at = slot(metric.path);
  return {
    extract: (read) => summandOf(read[at], metric.path),
    apply: (state, value) => {
      if (state === null) return { s: addExact([], value), n: 1 };
      state.s = addExact(ownPartials(state.s), value);
      state.n += 1;
      return state;
    },
    merge: (a, b) => ({ s: mergedExact(a?.s ?? [], b?.s ?? []), n: (a?.n ?? 0) + (b?.n ?? 0) }),
    result: (state) => (state && state.n > 0 ? roundedMean(partialsOf(state.s), state.n) : null),
  };
}

type Weighted = { sw: Exact; w: Exact };

function weightedMean(metric: MetricOf<'weightedMean'>, slot: SlotOf): MetricOps<Weighted, [number, number]> {
  const value = slot(metric.path);
  const weight = slot(metric.weight);
  // Reused for every record: it is applied before the next record is read.
  const pair: [number, number] = [0, 0];
  return {
    extract: (read) => {
      const w = summandOf(read[weight], metric.weight);
      const v = numberOf(read[value], metric.path);
      if (!isExactProduct(v, w)) throw new MissingFieldError(metric.path, `${BEYOND_EXACT} once weighted`);
      pair[0] = v;
      pair[1] = w;
      return pair;
    },
    apply: (state, pair) => {
      const v = pair[0];
      const w = pair[1];
      const weighted = state ?? { sw: [], w: [] };
      weighted.sw = addProduct(ownPartials(weighted.sw), v, w);
      weighted.w = addExact(ownPartials(weighted.w), w);
      return weighted;
    },
    merge: (a, b) => ({ sw: mergedExact(a?.sw ?? [], b?.sw ?? []), w: mergedExact(a?.w ?? [], b?.w ?? []) }),
    result: (state) => (state ? roundedRatio(partialsOf(state.sw), partialsOf(state.w)) : null),
  };
}

type Top = { b: number; s: string; i: number; r: Record<string, unknown> };

function top(metric: MetricOf<'top'>, slot: SlotOf): MetricOps<Top, number> {
  const by = slot(metric.by);
  const fields = metric.fields.map((field) => [field, slot(field)] as const);
  // The larger value wins; on a tie, the earlier record (so any split agrees).
  const wins = (b: number, at: Position, current: Top) =>
    b > current.b || (b === current.b && compareTo(at, current) < 0);
  return {
    extract: (read) => numberOf(read[by], metric.by),
    apply: (state, value, read, at) => {
      if (state !== null && !wins(value, at, state)) return state;
      const kept: Record<string, unknown> = {};
      for (const [field, from] of fields) kept[field] = read[from] ?? null;
      return { b: value, s: at.seq, i: at.sub, r: kept };
    },
    merge: (a, b) => pick(a, b, (y, x) => wins(y.b, positionOf(y), x)),
    result: (state) => (state === null ? null : state.r),
  };
}

type Counted = Record<string, number>;

function countBy(metric: MetricOf<'countBy'>, slot: SlotOf): MetricOps<Counted, string> {
  const from = slot(metric.path);
  return {
    extract: (read) => {
      const value = read[from];
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        throw new MissingFieldError(metric.path);
      }
      return String(value);
    },
    apply: (state, key) => {
      const counts = state ?? dictionary<number>();
      counts[key] = (counts[key] ?? 0) + 1;
      return counts;
    },
    merge: (a, b) => {
      const out = Object.assign(dictionary<number>(), a);
      for (const [key, n] of Object.entries(b ?? {})) out[key] = (out[key] ?? 0) + n;
      return out;
    },
    // Categories in key order: the order they were first seen in depends on the split.
    result: (state) => Object.fromEntries(Object.entries(state ?? {}).sort(([a], [b]) => byKey(a, b))),
  };
}

/** One factory per op; each metric's state type stays its own inside. */
const METRICS: { [K in Op]: (metric: MetricOf<K>, slot: SlotOf) => object } = {
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

function compileMetric(name: string, metric: AggregateMetric, slot: SlotOf): CompiledMetric {
  // The one place where a metric's own state type meets the state's union of them all.
  type Ops = Pick<CompiledMetric, 'extract' | 'apply' | 'merge' | 'result'>;
  const factory = METRICS[metric.op] as (metric: AggregateMetric, slot: SlotOf) => Ops;
  const { extract, apply, merge, result } = factory(metric, slot);
  // Every compiled metric has the same shape, so the fold's property reads stay monomorphic.
  return {
    name,
    whereSlot: metric.where ? slot(metric.where.path) : -1,
    whereEquals: metric.where?.equals,
    extract,
    apply,
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

export interface Reducer {
  metricNames: string[];
  /**
   * Folds one record into the state. Throws MissingFieldError when a field is missing (the
   * state is left as it was); returns false when the filter skips it.
   */
  add(state: WindowState, record: unknown, at: Position): boolean;
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
  groupSlot: number;
  /** The filter's slot and the value it keeps; slot -1 when there is no filter. */
  filterSlot: number;
  filterEquals: unknown;
  /** The metric `keepBy` names, or -1 to rank groups by their record count. */
  keepIndex: number;
}

const SKIP = Symbol('not this record');

/** Reads every metric's value of a record into `values` (SKIP where its `where` fails). */
function extractAll(c: Compiled, read: Read, values: unknown[]): void {
  for (let i = 0; i < c.metrics.length; i++) {
    const metric = c.metrics[i] as CompiledMetric;
    values[i] =
      metric.whereSlot >= 0 && read[metric.whereSlot] !== metric.whereEquals ? SKIP : metric.extract(read);
  }
}

/** The record's values at each path, once each (records are plain data: a read is pure). */
function readPaths(c: Compiled, record: unknown, read: unknown[]): void {
  for (let k = 0; k < c.paths.length; k++) read[k] = getPath(record, c.paths[k] as CompiledPath);
}

/** The buffers `add` reuses from one record to the next (folding is the hot path). */
interface Scratch {
  read: unknown[];
  values: unknown[];
}

function addRecord(
  c: Compiled,
  scratch: Scratch,
  state: WindowState,
  record: unknown,
  at: Position,
): boolean {
  const { read, values } = scratch;
  readPaths(c, record, read);
  if (c.filterSlot >= 0 && read[c.filterSlot] !== c.filterEquals) {
    state.filtered++;
    return false;
  }
  const key = read[c.groupSlot];
  if (typeof key !== 'string' && typeof key !== 'number') throw new MissingFieldError(c.config.groupBy);
  // Check everything first: a missing field must leave the state untouched.
  extractAll(c, read, values);
  const group = String(key);
  let current = state.groups[group];
  if (current === undefined) {
    current = { n: 0, m: c.metrics.map(() => null) };
    state.groups[group] = current;
  }
  current.n++;
  for (let i = 0; i < c.metrics.length; i++) {
    if (values[i] === SKIP) continue;
    current.m[i] = (c.metrics[i] as CompiledMetric).apply(current.m[i] ?? null, values[i], read, at);
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

export function compileReducer(config: KinesisAggregatorConfig): Reducer {
  const slots = new Map<string, number>();
  const slot: SlotOf = (path) => {
    if (!slots.has(path)) slots.set(path, slots.size);
    return slots.get(path) as number;
  };
  const groupSlot = slot(config.groupBy);
  const filterSlot = config.filter ? slot(config.filter.path) : -1;
  const metrics = Object.entries(config.metrics).map(([name, metric]) => compileMetric(name, metric, slot));
  const c: Compiled = {
    config,
    metrics,
    paths: [...slots.keys()].map(compilePath),
    groupSlot,
    filterSlot,
    filterEquals: config.filter?.equals,
    keepIndex: config.state.keepBy ? metrics.findIndex((m) => m.name === config.state.keepBy) : -1,
  };
  const scratch: Scratch = { read: new Array(c.paths.length), values: new Array(metrics.length) };
  return {
    metricNames: metrics.map((m) => m.name),
    add: (state, record, at) => addRecord(c, scratch, state, record, at),
    merge: (a, b) => mergeStates(c, a, b),
    results: (state) => resultsOf(c, state),
    bound: (state) => boundState(c, state),
  };
}
