/**
 * Window states compared by what they mean. Two folds of the same records may keep an exact
 * sum as different partials (the batch fold keeps a running pair, the general fold grows the
 * partials record by record); the exact value is the same, and it is all a result is made of.
 */
import type { AggregateMetric, KinesisAggregatorConfig } from '../../shared/core/config/schema.js';
import type { MetricState, WindowState } from '../../shared/kinesis-aggregator/aggregation.js';
import { exactScaled, type Partials, partialsOf } from '../../shared/kinesis-aggregator/exact-sum.js';

/** A sum's exact value, as text: the form two equal sums share whatever their partials. */
const exact = (partials: unknown): string => exactScaled(partialsOf(partials)).toString();

/** A metric's state with each exact sum replaced by its exact value. */
function comparableMetric(metric: AggregateMetric, state: MetricState): unknown {
  if (state === null) return null;
  switch (metric.op) {
    case 'sum':
      return exact(state);
    case 'mean': {
      const { s, n } = state as { s: Partials; n: number };
      return { s: exact(s), n };
    }
    case 'weightedMean': {
      const { sw, w } = state as { sw: Partials; w: Partials };
      return { sw: exact(sw), w: exact(w) };
    }
    default:
      return state;
  }
}

/** A state with its groups in order and every exact sum as its exact value. */
export function comparableState(config: KinesisAggregatorConfig, state: WindowState) {
  const metrics = Object.values(config.metrics);
  return {
    ...state,
    groupOrder: Object.keys(state.groups),
    groups: Object.entries(state.groups).map(([group, g]) => ({
      group,
      n: g.n,
      m: g.m.map((m, i) => comparableMetric(metrics[i] as AggregateMetric, m)),
    })),
  };
}
