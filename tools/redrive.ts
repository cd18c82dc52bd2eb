/**
 * npm run redrive -- [--stage S] [--from trim-horizon|<ISO time>|<sequence number>]
 *                    [--reason R[,R...]] [--source TEXT] [--since ISO] [--until ISO] [--limit N] [--yes]
 *
 * Reads the stage's DLQ stream (in the stage's region), selects envelopes, and shows what it
 * would send where: a dry run, which says what --yes would do. Only with --yes does it send
 * each original back to its queue, stream or bus, with a progress line and a summary. An
 * unknown option or a bad value stops it before it reads anything (exit 2).
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createKinesisClient, keepAliveHandler } from '../shared/core/aws-clients.js';
import { DLQ_REASONS } from '../shared/core/errors.js';
import {
  choiceOption,
  countOption,
  paramsOf,
  parseCli,
  runCli,
  STAGE_OPTIONS,
  timeOption,
  UsageError,
} from './cli-args.js';
import { loadStageConfig } from './lib/config-files.js';
import {
  executeRedrive,
  planRedrive,
  type RedriveFilter,
  readDlq,
  type StartingPoint,
  selectRecords,
  summarisePlan,
} from './lib/redrive.js';
import { sdkPorts } from './redrive-ports.js';

const USAGE =
  'npm run redrive -- [--stage S] [--from trim-horizon|TIME|SEQUENCE] [--reason R,...] [--source TEXT] [--since TIME] [--until TIME] [--limit N] [--yes]';

const OPTIONS = {
  ...STAGE_OPTIONS,
  from: { type: 'string' },
  reason: { type: 'string' },
  source: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string' },
  yes: { type: 'boolean' },
} as const;

/** Where to start reading the DLQ stream. */
export function startingPoint(from: string | undefined): StartingPoint {
  if (!from || from === 'trim-horizon') return { kind: 'trim-horizon' };
  if (/^\d{20,}$/.test(from)) return { kind: 'sequence', sequenceNumber: from };
  try {
    return { kind: 'timestamp', at: timeOption('from', from) as Date };
  } catch {
    throw new UsageError(`--from: "${from}" is not trim-horizon, an ISO 8601 time or a sequence number`);
  }
}

/** The selection the options ask for, every value checked. */
function filterOf(values: ReturnType<typeof parseCli<typeof OPTIONS>>['values']): RedriveFilter {
  const reasons = values.reason?.split(',').map((reason) => choiceOption('reason', reason, DLQ_REASONS));
  const since = timeOption('since', values.since);
  const until = timeOption('until', values.until);
  if (since && until && since > until) throw new UsageError('--since is after --until: nothing could match');
  const limit = countOption('limit', values.limit);
  return {
    ...(reasons ? { reasons } : {}),
    ...(values.source !== undefined ? { source: values.source } : {}),
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
    ...(limit !== undefined ? { limit } : {}),
  };
}

await runCli('redrive', USAGE, async () => {
  // Everything the command line says is checked before anything is read.
  const { values } = parseCli(process.argv.slice(2), OPTIONS);
  const filter = filterOf(values);
  const from = startingPoint(values.from);
  const stage = loadStageConfig(values.stage ?? 'dev', paramsOf(values.param));
  const region = stage.ctx.params.region;
  const kinesis = createKinesisClient({ ...(region ? { region } : {}) });
  const records = await readDlq(kinesis, stage.config.dlq.stream, from);
  const chosen = selectRecords(records, filter);
  const plan = planRedrive(chosen);
  const where = `${stage.config.dlq.stream} (${region ?? 'the SDK default region'})`;
  console.log(
    `${records.length} envelope${records.length === 1 ? '' : 's'} in ${where}; ${chosen.length} selected:`,
  );
  for (const line of summarisePlan(plan)) console.log(line);
  const sendable = plan.filter((p) => p.destination.kind !== 'skip').length;
  if (sendable === 0) {
    console.log('Nothing to redrive.');
    return 0;
  }
  if (!values.yes) {
    console.log(
      `Dry run: nothing sent. With --yes, the ${sendable} original${sendable === 1 ? '' : 's'} above would be sent back to the queue, stream or bus shown beside ${sendable === 1 ? 'it' : 'each'}; the envelopes stay in ${stage.config.dlq.stream}.`,
    );
    return 0;
  }
  const clients = {
    sqs: new SQSClient({ requestHandler: keepAliveHandler(), ...(region ? { region } : {}) }),
    kinesis,
    eventBridge: new EventBridgeClient({ requestHandler: keepAliveHandler(), ...(region ? { region } : {}) }),
  };
  const summary = await executeRedrive(plan, {
    ...sdkPorts(clients),
    progress: (done, total) => {
      const width = 30;
      const filled = Math.round((done / total) * width);
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
      if (done === total) process.stderr.write('\n');
    },
  });
  console.log(`sent ${summary.sent}, skipped ${summary.skipped}, failed ${summary.failed.length}`);
  for (const failure of summary.failed.slice(0, 20))
    console.log(`  ${failure.sequenceNumber}: ${failure.error}`);
  return summary.failed.length > 0 ? 1 : 0;
});
