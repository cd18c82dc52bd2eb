/**
 * npm start: the whole pipeline on embedded emulators, then everything stopped.
 *   npm start                 every scenario
 *   npm start -- --only NAME  one scenario (sqs-to-kinesis, firehose-transform,
 *                             event-validator, kinesis-aggregator)
 *   npm start -- --verbose    the handlers' own log lines too
 */
import { parseArgs } from '../scripts/cli-args.js';
import { eventValidatorScenario } from './scenarios/event-validator.js';
import { firehoseTransformScenario } from './scenarios/firehose-transform.js';
import { kinesisAggregatorScenario } from './scenarios/kinesis-aggregator.js';
import { sqsToKinesisScenario } from './scenarios/sqs-to-kinesis.js';
import type { Scenario } from './scenarios/types.js';
import { startLocalSession } from './session.js';

const SCENARIOS: Scenario[] = [
  sqsToKinesisScenario,
  firehoseTransformScenario,
  eventValidatorScenario,
  kinesisAggregatorScenario,
];

const args = parseArgs(process.argv.slice(2));
const only = args.values.get('only');
const chosen = SCENARIOS.filter((scenario) => !only || scenario.name === only);
if (chosen.length === 0) {
  console.error(`No scenario "${only}"; there are: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  process.exit(2);
}
if (!args.flags.has('verbose')) {
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
}

const started = Date.now();
const session = await startLocalSession(args.params);
console.log(
  `emulators up: kinesis ${session.aws.kinesis.endpoint}, sqs ${session.aws.sqs.endpoint}, PutEvents stand-in ${session.aws.eventBridge.endpoint}`,
);
let ok = true;
try {
  for (const scenario of chosen) {
    console.log(`\n== ${scenario.name}`);
    const passed = await scenario.run({ ...session, log: (line) => console.log(`  ${line}`) });
    ok &&= passed;
  }
} finally {
  await session.stop();
}
console.log(
  `\n${ok ? 'all records accounted for' : 'SOME RECORDS WERE NOT WHERE EXPECTED'} (${Date.now() - started} ms)`,
);
process.exit(ok ? 0 : 1);
