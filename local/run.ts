/**
 * npm start: the whole pipeline on embedded emulators, then everything stopped.
 *   npm start                 every scenario
 *   npm start -- --only NAME  one scenario (sqs-to-kinesis, firehose-transform,
 *                             event-validator, kinesis-aggregator)
 *   npm start -- --verbose    the handlers' own log lines too
 *   npm start -- --faults [SEED]  the handlers reach Kinesis and EventBridge through the
 *                             fault-injecting proxy (10% of entries, 2% of calls fail)
 */
import { parseArgs } from '../tools/cli-args.js';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';
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
const faults = args.flags.has('faults') || args.values.has('faults');
const proxies: FaultProxy[] = [];
if (faults) {
  // The handlers (not the runner's own clients) go through the proxies.
  const seed = Number(args.values.get('faults') ?? 1);
  const rates = { entryFailure: 0.1, callFailure: 0.02 };
  const kinesisProxy = await startFaultProxy(session.aws.kinesis.endpoint, seed, rates);
  const eventsProxy = await startFaultProxy(session.aws.eventBridge.endpoint, seed, rates);
  proxies.push(kinesisProxy, eventsProxy);
  process.env.AWS_ENDPOINT_URL_KINESIS = kinesisProxy.endpoint;
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = eventsProxy.endpoint;
  console.log(
    `faults on (seed ${seed}): 10% of entries and 2% of calls fail on the way to Kinesis and EventBridge`,
  );
}
let ok = true;
try {
  for (const scenario of chosen) {
    console.log(`\n== ${scenario.name}`);
    const passed = await scenario.run({ ...session, log: (line) => console.log(`  ${line}`) });
    ok &&= passed;
  }
} finally {
  for (const proxy of proxies) {
    const c = proxy.counts;
    console.log(
      `\nfault proxy: ${c.calls} calls, ${c.failedEntries} entries failed, ${c.failedCalls} calls failed`,
    );
    await proxy.stop();
  }
  await session.stop();
}
console.log(
  `\n${ok ? 'all records accounted for' : 'SOME RECORDS WERE NOT WHERE EXPECTED'} (${Date.now() - started} ms)`,
);
process.exit(ok ? 0 : 1);
