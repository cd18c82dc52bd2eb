/**
 * Local run of event-validator: the sample events (valid, invalid, no schema, a loop
 * attempt, a batch, and a Pipes array of SQS messages) through the real handler, with PutEvents answered by the local
 * stand-in and the DLQ stream on the Kinesis emulator; prints what went where.
 */

import { readFileSync } from 'node:fs';
import type { EventBridgeEvent } from 'aws-lambda';
import { parseDlqEnvelope } from '../../shared/core/dlq.js';
import { TRACE_FIELD } from '../../shared/event-validator/event-validator.js';
import { lambdaContext } from '../lambda-context.js';
import { createStreams } from '../provision.js';
import { readStream } from '../stream-reader.js';
import { count } from '../text.js';
import type { LocalRunContext, Scenario } from './types.js';

type Event = EventBridgeEvent<string, unknown>;
type Handler = (input: Event | Event[], context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

export const SAMPLE_EVENTS = [
  'eventbridge-valid.json',
  'eventbridge-invalid.json',
  'eventbridge-no-schema.json',
  'eventbridge-loop.json',
  'eventbridge-batch.json',
  'eventbridge-pipes-sqs.json',
];

export interface ValidatorReport {
  /** Original event ids, by what happened to them. */
  /** Each with the sample file (the input) it came from. */
  republished: { originalId: string; source: string; detailType: string; input: string }[];
  deadLettered: { id: string; reason: string; errors: number; input: string }[];
  invocationErrors: string[];
  /** What each batch input handed back (batchItemFailures), by file. */
  handedBack: Record<string, string[]>;
}

export async function runEventValidator(ctx: LocalRunContext, handler: Handler): Promise<ValidatorReport> {
  await createStreams(ctx.kinesis, ctx.stage.config);
  const invocationErrors: string[] = [];
  const handedBack: Record<string, string[]> = {};
  const republished: ValidatorReport['republished'] = [];
  const deadLettered: ValidatorReport['deadLettered'] = [];
  let published = ctx.aws.eventBridge.events.length;
  let dlqSeen = (await readStream(ctx.kinesis, ctx.stage.config.dlq.stream)).length;
  for (const file of SAMPLE_EVENTS) {
    const input = JSON.parse(readFileSync(`events/${file}`, 'utf8')) as Event | Event[];
    try {
      const response = (await handler(input, lambdaContext('eventValidator', 30))) as
        | { batchItemFailures: { itemIdentifier: string }[] }
        | undefined;
      if (response) handedBack[file] = response.batchItemFailures.map((f) => f.itemIdentifier);
    } catch (error) {
      invocationErrors.push(`${file}: ${(error as Error).message}`);
    }
    // What this input made: its republished events and its dead letters.
    for (const event of ctx.aws.eventBridge.events.slice(published)) {
      republished.push({
        originalId: (event.detail as Record<string, { originalId: string }>)[TRACE_FIELD]?.originalId ?? '?',
        source: event.source,
        detailType: event.detailType,
        input: file,
      });
    }
    published = ctx.aws.eventBridge.events.length;
    const dlq = await readStream(ctx.kinesis, ctx.stage.config.dlq.stream);
    for (const record of dlq.slice(dlqSeen)) {
      const envelope = parseDlqEnvelope(record.data);
      if (envelope.handler !== 'event-validator') continue;
      deadLettered.push({
        id: envelope.source.id,
        reason: envelope.reason,
        errors: envelope.errors?.length ?? 0,
        input: file,
      });
    }
    dlqSeen = dlq.length;
  }
  return { republished, deadLettered, invocationErrors, handedBack };
}

export const eventValidatorScenario: Scenario = {
  name: 'event-validator',
  async run(ctx) {
    if (!ctx.stage.config.eventValidator) {
      ctx.log('no eventValidator in the config: skipped');
      return true;
    }
    const { handler } = (await import('../../functions/event-validator/handler.js')) as { handler: Handler };
    const report = await runEventValidator(ctx, handler);
    ctx.log(
      `sent ${SAMPLE_EVENTS.length} inputs (4 single events, a batch of 5, a Pipes array of 2 SQS messages)`,
    );
    ctx.log('the batch and the Pipes array repeat single events, so an id can show more than once:');
    ctx.log(`republished through the PutEvents stand-in: ${report.republished.length}`);
    for (const event of report.republished) {
      ctx.log(
        `  ${event.source.padEnd(22)} ${event.detailType.padEnd(16)} from ${event.originalId}  (${event.input})`,
      );
    }
    ctx.log(`sent to the DLQ stream: ${report.deadLettered.length}`);
    for (const entry of report.deadLettered) {
      const errors = entry.errors ? ` (${count(entry.errors, 'error')})` : '';
      ctx.log(`  ${entry.reason.padEnd(22)} ${entry.id}${errors}  (${entry.input})`);
    }
    for (const [file, ids] of Object.entries(report.handedBack)) {
      if (ids.length > 0) ctx.log(`  handed back from ${file}: ${ids.join(', ')}`);
    }
    for (const error of report.invocationErrors) ctx.log(`INVOCATION FAILED: ${error}`);
    const handedBack = Object.values(report.handedBack).flat().length;
    return (
      report.invocationErrors.length === 0 &&
      handedBack === 0 &&
      report.republished.length + report.deadLettered.length === 11
    );
  },
};
