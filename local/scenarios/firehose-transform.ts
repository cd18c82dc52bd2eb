/**
 * Local run of firehose-transform: the SES samples (and a few bad records) through the
 * Firehose stand-in and the real handler, into a local folder laid out like the bucket.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { partitionedPrefix } from '../../infra/firehose-names.js';
import type { FirehoseTransformConfig } from '../../shared/core/config/schema.js';
import type { StageConfig } from '../../tools/lib/config-files.js';
import { deliver, type FirehoseHandler, type StandInCounts } from '../firehose-stand-in.js';
import { lambdaContext } from '../lambda-context.js';
import { count } from '../text.js';
import type { Scenario } from './types.js';

export const LOCAL_OUT = '.local-out/firehose';
const SES_SAMPLES = 'events/ses';

/** The samples as SES publishes them (one JSON object per line), then three bad records. */
export function sesTraffic(copies = 3): Buffer[] {
  const samples = readdirSync(SES_SAMPLES)
    .sort()
    .map((file) => JSON.parse(readFileSync(join(SES_SAMPLES, file), 'utf8')) as unknown);
  const good = Array.from({ length: copies }, () =>
    samples.map((s) => Buffer.from(`${JSON.stringify(s)}\n`)),
  ).flat();
  const bad = [
    Buffer.from('not json at all\n'),
    Buffer.from('{"hello":"not an SES event"}\n'),
    Buffer.from([0xff, 0xfe, 0x7b]),
  ];
  return [...good, ...bad];
}

export async function runFirehoseTransform(
  stage: StageConfig,
  handler: FirehoseHandler,
  payloads: readonly Buffer[] = sesTraffic(),
): Promise<StandInCounts> {
  const transform = stage.config.firehoseTransform as FirehoseTransformConfig;
  const region = stage.ctx.params.region ?? 'us-east-1';
  const account = stage.ctx.params.accountId ?? '123456789012';
  rmSync(LOCAL_OUT, { recursive: true, force: true });
  return deliver(payloads, handler, () => lambdaContext('firehoseTransform', transform.timeoutSeconds), {
    deliveryStreamArn: `arn:aws:firehose:${region}:${account}:deliverystream/${transform.deliveryStream.name}`,
    region,
    bufferMiB: transform.deliveryStream.processorBuffer.sizeMiB,
    prefix: transform.partitionKeys ? partitionedPrefix(transform) : transform.deliveryStream.prefix,
    outDir: LOCAL_OUT,
  });
}

export const firehoseTransformScenario: Scenario = {
  name: 'firehose-transform',
  async run(ctx) {
    if (!ctx.stage.config.firehoseTransform) {
      ctx.log('no firehoseTransform in the config: skipped');
      return true;
    }
    const { handler } = (await import('../../functions/firehose-transform/handler.js')) as {
      handler: FirehoseHandler;
    };
    const payloads = sesTraffic();
    const counts = await runFirehoseTransform(ctx.stage, handler, payloads);
    ctx.log(
      `sent ${count(counts.records, 'record')} in ${count(counts.invocations, 'processor invocation')}`,
    );
    ctx.log(
      `Ok ${counts.ok}, Dropped ${counts.dropped} (filtered event types), ProcessingFailed ${counts.failed}`,
    );
    ctx.log('written like the bucket:');
    for (const file of counts.files.sort()) ctx.log(`  ${relative(LOCAL_OUT, file)}`);
    for (const error of counts.contractErrors) ctx.log(`CONTRACT ERROR: ${error}`);
    return (
      counts.contractErrors.length === 0 && counts.ok + counts.dropped + counts.failed === payloads.length
    );
  },
};
