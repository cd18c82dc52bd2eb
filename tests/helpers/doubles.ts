/** Test doubles for the ports the cores take. */
import type { Counts, LogPort, MetricsPort } from '../../shared/core/observability.js';

export interface LogLine {
  level: keyof LogPort;
  message: string;
  extra: Record<string, unknown>[];
}

export function recordingLogger(): LogPort & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: keyof LogPort) =>
    (message: string, ...extra: Record<string, unknown>[]) =>
      lines.push({ level, message, extra });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export function recordingMetrics(): MetricsPort & { published: Map<string, Counts> } {
  const published = new Map<string, Counts>();
  return {
    published,
    publish(dimension, counts) {
      published.set(`${dimension.name}=${dimension.value}`, { ...counts });
    },
  };
}

export const fixedNow = () => new Date('2026-11-21T10:00:00.000Z');
export const noSleep = async () => {};
