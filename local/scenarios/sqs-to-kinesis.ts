/**
 * Local run of sqs-to-kinesis: queues and streams from the config on the emulators,
 * sample traffic sent to the queues, the real handler driven the way Lambda's SQS event
 * source drives it, then every stream read back to show (and check) where each went.
 */
import { ListShardsCommand } from '@aws-sdk/client-kinesis';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { parseDlqEnvelope } from '../../shared/core/dlq.js';
import { compileSqsFilter } from '../../shared/core/filter-pattern.js';
import { openShardRanges, partitionKeyHash, shardOf } from '../../shared/core/kinesis-aggregation.js';
import { lambdaContext } from '../lambda-context.js';
import { createQueue, createStreams } from '../provision.js';
import { type SampleMessage, sampleTraffic, unroutedQueueArn } from '../sample-traffic.js';
import { drainQueues, type QueueBinding, type SqsHandler } from '../sqs-event-source.js';
import { readStream, readUserRecords } from '../stream-reader.js';
import { count } from '../text.js';
import type { LocalRunContext, Scenario } from './types.js';

/**
 * A local queue's visibility timeout: its batching window plus 3 s for the invocation, so a
 * message is never received again while its batch is still being gathered or handled (which
 * would duplicate it, as AWS warns), yet handed-back messages come back within seconds rather
 * than after the deployed queue's timeout.
 */
export function localVisibilitySeconds(batchingWindowSeconds: number): number {
  return batchingWindowSeconds + 3;
}

export interface Placement {
  tag: string;
  where: string;
  reason?: string;
  partitionKey: string;
}

export interface SqsToKinesisReport {
  sent: SampleMessage[];
  placements: Placement[];
  /** Tags found somewhere other than expected (wrong stream, key or DLQ reason). */
  misplaced: string[];
  missing: string[];
  drain: Awaited<ReturnType<typeof drainQueues>>;
  /** Streams written with KPL aggregation: messages read back, and the Kinesis records holding them. */
  aggregated: AggregatedStream[];
}

export interface AggregatedStream {
  stream: string;
  messages: number;
  records: number;
}

export async function runSqsToKinesis(
  ctx: LocalRunContext,
  handler: SqsHandler,
): Promise<SqsToKinesisReport> {
  const { config } = ctx.stage;
  const routes = config.sqsToKinesis?.routes ?? [];
  const streams = await createStreams(ctx.kinesis, config);
  const region = ctx.stage.ctx.params.region ?? 'us-east-1';

  const bindings: QueueBinding[] = [];
  const urlByArn = new Map<string, string>();
  const sources = [
    ...routes.map((route) => ({ arn: route.queueArn, source: route.eventSource, filter: route.filter })),
    {
      arn: unroutedQueueArn(config),
      source: { batchSize: 10, maximumBatchingWindowInSeconds: 0 },
      filter: undefined,
    },
  ];
  for (const { arn, source, filter } of sources) {
    const window = source.maximumBatchingWindowInSeconds ?? 0;
    const queueUrl = await createQueue(ctx.sqs, arn, localVisibilitySeconds(window));
    urlByArn.set(arn, queueUrl);
    bindings.push({
      queueUrl,
      eventSourceARN: arn,
      batchSize: source.batchSize,
      batchingWindowSeconds: window,
      region,
      ...(filter?.where === 'source' ? { filter: compileSqsFilter(filter.patterns) } : {}),
    });
  }

  const sent = sampleTraffic(config);
  const tagById = new Map<string, string>();
  for (const message of sent) {
    const result = await ctx.sqs.send(
      new SendMessageCommand({
        QueueUrl: urlByArn.get(message.queueArn),
        MessageBody: message.body,
        ...(message.groupId ? { MessageGroupId: message.groupId } : {}),
        MessageAttributes: Object.fromEntries(
          Object.entries(message.attributes ?? {}).map(([name, value]) => [
            name,
            { DataType: 'String', StringValue: value },
          ]),
        ),
      }),
    );
    tagById.set(result.MessageId as string, message.tag);
  }
  ctx.log(`sent ${count(sent.length, 'message')} to ${count(bindings.length, 'queue')}`);

  const timeout = config.sqsToKinesis?.timeoutSeconds ?? 30;
  const drain = await drainQueues(ctx.sqs, bindings, handler, () => lambdaContext('sqsToKinesis', timeout), {
    maxMillis: 20_000,
  });
  ctx.log(
    `event source: ${count(drain.invocations, 'invocation')}, ${drain.deleted} deleted (${drain.filtered} by a route's filter, never delivered), ${drain.handedBack} handed back, ${drain.remaining} left`,
  );

  const placements: Placement[] = [];
  const aggregated: AggregatedStream[] = [];
  const misplaced: string[] = [];
  for (const stream of streams) {
    if (stream === config.dlq.stream) {
      for (const record of await readStream(ctx.kinesis, stream)) {
        const envelope = parseDlqEnvelope(record.data);
        const tag = tagById.get(envelope.source.id) ?? envelope.source.id;
        placements.push({ tag, where: stream, reason: envelope.reason, partitionKey: record.partitionKey });
      }
      continue;
    }
    const users = await readUserRecords(ctx.kinesis, stream);
    const shards = config.streams[stream]?.aggregation ? await shardRanges(ctx, stream) : undefined;
    for (const user of users) {
      const body = JSON.parse(Buffer.from(user.data).toString('utf8')) as {
        tag?: string;
        _messageId?: string;
      };
      const tag = body.tag ?? tagById.get(body._messageId ?? '') ?? '?';
      placements.push({ tag, where: stream, partitionKey: user.partitionKey });
      // Aggregation keeps shard affinity: each message on the shard its own key hashes to.
      const own = shards && shardOf(shards, partitionKeyHash(user.partitionKey))?.shardId;
      if (shards && own !== user.shardId)
        misplaced.push(`${tag} (on ${user.shardId}, its key's shard is ${own})`);
    }
    if (shards) {
      const records = new Set(users.map((user) => `${user.shardId}/${user.sequenceNumber}`)).size;
      aggregated.push({ stream, messages: users.length, records });
    }
  }

  const missing: string[] = [];
  for (const message of sent) {
    const found = placements.filter((p) => p.tag === message.tag);
    const expected = message.expect;
    if ('filtered' in expected) {
      // Dropped at the event source: found nowhere is right; found anywhere is misplaced.
      if (found.length > 0) misplaced.push(message.tag);
      continue;
    }
    if (found.length === 0) missing.push(message.tag);
    const right = found.filter((p) =>
      'stream' in expected
        ? p.where === expected.stream
        : p.where === config.dlq.stream && p.reason === expected.dlq,
    );
    if (found.length > 0 && right.length !== found.length) misplaced.push(message.tag);
  }
  const expectedFiltered = sent.filter(
    (message) => 'filtered' in message.expect && message.expect.filtered === 'source',
  ).length;
  if (drain.filtered !== expectedFiltered) {
    missing.push(`(${drain.filtered} filtered at the event source, ${expectedFiltered} expected)`);
  }
  return { sent, placements, misplaced, missing, drain, aggregated };
}

/** The open shards of a stream, as ListShards gives them. */
async function shardRanges(ctx: LocalRunContext, stream: string) {
  const listed = await ctx.kinesis.send(new ListShardsCommand({ StreamName: stream }));
  return openShardRanges(listed.Shards ?? []);
}

function printReport(ctx: LocalRunContext, report: SqsToKinesisReport): void {
  const byPlace = new Map<string, Placement[]>();
  for (const placement of report.placements) {
    const key = placement.reason ? `${placement.where} (${placement.reason})` : placement.where;
    byPlace.set(key, [...(byPlace.get(key) ?? []), placement]);
  }
  ctx.log('where each message went:');
  for (const [place, list] of [...byPlace].sort()) {
    const shown = list
      .slice(0, 6)
      .map((p) => `${p.tag}[key ${p.partitionKey.slice(0, 12)}]`)
      .join(', ');
    ctx.log(
      `  ${place.padEnd(44)} ${String(list.length).padStart(3)}  ${shown}${list.length > 6 ? ', ...' : ''}`,
    );
  }
  for (const { stream, messages, records } of report.aggregated) {
    ctx.log(
      `  ${stream}: ${count(messages, 'message')} in ${count(records, 'Kinesis record')} (KPL aggregation, each message on its own key's shard)`,
    );
  }
  ctx.log(
    `sent ${report.sent.length}, placed ${report.placements.length}, filtered ${report.sent.filter((m) => 'filtered' in m.expect).length} (${report.drain.filtered} at the event source), missing ${report.missing.length}, misplaced ${report.misplaced.length}`,
  );
}

export const sqsToKinesisScenario: Scenario = {
  name: 'sqs-to-kinesis',
  async run(ctx) {
    const { handler } = (await import('../../functions/sqs-to-kinesis/handler.js')) as {
      handler: (event: SQSEvent, context: ReturnType<typeof lambdaContext>) => Promise<SQSBatchResponse>;
    };
    const report = await runSqsToKinesis(ctx, handler);
    printReport(ctx, report);
    return report.missing.length === 0 && report.misplaced.length === 0;
  },
};
