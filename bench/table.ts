/**
 * npm run bench:table -- RUN.json [RUN.json ...]
 * The README's benchmark table from the JSON of several `npm run bench -- --json FILE` runs,
 * oldest first: the last run's figures, the ranges over all of them, the runs that met.
 */
import { readFileSync } from 'node:fs';
import { checkedArgs, parseCli, UsageError } from '../tools/cli-args.js';
import { type BenchRun, markdownTable } from './harness.js';

const USAGE = 'npm run bench:table -- RUN.json [RUN.json ...]';
const files = checkedArgs('bench:table', USAGE, () => {
  const { positionals } = parseCli(process.argv.slice(2), {}, true);
  if (positionals.length === 0) throw new UsageError('give at least one bench JSON file');
  return positionals;
});
const runs = files.map((file) => JSON.parse(readFileSync(file, 'utf8')) as BenchRun);
console.log(markdownTable(runs));
