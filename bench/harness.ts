/**
 * The bench harness every handler's suite plugs into: one Kinesis emulator (kinesalite in a
 * child process, so its CPU is not ours, and with a per-record cost that stays flat as a
 * stream fills, unlike kinesis-local's), suites that each return rows of "our figure beside a
 * baseline measured in the same run", a table on stdout and optionally JSON.
 */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { Emulator } from '../local/emulators.js';
import { createKinesisClient } from '../shared/core/aws-clients.js';

export interface BenchRow {
  suite: string;
  metric: string;
  unit: string;
  ours: number;
  /** The baseline measured in the same run, or null where the target is absolute. */
  baseline: number | null;
  /** What we promise, as text, and whether this run met it. */
  target: string;
  met: boolean;
}

/** A row as reported: with `ours / baseline` (null when there is no baseline to divide by). */
export interface ReportedRow extends BenchRow {
  ratio: number | null;
}

/** Ours over the baseline, or null when there is none (or it is zero). */
export function ratioOf(row: Pick<BenchRow, 'ours' | 'baseline'>): number | null {
  return row.baseline === null || row.baseline === 0 ? null : row.ours / row.baseline;
}

export function reported(rows: readonly BenchRow[]): ReportedRow[] {
  return rows.map((row) => ({ ...row, ratio: ratioOf(row) }));
}

/** The median of some timings (the upper one of an even count). */
export function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
}

export interface BenchContext {
  kinesisEmulator: Emulator;
  region: string;
  /** A Kinesis client as the handlers build it, pointed at the emulator, counting HTTP requests. */
  kinesisClient(): { client: KinesisClient; requests: () => number };
  log(line: string): void;
}

export interface BenchSuite {
  name: string;
  run(ctx: BenchContext): Promise<BenchRow[]>;
}

export function countingKinesisClient(endpoint: string, region: string) {
  const client = createKinesisClient({
    endpoint,
    region,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  let requests = 0;
  client.middlewareStack.add(
    (next) => async (args) => {
      requests++;
      return next(args);
    },
    { step: 'finalizeRequest', name: 'countRequests' },
  );
  return { client, requests: () => requests };
}

/** CPU microseconds (user + system) this process spends in `fn`, with its wall time. */
export async function measure<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; cpuMicros: number; wallMs: number }> {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const result = await fn();
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const used = process.cpuUsage(cpu);
  return { result, cpuMicros: used.user + used.system, wallMs };
}

export function formatTable(rows: readonly BenchRow[]): string {
  const header = ['suite', 'metric', 'ours', 'baseline', 'ratio', 'target', 'met'];
  const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(2));
  const lines = rows.map((row) => [
    row.suite,
    row.metric,
    `${fmt(row.ours)} ${row.unit}`,
    row.baseline === null ? '-' : `${fmt(row.baseline)} ${row.unit}`,
    ratioOf(row) === null ? '-' : `${(ratioOf(row) as number).toFixed(2)}x`,
    row.target,
    row.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const render = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
  return [render(header), render(widths.map((w) => '-'.repeat(w))), ...lines.map(render)].join('\n');
}

/** One `npm run bench -- --json FILE` output. */
export interface BenchRun {
  at: string;
  node: string;
  rows: ReportedRow[];
}

/**
 * The README's table from several runs (oldest first): the last run's figures, the ranges of
 * our figure and of the ratio over all runs, and how many runs met the target. A row is
 * matched across runs by its suite and metric.
 */
export function markdownTable(runs: readonly BenchRun[]): string {
  const last = runs.at(-1);
  if (!last) throw new Error('no bench runs given');
  const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(2));
  const range = (values: number[], show: (n: number) => string, unit: string) => {
    if (values.length === 0) return '-';
    const [low, high] = [Math.min(...values), Math.max(...values)];
    return `${low === high ? show(low) : `${show(low)}-${show(high)}`}${unit}`;
  };
  const lines = last.rows.map((row) => {
    const same = runs
      .map((run) => run.rows.find((r) => r.suite === row.suite && r.metric === row.metric))
      .filter((r): r is ReportedRow => r !== undefined);
    const ratios = same.map((r) => r.ratio).filter((r): r is number => r !== null);
    const met = same.filter((r) => r.met).length;
    const cells = [
      row.suite,
      row.metric.trim(),
      `${fmt(row.ours)} ${row.unit}`,
      row.baseline === null ? '-' : `${fmt(row.baseline)} ${row.unit}`,
      row.ratio === null ? '-' : `${row.ratio.toFixed(2)}x`,
      range(
        same.map((r) => r.ours),
        fmt,
        ` ${row.unit}`,
      ),
      range(ratios, (n) => n.toFixed(2), 'x'),
      row.target,
      `${met === same.length ? 'yes' : 'no'} (${met} of ${same.length})`,
    ];
    return `| ${cells.join(' | ')} |`;
  });
  const runsOf = `${runs.length} run${runs.length === 1 ? '' : 's'}`;
  return [
    `| suite | metric | ours | baseline (same run) | ratio | ours, ${runsOf} | ratio, ${runsOf} | target | met |`,
    '|---|---|---|---|---|---|---|---|---|',
    ...lines,
  ].join('\n');
}
