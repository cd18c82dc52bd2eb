/** The EventBridge client, kept apart so that other functions' bundles do not carry it. */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { keepAliveHandler } from './aws-clients.js';

/** Retries are the writer's (only failed entries, within the invocation's time), as for Kinesis. */
export function createEventBridgeClient(): EventBridgeClient {
  const client = new EventBridgeClient({ requestHandler: keepAliveHandler(), maxAttempts: 1 });
  client.middlewareStack.remove('loggerMiddleware');
  return client;
}
