/**
 * `npm run mutate:group -- <group> [--concurrency N]`: StrykerJS over one group of core modules, against only
 * the unit tests that exercise them, without the TypeScript checker (which made one group
 * take over 15 minutes on a 2-core machine). This is how the scores in
 * `tests/mutation-survivors.md` were measured; `npm run mutate` runs everything, checker on.
 * Reports go to `reports/mutation/<group>.json` and `.html`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkedArgs, choiceOption, countOption, parseCli, UsageError } from './cli-args.js';

interface Group {
  mutate: string[];
  testFiles: string[];
}

const unit = (...names: string[]) => names.map((name) => `tests/unit/${name}.test.ts`);

export const GROUPS: Record<string, Group> = {
  write: {
    mutate: [
      'shared/core/batch-writer.ts',
      'shared/core/kinesis-writer.ts',
      'shared/sqs-to-kinesis/sqs-to-kinesis.ts',
    ],
    // errors: outcomeError; kinesis-aggregator: retryDepsOf; filter-pattern: the route filtering in the function.
    testFiles: unit(
      'batch-writer',
      'kinesis-writer',
      'sqs-to-kinesis',
      'fifo-order',
      'errors',
      'kinesis-aggregator',
      'filter-pattern',
    ),
  },
  // KPL aggregation on write: the shard maps and packing, and the encoder beside the decoder.
  aggregating: {
    mutate: ['shared/core/kinesis-aggregation.ts', 'shared/core/kpl.ts'],
    testFiles: unit('kinesis-aggregation', 'kpl', 'fifo-order', 'sqs-to-kinesis', 'kinesis-writer'),
  },
  // The mapper's hot path: the PutRecords body as bytes, JSON text without the escape scan, ISO times.
  'hot-path': {
    mutate: ['shared/core/kinesis-protocol.ts', 'shared/core/json-text.ts', 'shared/core/iso-time.ts'],
    testFiles: unit('kinesis-protocol', 'json-text', 'sqs-mapping'),
  },
  mapping: {
    mutate: [
      'shared/sqs-to-kinesis/sqs-mapping.ts',
      'shared/core/partition-key.ts',
      'shared/core/event-shape.ts',
    ],
    testFiles: unit(
      'sqs-mapping',
      'partition-key',
      'event-shape',
      'handlers',
      'sqs-to-kinesis',
      'filter-pattern',
    ),
  },
  validator: {
    mutate: ['shared/event-validator/event-validator.ts', 'shared/core/eventbridge-writer.ts'],
    testFiles: unit('event-validator', 'corpus'),
  },
  firehose: {
    mutate: [
      'shared/firehose-transform/firehose-transform.ts',
      'shared/firehose-transform/ses.ts',
      'shared/firehose-transform/hash-paths.ts',
    ],
    testFiles: unit('firehose-transform', 'ses', 'hash-paths'),
  },
  aggregator: {
    mutate: [
      'shared/kinesis-aggregator/aggregation.ts',
      'shared/kinesis-aggregator/exact-sum.ts',
      'shared/core/kpl.ts',
      'shared/kinesis-aggregator/kinesis-aggregator.ts',
    ],
    testFiles: unit('aggregation', 'kpl', 'kinesis-aggregator'),
  },
  // The batch fold written out per config, with the running sums and category counts it uses.
  fold: {
    mutate: ['shared/kinesis-aggregator/fold-code.ts', 'shared/kinesis-aggregator/exact-sum.ts'],
    testFiles: unit('fold-code', 'aggregation', 'kinesis-aggregator'),
  },
  analytics: {
    mutate: [
      'shared/search-index/search-index.ts',
      'infra/ses-document-formats.ts',
      'infra/ses-analytics.ts',
    ],
    testFiles: unit('search-index', 'ses-document', 'ses-analytics', 'ses-document-formats'),
  },
  operations: {
    mutate: ['infra/watch.ts', 'shared/core/filter-pattern.ts'],
    testFiles: unit('watch', 'created-queues', 'filter-pattern'),
  },
};

function main(name: string, concurrency: number | undefined): number {
  const group = GROUPS[name] as Group;
  const base = JSON.parse(readFileSync('stryker.config.json', 'utf8')) as Record<string, unknown>;
  const config = {
    ...base,
    ...group,
    checkers: [],
    reporters: ['clear-text', 'progress-append-only', 'json', 'html'],
    htmlReporter: { fileName: `reports/mutation/${name}.html` },
    jsonReporter: { fileName: `reports/mutation/${name}.json` },
    tempDirName: `.stryker-tmp-${name}`,
    ...(concurrency ? { concurrency } : {}),
  };
  const dir = mkdtempSync(join(tmpdir(), 'stryker-group-'));
  const file = join(dir, 'stryker.config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  try {
    return spawnSync('npx', ['stryker', 'run', file], { stdio: 'inherit' }).status ?? 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const USAGE = `npm run mutate:group -- <${Object.keys(GROUPS).join('|')}> [--concurrency N]`;
const { group, concurrency } = checkedArgs('mutate:group', USAGE, () => {
  const { values, positionals } = parseCli(process.argv.slice(2), { concurrency: { type: 'string' } }, true);
  if (positionals.length !== 1) throw new UsageError('name one group');
  return {
    group: choiceOption('group', positionals[0] as string, Object.keys(GROUPS)),
    concurrency: countOption('concurrency', values.concurrency),
  };
});
process.exitCode = main(group, concurrency);
