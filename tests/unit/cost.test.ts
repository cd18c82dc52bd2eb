import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { costTable, PRICES, readmeCostRows, stageCost } from '../../tools/cost.js';
import { loadStageConfig } from '../../tools/lib/config-files.js';

describe('npm run cost', () => {
  it('counts the shards, on-demand streams, keys, alarms, dashboards and collections of the template', () => {
    // Prepare: the config's own numbers, read independently of the template.
    const { config } = loadStageConfig('dev');
    const streams = [...Object.values(config.streams), config.dlq.settings];
    const shards = streams.reduce(
      (sum, s) => sum + (s.capacity.mode === 'PROVISIONED' ? s.capacity.shards : 0),
      0,
    );
    const onDemand = streams.filter((s) => s.capacity.mode === 'ON_DEMAND').length;
    // Act
    const cost = stageCost('dev');
    const search = stageCost('dev', ['openSearch=true']);
    // Assess
    expect(cost).toMatchObject({
      shards,
      onDemandStreams: onDemand,
      kmsKeys: 1,
      dashboards: 1,
      collections: 0,
    });
    expect(cost.alarms).toBeGreaterThan(10);
    expect(search.collections).toBe(1);
    expect(search.alarms).toBeGreaterThan(cost.alarms);
    const monthly = shards * 0.015 * 730 + onDemand * 0.04 * 730 + 1 + cost.alarms * 0.1 + 3;
    expect(cost.monthly).toBe(Math.round(monthly));
    expect(search.monthly - cost.monthly).toBe(
      Math.round(2 * PRICES.ocuHour * 730 + (search.alarms - cost.alarms) * 0.1),
    );
  });

  it('is the table the README shows', () => {
    // Prepare
    const readme = readFileSync('README.md', 'utf8');
    const shown = /<!-- cost-table -->\n([\s\S]*?)\n<!-- \/cost-table -->/.exec(readme)?.[1];
    // Act / Assess
    expect(shown).toBe(costTable(readmeCostRows()));
  });
});
