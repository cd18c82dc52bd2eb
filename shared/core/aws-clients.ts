/**
 * SDK clients, built once per container at module scope by the handlers.
 *
 * Every client uses an HTTP/1.1 keep-alive handler: the Kinesis client's default
 * HTTP/2 handler fails against the local emulators and opens a session per request
 * against AWS. Endpoints come from the SDK's standard AWS_ENDPOINT_URL_<SERVICE>
 * variables, so nothing here knows whether it talks to AWS or to an emulator.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { KinesisClient, type KinesisClientConfig } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { KinesisWriteProtocol } from './kinesis-protocol.js';

/** Connection set-up budget and per-request budget for data-plane calls. */
export const CONNECTION_TIMEOUT_MS = 3_000;
export const REQUEST_TIMEOUT_MS = 10_000;
const MAX_SOCKETS = 50;

export function keepAliveHandler(requestTimeoutMs = REQUEST_TIMEOUT_MS): NodeHttpHandler {
  return new NodeHttpHandler({
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
    httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    requestTimeout: requestTimeoutMs,
    // Without this, the handler only logs a warning when a request outlives requestTimeout,
    // and a hung call would hold the invocation until Lambda's own timeout.
    throwOnRequestTimeout: true,
  });
}

/**
 * A Kinesis client for the shared writer. The SDK's own retries are off (maxAttempts 1):
 * the writer retries only the failed entries, with jitter, inside the invocation's time.
 * PutRecords goes through KinesisWriteProtocol (its body and its success answer).
 */
export function createKinesisClient(overrides: KinesisClientConfig = {}): KinesisClient {
  const client = new KinesisClient({
    requestHandler: keepAliveHandler(),
    maxAttempts: 1,
    // PutRecords bodies built in one pass (see kinesis-protocol.ts); all else is the SDK's.
    protocol: KinesisWriteProtocol,
    ...overrides,
  });
  // No SDK logger is configured, yet its middleware still walks every request and response
  // to redact them for a log line nobody writes: about 5% of a PutRecords call's CPU.
  client.middlewareStack.remove('loggerMiddleware');
  return client;
}
