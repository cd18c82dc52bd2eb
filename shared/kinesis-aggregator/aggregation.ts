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

interface CompiledMetric {
  name: string;
  where?: { path: CompiledPath; equals: unknown };
  /** Reads and checks what the metric needs from a record; throws MissingFieldError. */
  extract(record: unknown): unknown;
  /** Folds an extracted value in, in place where it can; returns the state. */
  apply(state: MetricState, value: unknown, record: unknown, at: Position): MetricState;
  /** Merges two states (neither is changed). */
  merge(a: MetricState, b: MetricState): MetricState;
  result(state: MetricState): unknown;
}

function numberAt(record: unknown, path: CompiledPath, name: string): number {
  const value = getPath(record, path);
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  throw new MissingFieldError(name);
}

/** A number that a sum or a mean adds exactly (see the limits in exact-sum.ts). */
function summandAt(record: unknown, path: CompiledPath, name: string): number {
  const value = numberAt(record, path, name);
  if (!isExactSummand(value)) throw new MissingFieldError(name, BEYOND_EXACT);
  return value;
}

const positionOf = (state: { s: string; i: number }): Position => ({ seq: state.s, sub: state.i });

function compileMetric(name: string, metric: AggregateMetric): CompiledMetric {
  const where = metric.where
    ? { path: compilePath(metric.where.path), equals: metric.where.equals }
    : undefined;
  const base = { name, ...(where ? { where } : {}) };
  switch (metric.op) {
    case 'count':
      return {
        ...base,
        extract: () => 1,
        apply: (state) => ((state as number | null) ?? 0) + 1,
        merge: (a, b) => ((a as number | null) ?? 0) + ((b as number | null) ?? 0),
        result: (state) => (state as number | null) ?? 0,
      };
    case 'sum': {
      const path = compilePath(metric.path);
      return {
        ...base,
        extract: (record) => summandAt(record, path, metric.path),
        apply: (state, value) =>
          addExact(Array.isArray(state) ? state : [...partialsOf(state)], value as number),
        merge: (a, b) => mergeExact(partialsOf(a), partialsOf(b)),
        result: (state) => roundedSum(partialsOf(state)),
      };
    }
    case 'min':
    case 'max': {
      const path = compilePath(metric.path);
      const better = metric.op === 'min' ? (a: number, b: number) => a < b : (a: number, b: number) => a > b;
      return {
        ...base,
        extract: (record) => numberAt(record, path, metric.path),
        apply: (state, value) => {
          if (state === null) return { m: value as number };
          const current = state as { m: number };
          if (better(value as number, current.m)) current.m = value as number;
          return current;
        },
        merge: (a, b) => {
          if (a === null) return b;
          if (b === null) return a;
          const [x, y] = [(a as { m: number }).m, (b as { m: number }).m];
          return { m: better(y, x) ? y : x };
        },
        result: (state) => (state === null ? null : (state as { m: number }).m),
      };
    }
    case 'first':
    case 'last': {
      const path = compilePath(metric.path);
      // Does a record at `candidate` replace the one at `current`?
      const wins =
        metric.op === 'first'
          ? (candidate: Position, current: Position) => comparePositions(candidate, current) < 0
          : (candidate: Position, current: Position) => comparePositions(candidate, current) > 0;
      return {
        ...base,
        extract: (record) => numberAt(record, path, metric.path),
        apply: (state, value, _record, at) => {
          if (state !== null && !wins(at, positionOf(state as { s: string; i: number }))) return state;
          return { v: value as number, s: at.seq, i: at.sub };
        },
        merge: (a, b) => {
          if (a === null) return b;
          if (b === null) return a;
          return wins(positionOf(b as { s: string; i: number }), positionOf(a as { s: string; i: number }))
            ? b
            : a;
        },
        result: (state) => (state === null ? null : (state as { v: number }).v),
      };
    }
    case 'mean': {
      const path = compilePath(metric.path);
      return {
        ...base,
        extract: (record) => summandAt(record, path, metric.path),
        apply: (state, value) => {
          if (state === null) return { s: addExact([], value as number), n: 1 };
          const mean = state as { s: Partials | number; n: number };
          mean.s = addExact(Array.isArray(mean.s) ? mean.s : partialsOf(mean.s), value as number);
          mean.n += 1;
          return mean;
        },
        merge: (a, b) => {
          const x = (a as { s: Partials | number; n: number } | null) ?? { s: [], n: 0 };
          const y = (b as { s: Partials | number; n: number } | null) ?? { s: [], n: 0 };
          return { s: mergeExact(partialsOf(x.s), partialsOf(y.s)), n: x.n + y.n };
        },
        result: (state) => {
          const mean = state as { s: Partials | number; n: number } | null;
          return mean && mean.n > 0 ? roundedMean(partialsOf(mean.s), mean.n) : null;
        },
      };
    }
    case 'weightedMean': {
      const value = compilePath(metric.path);
      const weight = compilePath(metric.weight);
      return {
        ...base,
        extract: (record) => {
          const w = summandAt(record, weight, metric.weight);
          const v = numberAt(record, value, metric.path);
          if (!isExactProduct(v, w))
            throw new MissingFieldError(metric.path, `${BEYOND_EXACT} once weighted`);
          return [v, w];
        },
        apply: (state, extracted) => {
          const [v, w] = extracted as [number, number];
          const weighted = (state as { sw: Partials | number; w: Partials | number } | null) ?? {
            sw: [],
            w: [],
          };
          weighted.sw = addProduct(Array.isArray(weighted.sw) ? weighted.sw : partialsOf(weighted.sw), v, w);
          weighted.w = addExact(Array.isArray(weighted.w) ? weighted.w : partialsOf(weighted.w), w);
          return weighted;
        },
        merge: (a, b) => {
          type Weighted = { sw: Partials | number; w: Partials | number };
          const x = (a as Weighted | null) ?? { sw: [], w: [] };
          const y = (b as Weighted | null) ?? { sw: [], w: [] };
          return {
            sw: mergeExact(partialsOf(x.sw), partialsOf(y.sw)),
            w: mergeExact(partialsOf(x.w), partialsOf(y.w)),
          };
        },
        result: (state) => {
          const weighted = state as { sw: Partials | number; w: Partials | number } | null;
          return weighted ? roundedRatio(partialsOf(weighted.sw), partialsOf(weighted.w)) : null;
        },
      };
    }
    case 'top': {
      const by = compilePath(metric.by);
      const fields = metric.fields.map((field) => [field, compilePath(field)] as const);
      type Top = { b: number; s: string; i: number; r: Record<string, unknown> };
      // The larger value wins; on a tie, the earlier record (so any split agrees).
      const wins = (b: number, at: Position, current: Top) =>
        b > current.b || (b === current.b && comparePositions(at, positionOf(current)) < 0);
      return {
        ...base,
        extract: (record) => numberAt(record, by, metric.by),
        apply: (state, value, record, at) => {
          if (state !== null && !wins(value as number, at, state as Top)) return state;
          const kept: Record<string, unknown> = {};
          for (const [field, path] of fields) kept[field] = getPath(record, path) ?? null;
          return { b: value as number, s: at.seq, i: at.sub, r: kept };
        },
        merge: (a, b) => {
          if (a === null) return b;
          if (b === null) return a;
          const y = b as Top;
          return wins(y.b, positionOf(y), a as Top) ? b : a;
        },
        result: (state) => (state === null ? null : (state as Top).r),
      };
    }
    case 'countBy': {
      const path = compilePath(metric.path);
      return {
        ...base,
        extract: (record) => {
          const value = getPath(record, path);
          if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
            throw new MissingFieldError(metric.path);
          }
          return String(value);
        },
        apply: (state, key) => {
          const counts = (state as Record<string, number> | null) ?? dictionary<number>();
          counts[key as string] = (counts[key as string] ?? 0) + 1;
          return counts;
        },
        merge: (a, b) => {
          const out = Object.assign(dictionary<number>(), a as Record<string, number> | null);
          for (const [key, n] of Object.entries((b as Record<string, number> | null) ?? {}))
            out[key] = (out[key] ?? 0) + n;
          return out;
        },
        // Categories in key order: the order they were first seen in depends on the split.
        result: (state) =>
          Object.fromEntries(
            Object.entries((state as Record<string, number> | null) ?? {}).sort(([a], [b]) => byKey(a, b)),
          ),
      };
    }
  }
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

export function compileReducer(config: KinesisAggregatorConfig): Reducer {
  const metrics = Object.entries(config.metrics).map(([name, metric]) => compileMetric(name, metric));
  const groupPath = compilePath(config.groupBy);
  const filter = config.filter
    ? { path: compilePath(config.filter.path), equals: config.filter.equals }
    : undefined;
  const keepIndex = config.state.keepBy ? metrics.findIndex((m) => m.name === config.state.keepBy) : -1;
  const importance = (group: GroupState): number => {
    if (keepIndex < 0) return group.n;
    const value = (metrics[keepIndex] as CompiledMetric).result(group.m[keepIndex] as MetricState);
    return typeof value === 'number' ? value : group.n;
  };
  const values: unknown[] = new Array(metrics.length);
  const skip = Symbol('not this record');

  return {
    metricNames: metrics.map((m) => m.name),
    add(state, record, at) {
      if (filter && getPath(record, filter.path) !== filter.equals) {
        state.filtered++;
        return false;
      }
      const key = getPath(record, groupPath);
      if (typeof key !== 'string' && typeof key !== 'number') throw new MissingFieldError(config.groupBy);
      // Read and check everything first: a missing field must leave the state untouched.
      for (let i = 0; i < metrics.length; i++) {
        const metric = metrics[i] as CompiledMetric;
        values[i] =
          metric.where && getPath(record, metric.where.path) !== metric.where.equals
            ? skip
            : metric.extract(record);
      }
      const group = String(key);
      let current = state.groups[group];
      if (current === undefined) {
        current = { n: 0, m: metrics.map(() => null) };
        state.groups[group] = current;
      }
      current.n++;
      for (let i = 0; i < metrics.length; i++) {
        if (values[i] === skip) continue;
        current.m[i] = (metrics[i] as CompiledMetric).apply(current.m[i] ?? null, values[i], record, at);
      }
      return true;
    },
    merge(a, b) {
      const out = emptyState();
      for (const source of [a, b]) {
        for (const [group, g] of Object.entries(source.groups)) {
          const existing = out.groups[group];
          out.groups[group] = existing
            ? {
                n: existing.n + g.n,
                m: metrics.map((metric, i) => metric.merge(existing.m[i] ?? null, g.m[i] ?? null)),
              }
            : g;
        }
      }
      out.evictedGroups = a.evictedGroups + b.evictedGroups;
      out.evictedRecords = a.evictedRecords + b.evictedRecords;
      out.filtered = a.filtered + b.filtered;
      return out;
    },
    results(state) {
      return Object.entries(state.groups)
        .sort(([a], [b]) => byKey(a, b))
        .map(([group, g]) => ({
          group,
          records: g.n,
          metrics: Object.fromEntries(
            metrics.map((metric, i) => [metric.name, metric.result(g.m[i] ?? null)]),
          ),
        }));
    },
    bound(state) {
      let size = Buffer.byteLength(JSON.stringify(state));
      if (size <= config.state.maxBytes) return 0;
      // Least important first; equal importance, by group key, so that no merge order decides.
      const ranked = Object.entries(state.groups)
        .map(([group, g]) => ({ group, g, rank: importance(g) }))
        .sort((x, y) => x.rank - y.rank || byKey(x.group, y.group));
      let evicted = 0;
      for (const { group, g } of ranked) {
        if (size <= config.state.maxBytes) break;
        size -= Buffer.byteLength(JSON.stringify({ [group]: g })) - 1; // the group's share of the JSON
        delete state.groups[group];
        state.evictedGroups++;
        state.evictedRecords += g.n;
        evicted++;
      }
      return evicted;
    },
  };
}
