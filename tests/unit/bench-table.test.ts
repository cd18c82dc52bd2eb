/** The README's benchmark table from several bench runs (bench/harness.ts markdownTable). */
import { describe, expect, it } from 'vitest';
import { type BenchRun, markdownTable, type ReportedRow } from '../../bench/harness.js';

const row = (metric: string, ours: number, baseline: number | null, met: boolean): ReportedRow => ({
  suite: 'mapper',
  metric,
  unit: 'us',
  ours,
  baseline,
  ratio: baseline === null ? null : ours / baseline,
  target: '<= 1x',
  met,
});
const run = (rows: ReportedRow[]): BenchRun => ({ at: '2026-11-27T00:00:00Z', node: 'v20', rows });

describe('the bench table', () => {
  it("shows the last run's figures, the range over all runs and how many met", () => {
    // Prepare
    const runs = [
      run([row('cpu', 9, 10, true), row('  core', 3, null, true)]),
      run([row('cpu', 12, 10, false), row('  core', 2.5, null, true)]),
      run([row('cpu', 8, 10, true), row('  core', 2.75, null, true)]),
    ];
    // Act
    const lines = markdownTable(runs).split('\n');
    // Assess
    expect(lines[0]).toContain('ratio, 3 runs');
    expect(lines[2]).toBe(
      '| mapper | cpu | 8.00 us | 10.00 us | 0.80x | 8.00-12.00 us | 0.80-1.20x | <= 1x | no (2 of 3) |',
    );
    expect(lines[3]).toBe('| mapper | core | 2.75 us | - | - | 2.50-3.00 us | - | <= 1x | yes (3 of 3) |');
  });

  it('counts only the runs that have the row', () => {
    // Act
    const table = markdownTable([run([]), run([row('cpu', 5, 10, true)])]);
    // Assess
    expect(table.split('\n')[2]).toBe(
      '| mapper | cpu | 5.00 us | 10.00 us | 0.50x | 5.00 us | 0.50x | <= 1x | yes (1 of 1) |',
    );
  });

  it('refuses no runs at all', () => {
    expect(() => markdownTable([])).toThrow(/no bench runs/);
  });
});
