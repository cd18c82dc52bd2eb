/** The redrive's ports backed by the AWS SDK (endpoints from AWS_ENDPOINT_URL_<SERVICE>). */
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { type KinesisClient, PutRecordCommand } from '@aws-sdk/client-kinesis';
import {
  GetQueueUrlCommand,
  type MessageAttributeValue,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { RedrivePorts } from './lib/redrive.js';

export interface Clients {
  sqs: SQSClient;
  kinesis: KinesisClient;
  eventBridge: EventBridgeClient;
}

/** A queue's URL from its ARN, asking SQS (the queue may be in another account). */
export function queueUrlResolver(sqs: SQSClient) {
  const cache = new Map<string, string>();
  return async (queueArn: string): Promise<string> => {
    const known = cache.get(queueArn);
    if (known) return known;
    const [, , , , account, name] = queueArn.split(':');
    const { QueueUrl } = await sqs.send(
      new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account }),
    );
    if (!QueueUrl) throw new Error(`No URL for ${queueArn}`);
    cache.set(queueArn, QueueUrl);
    return QueueUrl;
  };
}

/** Lambda's message attributes (camelCase, base64 binaries) as SendMessage takes them. */
function toMessageAttributes(attributes: Record<string, unknown>): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  for (const [name, raw] of Object.entries(attributes)) {
    const value = raw as { dataType?: string; stringValue?: string; binaryValue?: string };
    if (value.stringValue !== undefined)
      out[name] = { DataType: value.dataType ?? 'String', StringValue: value.stringValue };
    else if (value.binaryValue !== undefined) {
      out[name] = {
        DataType: value.dataType ?? 'Binary',
        BinaryValue: Buffer.from(value.binaryValue, 'base64'),
      };
    }
  }
  return out;
}

export function sdkPorts(clients: Clients, queueUrlOf = queueUrlResolver(clients.sqs)): RedrivePorts {
  return {
    async sendToQueue(destination) {
      await clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: await queueUrlOf(destination.queueArn),
          MessageBody: destination.body,
          MessageAttributes: toMessageAttributes(destination.attributes),
          ...(destination.groupId ? { MessageGroupId: destination.groupId } : {}),
          ...(destination.dedupId ? { MessageDeduplicationId: destination.dedupId } : {}),
        }),
      );
    },
    async putToStream(destination) {
      await clients.kinesis.send(
        new PutRecordCommand({
          StreamARN: destination.streamArn,
          Data: destination.data,
          PartitionKey: destination.partitionKey,
        }),
      );
    },
    async putEvent(destination) {
      const event = destination.event as {
        source?: string;
        'detail-type'?: string;
        detail?: unknown;
        resources?: string[];
        time?: string;
      };
      const response = await clients.eventBridge.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: destination.busArn,
              Source: event.source,
              DetailType: event['detail-type'],
              Detail: JSON.stringify(event.detail ?? {}),
              Resources: event.resources ?? [],
              ...(event.time ? { Time: new Date(event.time) } : {}),
            },
          ],
        }),
      );
      const entry = response.Entries?.[0];
      if ((response.FailedEntryCount ?? 0) > 0 || !entry?.EventId) {
        throw new Error(
          `PutEvents refused the event: ${entry?.ErrorCode ?? 'unknown'} ${entry?.ErrorMessage ?? ''}`,
        );
      }
    },
  };
}
