/**
 * npm start: the whole pipeline on embedded emulators, then everything stopped.
 *   npm start                 every scenario
 *   npm start -- --only NAME  one scenario (sqs-to-kinesis, firehose-transform,
 *                             event-validator, kinesis-aggregator)
 *   npm start -- --verbose    the handlers' own log lines too
 *   npm start -- --faults [--seed N]  the handlers reach Kinesis and EventBridge through the
 *                             fault-injecting proxy (10% of entries, 2% of calls fail)
 * An unknown option or a bad value stops it before anything starts (exit 2).
 */
import { checkedArgs, choiceOption, countOption, paramsOf, parseCli, UsageError } from '../tools/cli-args.js';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';
import { eventValidatorScenario } from './scenarios/event-validator.js';
import { firehoseTransformScenario } from './scenarios/firehose-transform.js';
import { kinesisAggregatorScenario } from './scenarios/kinesis-aggregator.js';
import { sqsToKinesisScenario } from './scenarios/sqs-to-kinesis.js';
import type { Scenario } from './scenarios/types.js';
import { startLocalSession } from './session.js';
import { count, quietSdkNodeWarning } from './text.js';

const SCENARIOS: Scenario[] = [
  sqsToKinesisScenario,
  firehoseTransformScenario,
  eventValidatorScenario,
  kinesisAggregatorScenario,
];

const USAGE = 'npm start [-- --only SCENARIO] [--verbose] [--faults [--seed N]] [--param key=value ...]';
const { values, only, seed, params } = checkedArgs('start', USAGE, () => {
  const { values } = parseCli(process.argv.slice(2), {
    only: { type: 'string' },
    verbose: { type: 'boolean' },
    faults: { type: 'boolean' },
    seed: { type: 'string' },
    param: { type: 'string', multiple: true },
  });
  const names = SCENARIOS.map((scenario) => scenario.name);
  const only = values.only === undefined ? undefined : choiceOption('only', values.only, names);
  if (values.seed !== undefined && !values.faults) {
    throw new UsageError('--seed sets the fault schedule: use it with --faults');
  }
  return { values, only, seed: countOption('seed', values.seed, 0) ?? 1, params: paramsOf(values.param) };
});
const chosen = SCENARIOS.filter((scenario) => !only || scenario.name === only);
if (!values.verbose) {
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
}

const note = quietSdkNodeWarning();
if (note) console.log(note);
const started = Date.now();
const session = await startLocalSession(params);
console.log(
  `emulators up: kinesis ${session.aws.kinesis.endpoint}, sqs ${session.aws.sqs.endpoint}, PutEvents stand-in ${session.aws.eventBridge.endpoint}`,
);
const faults = values.faults === true;
const proxies: { to: string; proxy: FaultProxy }[] = [];
if (faults) {
  // The handlers (not the runner's own clients) go through the proxies.
  const rates = { entryFailure: 0.1, callFailure: 0.02 };
  const kinesisProxy = await startFaultProxy(session.aws.kinesis.endpoint, seed, rates);
  const eventsProxy = await startFaultProxy(session.aws.eventBridge.endpoint, seed, rates);
  proxies.push({ to: 'Kinesis', proxy: kinesisProxy }, { to: 'EventBridge', proxy: eventsProxy });
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
  for (const { to, proxy } of proxies) {
    const c = proxy.counts;
    console.log(
      `\nfaults injected on the way to ${to}: ${count(c.calls, 'call')} seen, ${count(c.failedEntries, 'entry', 'entries')} and ${count(c.failedCalls, 'call')} failed on purpose (retried or handed back; the totals above include them)`,
    );
    await proxy.stop();
  }
  await session.stop();
}
console.log(
  `\n${ok ? 'all records accounted for' : 'SOME RECORDS WERE NOT WHERE EXPECTED'} (${Date.now() - started} ms)`,
);
process.exit(ok ? 0 : 1);
