/**
 * npm run bench [-- --json FILE] [--only SUITE]
 * Prints each suite's figures beside a baseline measured in the same run.
 */
import { writeFileSync } from 'node:fs';
import { startKinesalite } from '../local/emulators.js';
import { checkedArgs, choiceOption, parseCli } from '../tools/cli-args.js';
import { type BenchRow, type BenchSuite, countingKinesisClient, formatTable, reported } from './harness.js';
import { coldStartBench } from './suites/cold-start.js';
import { eventValidatorBench } from './suites/event-validator.js';
import { firehoseTransformBench } from './suites/firehose-transform.js';
import { kinesisAggregatorBench } from './suites/kinesis-aggregator.js';
import { sqsToKinesisBench } from './suites/sqs-to-kinesis.js';

const SUITES: BenchSuite[] = [
  sqsToKinesisBench,
  firehoseTransformBench,
  kinesisAggregatorBench,
  eventValidatorBench,
  coldStartBench,
];
const REGION = 'us-east-1';

const USAGE = 'npm run bench [-- --json FILE] [--only SUITE]';
const { json: jsonPath, only } = checkedArgs('bench', USAGE, () => {
  const { values } = parseCli(process.argv.slice(2), { json: { type: 'string' }, only: { type: 'string' } });
  const suites = SUITES.map((suite) => suite.name);
  return {
    ...values,
    only: values.only === undefined ? undefined : choiceOption('only', values.only, suites),
  };
});
const kinesisEmulator = await startKinesalite();
const rows: BenchRow[] = [];
try {
  for (const suite of SUITES.filter((s) => !only || s.name === only)) {
    console.log(`== ${suite.name}`);
    rows.push(
      ...(await suite.run({
        kinesisEmulator,
        region: REGION,
        kinesisClient: () => countingKinesisClient(kinesisEmulator.endpoint, REGION),
        log: (line) => console.log(`  ${line}`),
      })),
    );
  }
} finally {
  await kinesisEmulator.stop();
}
console.log(`\n${formatTable(rows)}`);
console.log(
  `\nnode ${process.version}, ${process.arch}; emulator: kinesalite (child process, not counted in CPU)`,
);
if (jsonPath)
  writeFileSync(
    jsonPath,
    `${JSON.stringify({ at: new Date().toISOString(), node: process.version, rows: reported(rows) }, null, 2)}\n`,
  );
