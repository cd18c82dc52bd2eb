/**
 * Creates on the emulators what a deploy would create or find on AWS: the streams the
 * config declares (and the DLQ stream), and one queue per configured queue ARN.
 */
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
  ResourceInUseException,
} from '@aws-sdk/client-kinesis';
import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { isFifoQueue, queueNameOf } from '../shared/core/config/rules.js';
import type { PipelineConfig, StreamSettings } from '../shared/core/config/schema.js';

export async function createStream(
  kinesis: KinesisClient,
  name: string,
  settings: StreamSettings,
): Promise<void> {
  try {
    await kinesis.send(
      new CreateStreamCommand({
        StreamName: name,
        ...(settings.capacity.mode === 'PROVISIONED'
          ? { ShardCount: settings.capacity.shards }
          : { StreamModeDetails: { StreamMode: 'ON_DEMAND' } }),
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (let i = 0; i < 100; i++) {
    const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (summary.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Stream ${name} did not become ACTIVE`);
}

/** The config's streams and the DLQ stream. */
export async function createStreams(kinesis: KinesisClient, config: PipelineConfig): Promise<string[]> {
  const all: [string, StreamSettings][] = [
    [config.dlq.stream, config.dlq.settings],
    ...Object.entries(config.streams),
  ];
  await Promise.all(all.map(([name, settings]) => createStream(kinesis, name, settings)));
  return all.map(([name]) => name);
}

/** The emulator holds one account; a queue of another account gets its account id as a name prefix. */
export function localQueueName(queueArn: string): string {
  const account = queueArn.split(':')[4];
  return `${account}-${queueNameOf(queueArn)}`;
}

export async function createQueue(sqs: SQSClient, queueArn: string, visibilityTimeoutSeconds: number) {
  const fifo = isFifoQueue(queueArn);
  const created = await sqs.send(
    new CreateQueueCommand({
      QueueName: localQueueName(queueArn),
      Attributes: {
        VisibilityTimeout: String(visibilityTimeoutSeconds),
        ...(fifo ? { FifoQueue: 'true', ContentBasedDeduplication: 'true' } : {}),
      },
    }),
  );
  if (!created.QueueUrl) throw new Error(`No queue URL for ${queueArn}`);
  return created.QueueUrl;
}
