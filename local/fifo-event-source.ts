/**
 * An in-memory SQS FIFO queue with Lambda's FIFO event source in front of it, for order
 * runs: local-aws-sqs stores FIFO queues but delivers any visible message, so it would hand
 * out a group's later messages while an earlier one is in flight. Here the rules are SQS
 * FIFO's: a batch (at most 10) takes messages in queue order, skipping every group that has
 * a message in flight or waiting out its visibility timeout; a handed-back message keeps its
 * place and blocks its group until its visibility timeout ends; a thrown error hands back
 * the whole batch. Several pollers run at once, like concurrent invocations.
 */
import type { Context, SQSRecord } from 'aws-lambda';
import { type DrainResult, emptyDrain, type SqsHandler } from './sqs-event-source.js';

/** SQS FIFO event sources deliver at most 10 messages per batch. */
export const MAX_FIFO_BATCH = 10;

export interface FifoDrainOptions {
  /** Stop after this long even if messages remain. */
  maxMillis: number;
  pollers: number;
  visibilityTimeoutMs: number;
  batchSize?: number;
}

interface Queued {
  record: SQSRecord;
  /** Not deliverable before this time (a handed-back message waits out its visibility). */
  visibleAt: number;
}

const groupOf = (record: SQSRecord) => record.attributes.MessageGroupId ?? '';

/** Takes the next batch: queue order, skipping groups in flight or not yet visible. */
function takeBatch(queue: readonly Queued[], busy: Set<string>, size: number, now: number): Queued[] {
  const batch: Queued[] = [];
  const skipped = new Set<string>();
  for (const item of queue) {
    if (batch.length === size) break;
    const group = groupOf(item.record);
    if (busy.has(group) || skipped.has(group)) continue;
    if (item.visibleAt > now) {
      skipped.add(group);
      continue;
    }
    batch.push(item);
  }
  for (const item of batch) busy.add(groupOf(item.record));
  return batch;
}

/** Delivers `records` (in queue order) to `handler` until all are acknowledged or time runs out. */
export async function drainFifo(
  records: readonly SQSRecord[],
  handler: SqsHandler,
  context: () => Context,
  options: FifoDrainOptions,
): Promise<DrainResult> {
  let queue: Queued[] = records.map((record) => ({ record, visibleAt: 0 }));
  const busy = new Set<string>();
  const total = emptyDrain();
  const deadline = Date.now() + options.maxMillis;
  const poller = async () => {
    while (queue.length > 0 && Date.now() < deadline) {
      const batch = takeBatch(queue, busy, options.batchSize ?? MAX_FIFO_BATCH, Date.now());
      if (batch.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      total.invocations++;
      total.received += batch.length;
      let failed: Set<string>;
      try {
        const response = await handler({ Records: batch.map((item) => item.record) }, context());
        failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      } catch {
        failed = new Set(batch.map((item) => item.record.messageId));
      }
      const visibleAt = Date.now() + options.visibilityTimeoutMs;
      for (const item of batch) if (failed.has(item.record.messageId)) item.visibleAt = visibleAt;
      const done = new Set(batch.filter((item) => !failed.has(item.record.messageId)));
      queue = queue.filter((item) => !done.has(item));
      total.deleted += done.size;
      total.handedBack += failed.size;
      for (const item of batch) busy.delete(groupOf(item.record));
    }
  };
  await Promise.all(Array.from({ length: options.pollers }, poller));
  total.remaining = queue.length;
  return total;
}
