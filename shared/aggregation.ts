/**
 * The config-driven reducer behind the aggregator: per group, a compact state for each
 * configured metric. States are plain JSON (Lambda carries them between invocations of a
 * tumbling window), and merging two states gives what one pass over both inputs gives, in
 * any split and any order: first/last and ties carry the record's position in the stream.
 */
import type { AggregateMetric, KinesisAggregatorConfig } from './config/schema.js';
import { type CompiledPath, compilePath, getPath } from './json-path.js';

export const STATE_VERSION = 1;

/** Where a record sits in its shard: sequence number, then sub-sequence, comparable as text. */
export function positionOf(sequenceNumber: string, subSequenceNumber: number): string {
  return `${sequenceNumber.padStart(64, '0')}:${String(subSequenceNumber).padStart(10, '0')}`;
}

/** One metric's state, per op (short keys: the state travels with every invocation). */
export type MetricState =
  | number // count, sum
  | { m: number } // min, max
  | { v: number; p: string } // first, last: value and position
  | { s: number; n: number } // mean
  | { sw: number; w: number } // weighted mean
  | { b: number; p: string; r: Record<string, unknown> } // top: by-value, position, kept fields
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

export function emptyState(): WindowState {
  return { v: STATE_VERSION, groups: {}, evictedGroups: 0, evictedRecords: 0, filtered: 0 };
}

/** A state from Lambda's `state` field: ours, or empty (the first invocation sends `{}`). */
export function stateFrom(raw: unknown): WindowState {
  const candidate = raw as Partial<WindowState> | undefined;
  if (candidate?.v === STATE_VERSION && typeof candidate.groups === 'object' && candidate.groups !== null) {
    return {
      v: STATE_VERSION,
      groups: candidate.groups,
      evictedGroups: candidate.evictedGroups ?? 0,
      evictedRecords: candidate.evictedRecords ?? 0,
      filtered: candidate.filtered ?? 0,
    };
  }
  return emptyState();
}

/** A record that lacks what the config needs: it goes to the DLQ, not into the state. */
export class MissingFieldError extends Error {
  constructor(readonly field: string) {
    super(`Record has no usable value at "${field}"`);
    this.name = 'MissingFieldError';
  }
}

interface CompiledMetric {
  name: string;
  metric: AggregateMetric;
  where?: { path: CompiledPath; equals: unknown };
  /** This metric's state with one more record folded in. */
  fold(state: MetricState, record: unknown, position: string): MetricState;
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

const earlier = (a: string, b: string) => a < b;

function compileMetric(name: string, metric: AggregateMetric): CompiledMetric {
  const where = metric.where
    ? { path: compilePath(metric.where.path), equals: metric.where.equals }
    : undefined;
  const base = { name, metric, ...(where ? { where } : {}) };
  switch (metric.op) {
    case 'count':
      return {
        ...base,
        fold: (state) => ((state as number | null) ?? 0) + 1,
        merge: (a, b) => ((a as number | null) ?? 0) + ((b as number | null) ?? 0),
        result: (state) => (state as number | null) ?? 0,
      };
    case 'sum': {
      const path = compilePath(metric.path);
      return {
        ...base,
        fold: (state, record) => ((state as number | null) ?? 0) + numberAt(record, path, metric.path),
        merge: (a, b) => ((a as number | null) ?? 0) + ((b as number | null) ?? 0),
        result: (state) => (state as number | null) ?? 0,
      };
    }
    case 'min':
    case 'max': {
      const path = compilePath(metric.path);
      const pick = metric.op === 'min' ? Math.min : Math.max;
      const merge = (a: MetricState, b: MetricState): MetricState => {
        if (a === null) return b;
        if (b === null) return a;
        return { m: pick((a as { m: number }).m, (b as { m: number }).m) };
      };
      return {
        ...base,
        fold: (state, record) => merge(state, { m: numberAt(record, path, metric.path) }),
        merge,
        result: (state) => (state === null ? null : (state as { m: number }).m),
      };
    }
    case 'first':
    case 'last': {
      const path = compilePath(metric.path);
      const wins = metric.op === 'first' ? earlier : (a: string, b: string) => a > b;
      const merge = (a: MetricState, b: MetricState): MetricState => {
        if (a === null) return b;
        if (b === null) return a;
        return wins((b as { p: string }).p, (a as { p: string }).p) ? b : a;
      };
      return {
        ...base,
        fold: (state, record, position) =>
          merge(state, { v: numberAt(record, path, metric.path), p: position }),
        merge,
        result: (state) => (state === null ? null : (state as { v: number }).v),
      };
    }
    case 'mean': {
      const path = compilePath(metric.path);
      const merge = (a: MetricState, b: MetricState): MetricState => {
        const x = (a as { s: number; n: number } | null) ?? { s: 0, n: 0 };
        const y = (b as { s: number; n: number } | null) ?? { s: 0, n: 0 };
        return { s: x.s + y.s, n: x.n + y.n };
      };
      return {
        ...base,
        fold: (state, record) => merge(state, { s: numberAt(record, path, metric.path), n: 1 }),
        merge,
        result: (state) => {
          const mean = state as { s: number; n: number } | null;
          return mean && mean.n > 0 ? mean.s / mean.n : null;
        },
      };
    }
    case 'weightedMean': {
      const value = compilePath(metric.path);
      const weight = compilePath(metric.weight);
      const merge = (a: MetricState, b: MetricState): MetricState => {
        const x = (a as { sw: number; w: number } | null) ?? { sw: 0, w: 0 };
        const y = (b as { sw: number; w: number } | null) ?? { sw: 0, w: 0 };
        return { sw: x.sw + y.sw, w: x.w + y.w };
      };
      return {
        ...base,
        fold: (state, record) => {
          const w = numberAt(record, weight, metric.weight);
          return merge(state, { sw: numberAt(record, value, metric.path) * w, w });
        },
        merge,
        result: (state) => {
          const weighted = state as { sw: number; w: number } | null;
          return weighted && weighted.w !== 0 ? weighted.sw / weighted.w : null;
        },
      };
    }
    case 'top': {
      const by = compilePath(metric.by);
      const fields = metric.fields.map((field) => [field, compilePath(field)] as const);
      const merge = (a: MetricState, b: MetricState): MetricState => {
        if (a === null) return b;
        if (b === null) return a;
        const x = a as { b: number; p: string };
        const y = b as { b: number; p: string };
        // The larger value wins; on a tie, the earlier record (so any split agrees).
        return y.b > x.b || (y.b === x.b && earlier(y.p, x.p)) ? b : a;
      };
      return {
        ...base,
        fold: (state, record, position) => {
          const kept: Record<string, unknown> = {};
          for (const [field, path] of fields) kept[field] = getPath(record, path) ?? null;
          return merge(state, { b: numberAt(record, by, metric.by), p: position, r: kept });
        },
        merge,
        result: (state) => (state === null ? null : (state as { r: Record<string, unknown> }).r),
      };
    }
    case 'countBy': {
      const path = compilePath(metric.path);
      const merge = (a: MetricState, b: MetricState): MetricState => {
        const out: Record<string, number> = { ...((a as Record<string, number> | null) ?? {}) };
        for (const [key, n] of Object.entries((b as Record<string, number> | null) ?? {})) {
          out[key] = (out[key] ?? 0) + n;
        }
        return out;
      };
      return {
        ...base,
        fold: (state, record) => {
          const value = getPath(record, path);
          if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
            throw new MissingFieldError(metric.path);
          }
          return merge(state, { [String(value)]: 1 });
        },
        merge,
        result: (state) => (state as Record<string, number> | null) ?? {},
      };
    }
  }
}

export interface Reducer {
  metricNames: string[];
  /**
   * Folds one record into the state. Throws MissingFieldError when a field is missing (the
   * state is left as it was); returns false when the filter skips it.
   */
  add(state: WindowState, record: unknown, position: string): boolean;
  merge(a: WindowState, b: WindowState): WindowState;
  /** Metric values per group. */
  results(state: WindowState): { group: string; records: number; metrics: Record<string, unknown> }[];
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

  const mergeGroups = (a: GroupState, b: GroupState): GroupState => ({
    n: a.n + b.n,
    m: metrics.map((metric, i) => metric.merge(a.m[i] ?? null, b.m[i] ?? null)),
  });

  return {
    metricNames: metrics.map((m) => m.name),
    add(state, record, position) {
      if (filter && getPath(record, filter.path) !== filter.equals) {
        state.filtered++;
        return false;
      }
      const key = getPath(record, groupPath);
      if (typeof key !== 'string' && typeof key !== 'number') throw new MissingFieldError(config.groupBy);
      const group = String(key);
      const current = Object.hasOwn(state.groups, group) ? (state.groups[group] as GroupState) : undefined;
      // Fold into a copy first: a missing field must leave the state untouched.
      const next = metrics.map((metric, i) => {
        const previous = current?.m[i] ?? null;
        if (metric.where && getPath(record, metric.where.path) !== metric.where.equals) return previous;
        return metric.fold(previous, record, position);
      });
      Object.defineProperty(state.groups, group, {
        value: { n: (current?.n ?? 0) + 1, m: next },
        enumerable: true,
        writable: true,
        configurable: true,
      });
      return true;
    },
    merge(a, b) {
      const out = emptyState();
      for (const source of [a, b]) {
        for (const [group, state] of Object.entries(source.groups)) {
          const existing = Object.hasOwn(out.groups, group) ? out.groups[group] : undefined;
          Object.defineProperty(out.groups, group, {
            value: existing ? mergeGroups(existing, state) : state,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
      }
      out.evictedGroups = a.evictedGroups + b.evictedGroups;
      out.evictedRecords = a.evictedRecords + b.evictedRecords;
      out.filtered = a.filtered + b.filtered;
      return out;
    },
    results(state) {
      return Object.entries(state.groups)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
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
      const ranked = Object.entries(state.groups).sort(([, a], [, b]) => importance(a) - importance(b));
      let evicted = 0;
      for (const [group, g] of ranked) {
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
