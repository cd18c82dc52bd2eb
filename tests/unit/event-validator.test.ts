import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandInput,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { KinesisClient, PutRecordsCommand, type PutRecordsCommandInput } from '@aws-sdk/client-kinesis';
import type { EventBridgeEvent, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { type DlqEnvelope, parseDlqEnvelope } from '../../shared/dlq.js';
import { ConfigError, RetryLaterError } from '../../shared/errors.js';
import { compileSchemas, schemaFileReader } from '../../shared/event-schemas.js';
import { judge, TRACE_FIELD, type ValidatorDeps, validateEvents } from '../../shared/event-validator.js';
import { putEventsEntrySize } from '../../shared/eventbridge-writer.js';
import { fixedNow, noSleep, recordingLogger, recordingMetrics } from '../helpers/doubles.js';
import { loadEvent, localConfig, type RawConfig, testConfig } from '../helpers/fixtures.js';

type Event = EventBridgeEvent<string, RawConfig>;
const eventBridgeMock = mockClient(EventBridgeClient);
const kinesisMock = mockClient(KinesisClient);
const config = localConfig();
const validatorConfig = config.eventValidator as NonNullable<typeof config.eventValidator>;
const schemas = compileSchemas(validatorConfig, schemaFileReader());

type TestDeps = ValidatorDeps & {
  logger: ReturnType<typeof recordingLogger>;
  metrics: ReturnType<typeof recordingMetrics>;
};

function deps(overrides: Partial<ValidatorDeps> = {}): TestDeps {
  return {
    config,
    schemas,
    eventBridge: new EventBridgeClient({ region: 'us-east-1' }),
    kinesis: new KinesisClient({ region: 'us-east-1' }),
    logger: recordingLogger(),
    metrics: recordingMetrics(),
    now: fixedNow,
    busArn: 'arn:aws:events:us-east-1:123456789012:event-bus/central-local',
    traceHeader: () => 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1',
    sleep: noSleep,
    policy: { maxAttempts: 3 },
    ...overrides,
  } as TestDeps;
}

/** PutEvents double: `fail` may refuse an entry with an error code. */
function eventBridgeDouble(
  fail: (entry: PutEventsRequestEntry, call: number) => string | undefined = () => undefined,
) {
  const published: PutEventsRequestEntry[] = [];
  let call = 0;
  eventBridgeMock.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => {
    call++;
    const entries = (input.Entries ?? []).map((entry) => {
      const code = fail(entry, call);
      if (code) return { ErrorCode: code, ErrorMessage: `${code} (injected)` };
      published.push(entry);
      return { EventId: `ev-${published.length}` };
    });
    return { FailedEntryCount: entries.filter((e) => 'ErrorCode' in e).length, Entries: entries };
  });
  return published;
}

function dlqDouble() {
  const envelopes: DlqEnvelope[] = [];
  kinesisMock.on(PutRecordsCommand).callsFake((input: PutRecordsCommandInput) => {
    for (const record of input.Records ?? []) envelopes.push(parseDlqEnvelope(record.Data as Uint8Array));
    return {
      FailedRecordCount: 0,
      Records: (input.Records ?? []).map((_, i) => ({
        SequenceNumber: `s${i}`,
        ShardId: 'shardId-000000000000',
      })),
    };
  });
  return envelopes;
}

describe('event validator', () => {
  beforeEach(() => {
    eventBridgeMock.reset();
    kinesisMock.reset();
  });

  it('republishes a valid event under valid.<source>, same detail-type and detail, tracing the original', async () => {
    // Prepare
    const published = eventBridgeDouble();
    const event = loadEvent<Event>('eventbridge-valid.json');
    // Act
    await validateEvents(event, deps());
    // Assess
    expect(published).toHaveLength(1);
    const [entry] = published;
    expect(entry).toMatchObject({
      EventBusName: 'central-local',
      Source: 'valid.cwi.servicea',
      DetailType: 'NEW_WIDGET',
      Resources: event.resources,
      TraceHeader: 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1',
    });
    expect(entry?.Time?.toISOString()).toBe('2026-11-21T09:30:00.000Z');
    const detail = JSON.parse(entry?.Detail as string);
    expect(detail).toEqual({
      ...event.detail,
      [TRACE_FIELD]: {
        originalId: event.id,
        originalSource: 'cwi.servicea',
        originalAccount: '555555555555',
        schema: 'config/schemas/cwi.servicea/NEW_WIDGET.json',
      },
    });
  });

  it('sends an invalid event to the DLQ stream with every validation error and its path', async () => {
    eventBridgeDouble();
    const envelopes = dlqDouble();
    const event = loadEvent<Event>('eventbridge-invalid.json');
    await validateEvents(event, deps());
    expect(eventBridgeMock.commandCalls(PutEventsCommand)).toHaveLength(0);
    const [envelope] = envelopes;
    expect(envelope).toMatchObject({
      reason: 'INVALID_EVENT',
      handler: 'event-validator',
      source: { type: 'eventbridge', id: event.id, eventSource: 'cwi.servicea', detailType: 'NEW_WIDGET' },
    });
    expect(envelope?.errors).toEqual(
      expect.arrayContaining([
        { path: '/detail', message: "must have required property 'name'" },
        { path: '/detail', message: 'must NOT have additional properties (colour)' },
        { path: '/detail/widgetId', message: 'must match pattern "^w-[0-9a-f]{8}$"' },
        { path: '/detail/price/amount', message: 'must be >= 0' },
        { path: '/detail/price/currency', message: 'must be equal to one of the allowed values' },
        { path: '/detail/createdAt', message: 'must match format "date-time"' },
      ]),
    );
    expect(JSON.parse(envelope?.payload.data as string)).toEqual(event);
  });

  it('validates draft-07 schemas too', () => {
    const event = loadEvent<Event[]>('eventbridge-batch.json')[1] as Event;
    expect(event['detail-type']).toBe('WIDGET_DELETED');
    expect(judge(event, deps()).kind).toBe('republish');
    event.detail.extra = 1;
    expect(judge(event, deps())).toMatchObject({ kind: 'dlq', reason: 'INVALID_EVENT' });
  });

  it('rejects a detail-type with no schema by default, and republishes it unchecked when configured to', () => {
    const event = loadEvent<Event>('eventbridge-no-schema.json');
    expect(judge(event, deps())).toMatchObject({ kind: 'dlq', reason: 'NO_SCHEMA' });
    const accepting = testConfig((raw) => {
      raw.eventValidator = structuredClone({
        centralBus: { name: 'central' },
        sources: { 'cwi.servicea': { detailTypes: {}, unknownDetailType: 'accept' } },
      });
    });
    const verdict = judge(event, {
      config: accepting,
      schemas: compileSchemas(accepting.eventValidator as never, schemaFileReader()),
    });
    expect(verdict).toMatchObject({
      kind: 'republish',
      entry: { Source: 'valid.cwi.servicea', EventBusName: 'central' },
    });
  });

  it('refuses to republish an event whose source carries the output prefix (loop guard)', async () => {
    eventBridgeDouble();
    const envelopes = dlqDouble();
    await validateEvents(loadEvent<Event>('eventbridge-loop.json'), deps());
    expect(eventBridgeMock.commandCalls(PutEventsCommand)).toHaveLength(0);
    expect(envelopes.map((e) => e.reason)).toEqual(['LOOP']);
  });

  it('rejects an envelope that is not an EventBridge event, naming each bad field', () => {
    const event = loadEvent<RawConfig>('eventbridge-valid.json');
    delete event.id;
    event.time = 'noon';
    const verdict = judge(event, deps());
    expect(verdict).toMatchObject({ kind: 'dlq', reason: 'INVALID_ENVELOPE' });
    expect(verdict.kind === 'dlq' && verdict.errors?.map((e) => e.path)).toEqual(['/id', '/time']);
  });

  it('refuses an entry over 256 KB as EventBridge counts it, before sending', async () => {
    eventBridgeDouble();
    const envelopes = dlqDouble();
    const event = loadEvent<Event>('eventbridge-valid.json');
    event.detail.tags = Array.from({ length: 20 }, () => 'x'.repeat(14_000));
    await validateEvents(event, deps());
    expect(eventBridgeMock.commandCalls(PutEventsCommand)).toHaveLength(0);
    expect(envelopes[0]).toMatchObject({ reason: 'ENTRY_TOO_LARGE', target: 'central-local' });
    expect(
      putEventsEntrySize({ Source: 'é', DetailType: 'a', Detail: '{}', Resources: ['r'], Time: new Date() }),
    ).toBe(14 + 2 + 1 + 2 + 1);
  });

  it('retries throttled entries, and dead-letters entries PutEvents refuses for good', async () => {
    // Prepare: the first call throttles the first entry and refuses the second as malformed.
    const published = eventBridgeDouble((entry, call) => {
      const id = JSON.parse(entry.Detail as string)[TRACE_FIELD].originalId as string;
      if (id.endsWith('001') && call === 1) return 'ThrottlingException';
      if (id.endsWith('005')) return 'MalformedDetail';
      return undefined;
    });
    const envelopes = dlqDouble();
    const batch = loadEvent<Event[]>('eventbridge-batch.json');
    // Act
    await validateEvents(batch, deps());
    // Assess
    expect(published.map((e) => JSON.parse(e.Detail as string)[TRACE_FIELD].originalId)).toEqual([
      batch[0]?.id,
    ]);
    expect(eventBridgeMock.commandCalls(PutEventsCommand)[1]?.args[0].input.Entries).toHaveLength(1);
    expect(envelopes.map((e) => e.reason).sort()).toEqual([
      'INVALID_EVENT',
      'LOOP',
      'NO_SCHEMA',
      'REPUBLISH_REJECTED',
    ]);
    expect(envelopes.find((e) => e.reason === 'REPUBLISH_REJECTED')?.message).toContain('MalformedDetail');
  });

  it('fails the invocation when republishing keeps failing, so Lambda retries it', async () => {
    eventBridgeDouble(() => 'InternalFailure');
    const d = deps();
    await expect(validateEvents(loadEvent<Event>('eventbridge-valid.json'), d)).rejects.toThrow(
      RetryLaterError,
    );
    expect(eventBridgeMock.commandCalls(PutEventsCommand)).toHaveLength(3);
  });

  it('from SQS, hands back just the messages not yet written', async () => {
    eventBridgeDouble((entry) =>
      JSON.parse(entry.Detail as string)[TRACE_FIELD].originalId.endsWith('001')
        ? 'ThrottlingException'
        : undefined,
    );
    dlqDouble();
    const batch = loadEvent<Event[]>('eventbridge-batch.json');
    const sqs: SQSEvent = loadEvent('sqs-standard.json');
    sqs.Records = batch.map((event, i) => ({
      ...(sqs.Records[0] as SQSEvent['Records'][number]),
      messageId: `m-${i}`,
      body: JSON.stringify(event),
    }));
    const response = await validateEvents(sqs, deps());
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-0' }] });
  });

  it('sends a batch of 25 valid events in 3 PutEvents calls', async () => {
    const published = eventBridgeDouble();
    const valid = loadEvent<Event>('eventbridge-valid.json');
    const batch = Array.from({ length: 25 }, (_, i) => ({ ...valid, id: `id-${i}` }));
    const d = deps();
    await validateEvents(batch, d);
    expect(
      eventBridgeMock.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries?.length),
    ).toEqual([10, 10, 5]);
    expect(published).toHaveLength(25);
    expect(d.metrics.published.get('handler=event-validator')).toMatchObject({
      received: 25,
      republished: 25,
    });
  });

  it('never throws on random details: every event is republished or dead-lettered', async () => {
    eventBridgeDouble();
    dlqDouble();
    const base = loadEvent<Event>('eventbridge-valid.json');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.jsonValue(), fc.object(), fc.record({ widgetId: fc.string(), price: fc.jsonValue() })),
        fc.constantFrom('NEW_WIDGET', 'WIDGET_DELETED', 'OTHER'),
        async (detail, detailType) => {
          const d = deps();
          await validateEvents({ ...base, 'detail-type': detailType, detail: detail as RawConfig }, d);
          const counts = d.metrics.published.get('handler=event-validator');
          expect((counts?.republished ?? 0) + (counts?.sentToDlq ?? 0)).toBe(1);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fails to compile a broken schema, naming the key', () => {
    expect(() =>
      compileSchemas(validatorConfig, (file) =>
        file.endsWith('NEW_WIDGET.json')
          ? { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'nope' }
          : {},
      ),
    ).toThrow(ConfigError);
    expect(() =>
      compileSchemas(validatorConfig, () => ({ $schema: 'http://json-schema.org/draft-04/schema#' })),
    ).toThrow(
      /eventValidator\.sources\.cwi\.servicea\.detailTypes\.NEW_WIDGET\.schema: .*unsupported \$schema/,
    );
  });
});
