/**
 * The four real handler modules, loaded as Lambda loads them (stage and parameters in the
 * environment), given events of every kind: the wrong kind is refused with an
 * EventShapeError before any client is used, never a TypeError; the right kind runs through.
 * The SDK clients are mocked, and every endpoint points at a closed port, so nothing here
 * can reach AWS.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EventShapeError, PipelineError } from '../../shared/core/errors.js';
import {
  FIREHOSE_EXPECTED,
  SQS_EXPECTED,
  VALIDATOR_EXPECTED,
  WINDOW_EXPECTED,
} from '../../shared/core/event-shape.js';
import { loadStageConfig } from '../../tools/lib/config-files.js';
import { ACCEPTED, anyEvent, type EventLabel } from '../helpers/events.js';
import { loadEvent } from '../helpers/fixtures.js';
import { putEventsDouble, putRecordsDouble } from '../helpers/service-doubles.js';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

const saved = { ...process.env };
const kinesisMock = mockClient(KinesisClient);
const eventBridgeMock = mockClient(EventBridgeClient);
/** How many calls each service double took since the last reset. */
const calls = () => ({
  kinesis: kinesisMock.commandCalls(PutRecordsCommand).length,
  eventBridge: eventBridgeMock.commandCalls(PutEventsCommand).length,
});

const context = {
  functionName: 'handler-test',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:handler-test',
  memoryLimitInMB: '1024',
  awsRequestId: 'request-1',
  logGroupName: '/aws/lambda/handler-test',
  logStreamName: 'stream',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 60_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
} as Context;

const HANDLERS = [
  {
    name: 'sqs-to-kinesis',
    expected: SQS_EXPECTED,
    accepts: ACCEPTED['sqs-to-kinesis'],
    sample: 'sqs-standard.json',
  },
  {
    name: 'firehose-transform',
    expected: FIREHOSE_EXPECTED,
    accepts: ACCEPTED['firehose-transform'],
    sample: 'firehose-ses.json',
  },
  {
    name: 'kinesis-aggregator',
    expected: WINDOW_EXPECTED,
    accepts: ACCEPTED['kinesis-aggregator'],
    sample: 'kinesis-window-final.json',
  },
  {
    name: 'event-validator',
    expected: VALIDATOR_EXPECTED,
    accepts: ACCEPTED['event-validator'],
    sample: 'eventbridge-valid.json',
  },
] as const;

const handlers = new Map<string, Handler>();

beforeAll(async () => {
  // The deployed function's environment, with every endpoint on a port nothing listens on.
  process.env.PIPELINE_STAGE = 'local';
  process.env.PIPELINE_PARAMS = JSON.stringify(loadStageConfig('local').functionParams);
  process.env.PIPELINE_HASH_KEY = 'handler-test-key';
  process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:9';
  for (const { name } of HANDLERS) {
    const module = (await import(`../../functions/${name}/handler.ts`)) as { handler: Handler };
    handlers.set(name, module.handler);
  }
});

afterAll(() => {
  process.env = { ...saved };
});

beforeEach(() => {
  kinesisMock.reset();
  eventBridgeMock.reset();
  putRecordsDouble(kinesisMock);
  putEventsDouble(eventBridgeMock);
});

/** What an invocation did: its result, or what it threw. */
async function invoke(handler: Handler, event: unknown): Promise<{ result?: unknown; error?: unknown }> {
  try {
    return { result: await handler(event, context) };
  } catch (error) {
    return { error };
  }
}

describe.each(HANDLERS)('the $name handler', ({ name, expected, accepts, sample }) => {
  it('refuses every other kind of event with an EventShapeError, before any write', async () => {
    const handler = handlers.get(name) as Handler;
    const others = anyEvent.filter(
      ({ label }) => label !== 'random' && !(accepts as readonly EventLabel[]).includes(label),
    );
    await fc.assert(
      fc.asyncProperty(others, async ({ got, event }) => {
        kinesisMock.resetHistory();
        eventBridgeMock.resetHistory();
        // Act
        const { error } = await invoke(handler, event);
        // Assess
        expect(error).toBeInstanceOf(EventShapeError);
        expect((error as Error).name).toBe('EventShapeError');
        expect((error as Error).message.startsWith(`expected ${expected}, got `)).toBe(true);
        if (got !== undefined) expect((error as Error).message).toContain(`got ${got}`);
        expect(calls()).toEqual({ kinesis: 0, eventBridge: 0 });
      }),
      { numRuns: 25 },
    );
  });

  it('never fails with a TypeError on random JSON: it runs, or refuses with an EventShapeError', async () => {
    const handler = handlers.get(name) as Handler;
    await fc.assert(
      fc.asyncProperty(
        anyEvent.filter(({ label }) => label === 'random'),
        async ({ event }) => {
          // Act
          const { error } = await invoke(handler, event);
          // Assess
          if (error !== undefined) expect(error).toBeInstanceOf(EventShapeError);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('runs its own sample event through', async () => {
    // Prepare
    const event = loadEvent(sample);
    // Act
    const { result, error } = await invoke(handlers.get(name) as Handler, event);
    // Assess
    expect(error).toBeUndefined();
    expect(result === undefined || typeof result === 'object').toBe(true);
    if (name !== 'firehose-transform') expect(calls().kinesis + calls().eventBridge).toBeGreaterThan(0);
  });
});

describe('the issue 9 examples, through the real handlers', () => {
  it('the aggregator given an SQS event names both kinds instead of a TypeError', async () => {
    // Act
    const { error } = await invoke(
      handlers.get('kinesis-aggregator') as Handler,
      loadEvent('sqs-standard.json'),
    );
    // Assess
    expect(error).toBeInstanceOf(PipelineError);
    expect((error as Error).message).toBe(`expected ${WINDOW_EXPECTED}, got an SQS event`);
  });

  it('the mapper given an EventBridge event refuses it instead of succeeding with nothing', async () => {
    // Act
    const { error } = await invoke(
      handlers.get('sqs-to-kinesis') as Handler,
      loadEvent('eventbridge-valid.json'),
    );
    // Assess
    expect((error as Error).message).toBe(
      'expected an SQS event (Records[].eventSource = aws:sqs), got an EventBridge event',
    );
  });
});
