/**
 * A local stand-in for Lambda's SQS event source mapping: it polls a queue, gathers a
 * batch (batch size, batching window), applies the route's filter patterns as Lambda does
 * (a message that matches none is deleted, never delivered), invokes the handler with an
 * event shaped as Lambda shapes it, deletes what succeeded and leaves the batchItemFailures
 * to become visible again after the queue's visibility timeout (a thrown error leaves them all).
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';

/** ReceiveMessage returns at most 10 messages per call. */
const MAX_RECEIVE = 10;
const DELETE_BATCH = 10;

export interface QueueBinding {
  queueUrl: string;
  /** The ARN the records carry (the configured one, as Lambda would report it). */
  eventSourceARN: string;
  batchSize: number;
  batchingWindowSeconds: number;
  region: string;
  /** The event source's filter (`filter.where: source`): messages it does not keep are deleted. */
  filter?: (record: SQSRecord) => boolean;
}

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface PollResult {
  received: number;
  /** Deleted by the filter without an invocation. */
  filtered: number;
  /** Whether the handler was invoked (not when the filter dropped the whole batch). */
  invoked: boolean;
  deleted: number;
  handedBack: number;
  threw: boolean;
}

async function deleteMessages(sqs: SQSClient, queueUrl: string, messages: readonly Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += DELETE_BATCH) {
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.slice(i, i + DELETE_BATCH).map((message, j) => ({
          Id: String(j),
          ReceiptHandle: message.ReceiptHandle as string,
        })),
      }),
    );
  }
}

function toAttributes(message: Message): SQSRecord['attributes'] {
  const attributes = message.Attributes ?? {};
  const out: Record<string, string> = {
    ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
    SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
    SenderId: attributes.SenderId ?? 'LOCAL',
    ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
  };
  for (const key of ['MessageGroupId', 'MessageDeduplicationId', 'SequenceNumber'] as const) {
    const value = attributes[key];
    if (value !== undefined) out[key] = value;
  }
  return out as unknown as SQSRecord['attributes'];
}

function toMessageAttributes(
  attributes: Record<string, MessageAttributeValue> | undefined,
): SQSMessageAttributes {
  const out: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(attributes ?? {})) {
    out[name] = {
      dataType: value.DataType ?? 'String',
      stringListValues: [],
      binaryListValues: [],
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined
        ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }
        : {}),
    };
  }
  return out;
}

export function toSqsRecord(message: Message, binding: QueueBinding): SQSRecord {
  return {
    messageId: message.MessageId as string,
    receiptHandle: message.ReceiptHandle as string,
    body: message.Body ?? '',
    attributes: toAttributes(message),
    messageAttributes: toMessageAttributes(message.MessageAttributes),
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: binding.eventSourceARN,
    awsRegion: binding.region,
  };
}

async function gatherBatch(sqs: SQSClient, binding: QueueBinding): Promise<Message[]> {
  const batch: Message[] = [];
  const windowEnds = Date.now() + binding.batchingWindowSeconds * 1000;
  while (batch.length < binding.batchSize) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: binding.queueUrl,
        MaxNumberOfMessages: Math.min(MAX_RECEIVE, binding.batchSize - batch.length),
        MessageSystemAttributeNames: ['All'],
        AttributeNames: ['All'],
        MessageAttributeNames: ['All'],
        WaitTimeSeconds: 0,
      }),
    );
    const messages = received.Messages ?? [];
    batch.push(...messages);
    if (messages.length === 0 && (batch.length > 0 || Date.now() >= windowEnds)) break;
    if (messages.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return batch;
}

/** One poll: gather a batch, invoke, delete what succeeded. */
export async function pollOnce(
  sqs: SQSClient,
  binding: QueueBinding,
  handler: SqsHandler,
  context: () => Context,
): Promise<PollResult> {
  const gathered = await gatherBatch(sqs, binding);
  const none = { received: 0, filtered: 0, invoked: false, deleted: 0, handedBack: 0, threw: false };
  if (gathered.length === 0) return none;
  // As Lambda does: what the filter does not keep is deleted and never reaches the function.
  const keep = binding.filter;
  const dropped = keep ? gathered.filter((message) => !keep(toSqsRecord(message, binding))) : [];
  await deleteMessages(sqs, binding.queueUrl, dropped);
  const messages = gathered.filter((message) => !dropped.includes(message));
  const base = { ...none, received: gathered.length, filtered: dropped.length, deleted: dropped.length };
  if (messages.length === 0) return base;
  const event: SQSEvent = { Records: messages.map((message) => toSqsRecord(message, binding)) };
  let response: SQSBatchResponse | undefined;
  try {
    response = await handler(event, context());
  } catch {
    return { ...base, invoked: true, handedBack: messages.length, threw: true };
  }
  const failed = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
  const done = messages.filter((message) => !failed.has(message.MessageId as string));
  await deleteMessages(sqs, binding.queueUrl, done);
  return { ...base, invoked: true, deleted: base.deleted + done.length, handedBack: failed.size };
}

/**
 * Messages still in a queue, in flight included. local-aws-sqs counts in-flight messages in
 * ApproximateNumberOfMessages already (AWS would need ...NotVisible added), and this event
 * source only ever polls the emulator.
 */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages ?? 0);
}

export interface DrainOptions {
  /** Stop after this long even if messages remain (some may keep failing). */
  maxMillis: number;
  /** Polls in parallel per queue, like several concurrent Lambda invocations. */
  concurrency?: number;
}

export interface DrainResult {
  invocations: number;
  received: number;
  /** Deleted by the event source's filter, never delivered (counted in `deleted` too). */
  filtered: number;
  deleted: number;
  handedBack: number;
  /** Messages still in the queues when the drain stopped. */
  remaining: number;
}

/** A drain that has done nothing yet. */
export function emptyDrain(): DrainResult {
  return { invocations: 0, received: 0, filtered: 0, deleted: 0, handedBack: 0, remaining: 0 };
}

/** Polls every binding until all queues are empty or time runs out. */
export async function drainQueues(
  sqs: SQSClient,
  bindings: readonly QueueBinding[],
  handler: SqsHandler,
  context: () => Context,
  options: DrainOptions,
): Promise<DrainResult> {
  const total = emptyDrain();
  const deadline = Date.now() + options.maxMillis;
  const pollers = bindings.flatMap((binding) =>
    Array.from({ length: options.concurrency ?? 1 }, async () => {
      while (Date.now() < deadline) {
        const result = await pollOnce(sqs, binding, handler, context);
        if (result.received > 0) {
          if (result.invoked) total.invocations++;
          total.received += result.received;
          total.filtered += result.filtered;
          total.deleted += result.deleted;
          total.handedBack += result.handedBack;
          continue;
        }
        if ((await queueDepth(sqs, binding.queueUrl)) === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 100)); // in flight elsewhere, or invisible
      }
    }),
  );
  await Promise.all(pollers);
  for (const binding of bindings) total.remaining += await queueDepth(sqs, binding.queueUrl);
  return total;
}
