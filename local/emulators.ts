/**
 * The embedded emulators, on free loopback ports: kinesis-local (a child process, so
 * its CPU never counts as ours in the bench) and local-aws-sqs (in-process). Used by
 * the local runner, the tests and the bench; each starts and stops its own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { KinesisClient, ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { createSqsServer } from 'local-aws-sqs';
import { keepAliveHandler } from '../shared/core/aws-clients.js';
import { type EventBridgeStandIn, startEventBridgeStandIn } from './eventbridge-stand-in.js';

const require = createRequire(import.meta.url);
const READY_TIMEOUT_MS = 30_000;

export interface Emulator {
  endpoint: string;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  region: string;
  accountId: string;
}

/** A free TCP port on loopback, found by binding to port 0. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (typeof address !== 'object' || address === null) throw new Error('Could not find a free port');
  return address.port;
}

export async function startKinesis(options: EmulatorOptions): Promise<Emulator> {
  const main = require.resolve('kinesis-local/main.js');
  const [plainPort, tlsPort] = [await freePort(), await freePort()];
  const child: ChildProcess = spawn(process.execPath, [main], {
    env: {
      PATH: process.env.PATH,
      KINESIS_MOCK_PLAIN_PORT: String(plainPort),
      KINESIS_MOCK_TLS_PORT: String(tlsPort),
      KINESIS_MOCK_CERT_PATH: join(dirname(main), 'server.json'),
      CREATE_STREAM_DURATION: '0ms',
      DELETE_STREAM_DURATION: '0ms',
      AWS_REGION: options.region,
      AWS_ACCOUNT_ID: options.accountId,
      SHARD_LIMIT: '200',
      LOG_LEVEL: 'ERROR',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${plainPort}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // SIGTERM makes kinesis-local wait ~30 s for a graceful shutdown; nothing here needs one.
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  };
  const client = new KinesisClient({
    endpoint,
    region: options.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: keepAliveHandler(),
    maxAttempts: 1,
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`kinesis-local exited early: ${stderr}`);
    try {
      await client.send(new ListStreamsCommand({}));
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`kinesis-local not ready after ${READY_TIMEOUT_MS} ms: ${String(error)} ${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  client.destroy();
  return { endpoint, stop };
}

/**
 * kinesalite in a child process: lighter than kinesis-local and flat in cost as streams
 * grow, so the bench uses it; but it rejects StreamARN-only calls and never fails single
 * PutRecords entries, so tests and the local runner use kinesis-local.
 */
export async function startKinesalite(): Promise<Emulator> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(import.meta.dirname, 'kinesalite-server.cjs'), String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
  if (!line.toString().startsWith('listening')) throw new Error(`kinesalite did not start: ${line}`);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    },
  };
}

export async function startSqs(options: EmulatorOptions): Promise<Emulator> {
  const server: Server & { closeAllConnections?: () => void } = await createSqsServer({
    port: 0,
    hostname: '127.0.0.1',
    region: options.region,
    accountId: options.accountId,
    emulateQueueCreationLifecycle: false,
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('local-aws-sqs did not start');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    stop: async () => {
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface LocalAws {
  kinesis: Emulator;
  sqs: Emulator;
  /** The PutEvents stand-in (no EventBridge emulator exists). */
  eventBridge: EventBridgeStandIn;
  /** The environment an SDK client (or `serverless invoke local`) needs to reach them. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** The emulators and stand-ins, and the standard endpoint variables pointing at them. */
export async function startLocalAws(options: EmulatorOptions): Promise<LocalAws> {
  const [kinesis, sqs, eventBridge] = await Promise.all([
    startKinesis(options),
    startSqs(options),
    startEventBridgeStandIn(),
  ]);
  return {
    kinesis,
    sqs,
    eventBridge,
    env: {
      AWS_ENDPOINT_URL_KINESIS: kinesis.endpoint,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint,
      AWS_REGION: options.region,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    },
    stop: async () => {
      await Promise.all([kinesis.stop(), sqs.stop(), eventBridge.stop()]);
    },
  };
}
