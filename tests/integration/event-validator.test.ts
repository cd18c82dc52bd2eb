/**
 * event-validator on loopback: the real handler module, republishing through the SDK to the
 * PutEvents stand-in and dead-lettering to the DLQ stream on the Kinesis emulator.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { EventBridgeEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaContext } from '../../local/lambda-context.js';
import { runEventValidator } from '../../local/scenarios/event-validator.js';
import { type LocalSession, startLocalSession } from '../../local/session.js';
import { RetryLaterError } from '../../shared/core/errors.js';
import { loadEvent } from '../helpers/fixtures.js';

type Event = EventBridgeEvent<string, unknown>;
type Handler = (input: Event | Event[], context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

let session: LocalSession;
let handler: Handler;

beforeAll(async () => {
  session = await startLocalSession();
  ({ handler } = (await import('../../functions/event-validator/handler.js')) as { handler: Handler });
});

afterAll(async () => {
  await session?.stop();
});

describe('event-validator with the PutEvents stand-in and the DLQ stream', () => {
  it('republishes the valid samples and dead-letters the rest, each with its reason', async () => {
    // Act
    const report = await runEventValidator({ ...session, log: () => {} }, handler);
    // Assess
    expect(report.invocationErrors).toEqual([]);
    expect(report.republished.map((e) => `${e.source}/${e.detailType}`)).toEqual([
      'valid.cwi.servicea/NEW_WIDGET',
      'valid.cwi.servicea/NEW_WIDGET',
      'valid.cwi.servicea/WIDGET_DELETED',
      'valid.cwi.servicea/NEW_WIDGET',
    ]);
    expect(report.handedBack).toEqual({
      'eventbridge-batch.json': [],
      'eventbridge-pipes-sqs.json': [],
    });
    expect(report.deadLettered.map((e) => e.reason).sort()).toEqual([
      'INVALID_EVENT',
      'INVALID_EVENT',
      'INVALID_EVENT',
      'LOOP',
      'LOOP',
      'NO_SCHEMA',
      'NO_SCHEMA',
    ]);
    expect(report.deadLettered.find((e) => e.reason === 'INVALID_EVENT')?.errors).toBe(6);
    const stored = session.aws.eventBridge.events.at(-1);
    expect(stored).toMatchObject({ bus: 'central-local', time: '2026-11-21T09:30:00.000Z' });
    expect(session.aws.eventBridge.calls.every((n) => n <= 10)).toBe(true);
  });

  it('retries throttled entries, and fails the invocation when they keep failing', async () => {
    // Prepare
    const valid = loadEvent<Event>('eventbridge-valid.json');
    const before = session.aws.eventBridge.events.length;
    session.aws.eventBridge.failNext(1, 'ThrottlingException');
    // Act
    await handler(valid, lambdaContext('eventValidator', 30));
    // Assess
    expect(session.aws.eventBridge.events.length).toBe(before + 1);

    // Prepare
    session.aws.eventBridge.failNext(50, 'InternalFailure');
    // Act / Assess
    await expect(handler(valid, lambdaContext('eventValidator', 30))).rejects.toBeInstanceOf(RetryLaterError);
    expect(session.aws.eventBridge.events.length).toBe(before + 1);
  });

  it('answers a Pipes array with batchItemFailures naming just the message PutEvents keeps throttling', async () => {
    // Prepare: a Pipes array of two SQS messages (a valid event, an invalid one); every PutEvents entry throttled.
    const records = loadEvent<SQSRecord[]>('eventbridge-pipes-sqs.json');
    const before = session.aws.eventBridge.events.length;
    session.aws.eventBridge.failNext(200, 'ThrottlingException');
    // Act
    const response = await handler(records as never, lambdaContext('eventValidator', 30));
    // Assess: the valid one comes back by its messageId; the invalid one is in the DLQ, not handed back.
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: records[0]?.messageId }] });
    expect(session.aws.eventBridge.events.length).toBe(before);
  });

  it('stand-in: takes a PutEvents call one byte under 262,144 bytes, refuses one exactly at it', async () => {
    // Prepare
    const client = new EventBridgeClient({ endpoint: session.aws.eventBridge.endpoint, maxAttempts: 1 });
    const entryOf = (bytes: number) => ({
      EventBusName: 'central-local',
      Source: 's',
      DetailType: 'd',
      Detail: `{"p":"${'x'.repeat(bytes - 2 - 8)}"}`,
    });
    const put = (bytes: number) => client.send(new PutEventsCommand({ Entries: [entryOf(bytes)] }));
    // Act / Assess
    await expect(put(262_143)).resolves.toMatchObject({ FailedEntryCount: expect.any(Number) });
    await expect(put(262_144)).rejects.toMatchObject({ name: 'ValidationException' });
  });
});
