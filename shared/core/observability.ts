/**
 * Ports for logs and metrics, so the cores take plain doubles in tests and the
 * handlers pass Powertools' Logger and Metrics in production.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';

export interface LogPort {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** Counts one route (or handler) reports per invocation, by metric name. */
export type Counts = Record<string, number>;

/** Adds one to `counts[key]`. */
export function increment(counts: Counts, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

export interface MetricsPort {
  /** Publishes `counts` as metrics with the given dimension. */
  publish(dimension: { name: string; value: string }, counts: Counts): void;
}

/** Powertools Metrics (CloudWatch embedded metric format), one EMF line per call. */
export function powertoolsMetrics(metrics: Metrics): MetricsPort {
  return {
    publish(dimension, counts) {
      metrics.addDimension(dimension.name, dimension.value);
      for (const [name, value] of Object.entries(counts)) metrics.addMetric(name, MetricUnit.Count, value);
      metrics.publishStoredMetrics();
    },
  };
}

export const silentLogger: LogPort = { debug() {}, info() {}, warn() {}, error() {} };
export const noMetrics: MetricsPort = { publish() {} };
