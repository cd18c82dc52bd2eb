/**
 * npm run redrive -- [--stage S] [--from trim-horizon|<ISO time>|<sequence number>]
 *                    [--reason R[,R...]] [--source TEXT] [--since ISO] [--until ISO] [--limit N] [--yes]
 *
 * Reads the stage's DLQ stream, selects envelopes, and shows what it would send where (a dry
 * run). With --yes, or after a "yes" at the prompt, sends each original back to its queue,
 * stream or bus, with a progress line and a summary. Endpoints and credentials are the SDK's.
 */
import { createInterface } from 'node:readline/promises';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createKinesisClient, keepAliveHandler } from '../shared/core/aws-clients.js';
import { parseArgs } from './cli-args.js';
import { loadStageConfig } from './lib/config-files.js';
import {
  executeRedrive,
  planRedrive,
  readDlq,
  type StartingPoint,
  selectRecords,
  summarisePlan,
} from './lib/redrive.js';
import { sdkPorts } from './redrive-ports.js';

function startingPoint(from: string | undefined): StartingPoint {
  if (!from || from === 'trim-horizon') return { kind: 'trim-horizon' };
  if (/^\d{20,}$/.test(from)) return { kind: 'sequence', sequenceNumber: from };
  const at = new Date(from);
  if (Number.isNaN(at.getTime()))
    throw new Error(`--from takes trim-horizon, a time or a sequence number, not "${from}"`);
  return { kind: 'timestamp', at };
}

const date = (text: string | undefined) => (text ? new Date(text) : undefined);

const args = parseArgs(process.argv.slice(2));
const stage = loadStageConfig(args.stage ?? 'dev', args.params);
const kinesis = createKinesisClient();
const records = await readDlq(kinesis, stage.config.dlq.stream, startingPoint(args.values.get('from')));
const chosen = selectRecords(records, {
  ...(args.values.get('reason') ? { reasons: (args.values.get('reason') as string).split(',') } : {}),
  ...(args.values.get('source') ? { source: args.values.get('source') as string } : {}),
  ...(date(args.values.get('since')) ? { since: date(args.values.get('since')) as Date } : {}),
  ...(date(args.values.get('until')) ? { until: date(args.values.get('until')) as Date } : {}),
  ...(args.values.get('limit') ? { limit: Number(args.values.get('limit')) } : {}),
});
const plan = planRedrive(chosen);
console.log(`${records.length} envelopes in ${stage.config.dlq.stream}; ${chosen.length} selected:`);
for (const line of summarisePlan(plan)) console.log(line);
let confirmed = args.flags.has('yes');
if (!confirmed && plan.length > 0 && process.stdin.isTTY) {
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  confirmed = (await prompt.question('Send these back? Type "yes": ')).trim() === 'yes';
  prompt.close();
}
if (!confirmed || plan.length === 0) {
  console.log(plan.length === 0 ? 'Nothing to redrive.' : 'Dry run: nothing sent (add --yes to send).');
  process.exit(0);
}
const clients = {
  sqs: new SQSClient({ requestHandler: keepAliveHandler() }),
  kinesis,
  eventBridge: new EventBridgeClient({ requestHandler: keepAliveHandler() }),
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
process.exit(summary.failed.length > 0 ? 1 : 0);
