import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandInput,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { EventBridgeEvent, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseDlqEnvelope } from '../../shared/core/dlq.js';
import { ConfigError, RetryLaterError } from '../../shared/core/errors.js';
import { MAX_PUT_EVENTS_BYTES, putEvents, putEventsEntrySize } from '../../shared/core/eventbridge-writer.js';
import { compileSchemas, schemaFileReader } from '../../shared/event-validator/event-schemas.js';
import {
  judge,
  TRACE_FIELD,
  type ValidatorDeps,
  validateEvents,
} from '../../shared/event-validator/event-validator.js';
import { realLogger } from '../helpers/captured-output.js';
import { noSleep } from '../helpers/doubles.js';
import { loadEvent, localConfig, type RawConfig, testConfig } from '../helpers/fixtures.js';
import { envelopesIn, putEventsDouble, putRecordsDouble } from '../helpers/service-doubles.js';
import { validatorTestDeps } from '../helpers/test-deps.js';
import { seedFromEnvironment } from '../setup/seed.js';

type Event = EventBridgeEvent<string, RawConfig>;
const eventBridgeMock = mockClient(EventBridgeClient);
const kinesisMock = mockClient(KinesisClient);
const config = localConfig();
const DLQ = config.dlq.stream;
const validatorConfig = config.eventValidator as NonNullable<typeof config.eventValidator>;
const schemas = compileSchemas(validatorConfig, schemaFileReader());

describe('event validator', () => {
  beforeEach(() => {
    eventBridgeMock.reset();
    kinesisMock.reset();
  });

  it('republishes a valid event under valid.<source>, same detail-type and detail, tracing the original', async () => {
    // Prepare
    const published = putEventsDouble(eventBridgeMock);
    const event = loadEvent<Event>('eventbridge-valid.json');
    // Act
    await validateEvents(event, validatorTestDeps());
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
    // Prepare
    putEventsDouble(eventBridgeMock);
    const dlq = putRecordsDouble(kinesisMock);
    const event = loadEvent<Event>('eventbridge-invalid.json');
    // Act
    await validateEvents(event, validatorTestDeps());
    // Assess
    expect(eventBridgeMock.commandCalls(PutEventsCommand)).toHaveLength(0);
    const [envelope] = envelopesIn(dlq, DLQ);
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
    // Prepare
    const event = loadEvent<Event[]>('eventbridge-batch.json')[1] as Event;
    // Act / Assess
    expect(event['detail-type']).toBe('WIDGET_DELETED');
    expect(judge(event, validatorTestDeps()).kind).toBe('republish');
    event.detail.extra = 1;
    expect(judge(event, validatorTestDeps())).toMatchObject({ kind: 'dlq', reason: 'INVALID_EVENT' });
  });

  it('rejects a detail-type with no schema by default, and republishes it unchecked when configured to', () => {
    // Prepare
    const event = loadEvent<Event>('eventbridge-no-schema.json');
    // Act / Assess
    expect(judge(event, validatorTestDeps())).toMatchObject({ kind: 'dlq', reason: 'NO_SCHEMA' });
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
    // Prepare
    putEventsDouble(eventBridgeMock);
    const dlq = putRecordsDouble(kinesisMock);
    // Act
    await validateEvents(loadEvent<Event>('eventbridge-loop.json'), validatorTestDeps());
    // Assess
    expect(eventBridgeMock.commandCalls(PutEventsCommand)).toHaveLength(0);
    expect(envelopesIn(dlq, DLQ).map((e) => e.reason)).toEqual(['LOOP']);
  });

  it('rejects an envelope that is not an EventBridge event, naming each bad field', () => {
    // Prepare
    const event = loadEvent<RawConfig>('eventbridge-valid.json');
    delete event.id;
    event.time = 'noon';
    // Act
    const verdict = judge(event, validatorTestDeps());
    // Assess
    expect(verdict).toMatchObject({ kind: 'dlq', reason: 'INVALID_ENVELOPE' });
    expect(verdict.kind === 'dlq' && verdict.errors?.map((e) => e.path)).toEqual(['/id', '/time']);
  });

  it('refuses an entry over 256 KB as EventBridge counts it, before sending', async () => {
    // Prepare
    putEventsDouble(eventBridgeMock);
    const dlq = putRecordsDouble(kinesisMock);
    const event = loadEvent<Event>('eventbridge-valid.json');
    event.detail.tags = Array.from({ length: 20 }, () => 'x'.repeat(14_000));
    // Act
    await validateEvents(event, validatorTestDeps());
    // Assess
    expect(eventBridgeMock.commandCalls(PutEventsCommand)).toHaveLength(0);
    expect(envelopesIn(dlq, DLQ)[0]).toMatchObject({ reason: 'ENTRY_TOO_LARGE', target: 'central-local' });
    expect(
      putEventsEntrySize({ Source: 'é', DetailType: 'a', Detail: '{}', Resources: ['r'], Time: new Date() }),
    ).toBe(14 + 2 + 1 + 2 + 1);
  });

  it('retries throttled entries, and dead-letters entries PutEvents refuses for good', async () => {
    // Prepare: the first call throttles the first entry and refuses the second as malformed.
    const published = putEventsDouble(eventBridgeMock, (entry, call) => {
      const id = JSON.parse(entry.Detail as string)[TRACE_FIELD].originalId as string;
      if (id.endsWith('001') && call === 0) return 'ThrottlingException';
      if (id.endsWith('005')) return 'MalformedDetail';
      return undefined;
    });
    const dlq = putRecordsDouble(kinesisMock);
    const batch = loadEvent<Event[]>('eventbridge-batch.json');
    // Act
    await validateEvents(batch, validatorTestDeps());
    // Assess
    expect(published.map((e) => JSON.parse(e.Detail as string)[TRACE_FIELD].originalId)).toEqual([
      batch[0]?.id,
    ]);
    expect(eventBridgeMock.commandCalls(PutEventsCommand)[1]?.args[0].input.Entries).toHaveLength(1);
    expect(
      envelopesIn(dlq, DLQ)
        .map((e) => e.reason)
        .sort(),
    ).toEqual(['INVALID_EVENT', 'LOOP', 'NO_SCHEMA', 'REPUBLISH_REJECTED']);
    expect(envelopesIn(dlq, DLQ).find((e) => e.reason === 'REPUBLISH_REJECTED')?.message).toContain(
      'MalformedDetail',
    );
  });

  it('fails the invocation when republishing keeps failing, so Lambda retries it', async () => {
    // Prepare
    putEventsDouble(eventBridgeMock, () => 'InternalFailure');
    const d = validatorTestDeps();
    // Act / Assess
    await expect(validateEvents(loadEvent<Event>('eventbridge-valid.json'), d)).rejects.toThrow(
      RetryLaterError,
    );
    expect(eventBridgeMock.commandCalls(PutEventsCommand)).toHaveLength(3);
  });

  it('from SQS, hands back just the messages not yet written', async () => {
    // Prepare
    putEventsDouble(eventBridgeMock, (entry) =>
      JSON.parse(entry.Detail as string)[TRACE_FIELD].originalId.endsWith('001')
        ? 'ThrottlingException'
        : undefined,
    );
    putRecordsDouble(kinesisMock);
    const batch = loadEvent<Event[]>('eventbridge-batch.json');
    const sqs: SQSEvent = loadEvent('sqs-standard.json');
    sqs.Records = batch.map((event, i) => ({
      ...(sqs.Records[0] as SQSEvent['Records'][number]),
      messageId: `m-${i}`,
      body: JSON.stringify(event),
    }));
    // Act
    const response = await validateEvents(sqs, validatorTestDeps());
    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-0' }] });
  });

  it('sends a batch of 25 valid events in 3 PutEvents calls', async () => {
    // Prepare
    const published = putEventsDouble(eventBridgeMock);
    const valid = loadEvent<Event>('eventbridge-valid.json');
    const batch = Array.from({ length: 25 }, (_, i) => ({ ...valid, id: `id-${i}` }));
    const d = validatorTestDeps();
    // Act
    await validateEvents(batch, d);
    // Assess
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
    putEventsDouble(eventBridgeMock);
    putRecordsDouble(kinesisMock);
    const base = loadEvent<Event>('eventbridge-valid.json');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.jsonValue(), fc.object(), fc.record({ widgetId: fc.string(), price: fc.jsonValue() })),
        fc.constantFrom('NEW_WIDGET', 'WIDGET_DELETED', 'OTHER'),
        async (detail, detailType) => {
          // Prepare
          const d = validatorTestDeps();
          // Act
          await validateEvents({ ...base, 'detail-type': detailType, detail: detail as RawConfig }, d);
          // Assess
          const counts = d.metrics.published.get('handler=event-validator');
          expect((counts?.republished ?? 0) + (counts?.sentToDlq ?? 0)).toBe(1);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fails to compile a broken schema, naming the key', () => {
    // Act / Assess
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

/** A deterministic fraction in [0, 1) from the run's seed and what is being decided. */
function decide(seed: number, key: string): number {
  let h = 2166136261 ^ seed;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  h = Math.imul(h ^ (h >>> 15), 2246822507);
  h = Math.imul(h ^ (h >>> 13), 3266489909);
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}

const RUN_SEED = seedFromEnvironment(process.env);
const KINDS = ['valid', 'invalid', 'no-schema', 'loop', 'bad-envelope'] as const;
type Kind = (typeof KINDS)[number];
type Form = 'array' | 'pipes-sqs' | 'sqs';

/** One event of a generated batch, by kind, with its own id. */
function eventOf(kind: Kind, id: string): Event {
  const file = {
    valid: 'eventbridge-valid.json',
    invalid: 'eventbridge-invalid.json',
    'no-schema': 'eventbridge-no-schema.json',
    loop: 'eventbridge-loop.json',
    'bad-envelope': 'eventbridge-valid.json',
  }[kind];
  const event = { ...loadEvent<Event>(file), id };
  return kind === 'bad-envelope' ? { ...event, time: 'noon' } : event;
}

const messageIdOf = (id: string) => `m-${id}`;

/** The input one delivery gets: bare events (a Pipes array), SQS messages in a Pipes array, or an SQS batch. */
function deliveryOf(form: Form, events: Event[]): Event[] | SQSEvent | SQSRecord[] {
  if (form === 'array') return events;
  const template = loadEvent<SQSRecord[]>('eventbridge-pipes-sqs.json')[0] as SQSRecord;
  const records = events.map((event) => ({
    ...template,
    messageId: messageIdOf(event.id),
    body: JSON.stringify(event),
  }));
  return form === 'sqs' ? { Records: records } : records;
}

interface FaultPlan {
  seed: number;
  /** Per entry and per record attempt: how often PutEvents throttles, refuses for good, PutRecords fails. */
  throttle: number;
  refuse: number;
  dlqFail: number;
  callFail: number;
  /** Events PutEvents always throttles, and events whose dead letter never gets written. */
  stuck: Set<string>;
  dlqStuck: Set<string>;
}

/** The id of the event a republished entry came from. */
const originalIdOf = (entry: PutEventsRequestEntry): string =>
  JSON.parse(entry.Detail as string)[TRACE_FIELD].originalId as string;

const serverError = () =>
  Object.assign(new Error('injected 500'), {
    name: 'InternalServerError',
    $metadata: { httpStatusCode: 500 },
  });

/** PutEvents and PutRecords doubles that fail as `plan` decides; they record only what they accepted. */
function faultyServices(plan: FaultPlan) {
  const attempts = new Map<string, number>();
  const attempt = (key: string) => {
    const n = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, n);
    return n;
  };
  const failCall = (kind: string) => () =>
    decide(plan.seed, `${kind}-call:${attempt(`${kind}-call`)}`) < plan.callFail ? serverError() : undefined;
  const published = putEventsDouble(
    eventBridgeMock,
    (entry) => {
      const id = originalIdOf(entry);
      const r = decide(plan.seed, `pe:${id}:${attempt(`pe:${id}`)}`);
      if (plan.stuck.has(id) || r < plan.throttle) return 'ThrottlingException';
      return r < plan.throttle + plan.refuse ? 'MalformedDetail' : undefined;
    },
    { failCall: failCall('pe') },
  );
  const written = putRecordsDouble(
    kinesisMock,
    (entry) => {
      const id = parseDlqEnvelope(entry.data).source.id;
      const stuck =
        plan.dlqStuck.has(id) || decide(plan.seed, `pr:${id}:${attempt(`pr:${id}`)}`) < plan.dlqFail;
      return stuck ? 'ProvisionedThroughputExceededException' : undefined;
    },
    { failCall: failCall('pr') },
  );
  return {
    get republished() {
      return published.map(originalIdOf);
    },
    get deadLettered() {
      return written.map((entry) => parseDlqEnvelope(entry.data).source.id);
    },
  };
}

/** What the source hands back after a response: the named items, or all of them when the invocation threw. */
function handedBack(form: Form, events: Event[], response: SQSBatchResponse | undefined): Event[] {
  const named = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
  return events.filter((event) => named.has(form === 'array' ? event.id : messageIdOf(event.id)));
}

/** Delivers `events` as Lambda or Pipes would, again and again with exactly what comes back. */
async function deliverUntilDone(form: Form, events: Event[], deliveries: number): Promise<Event[]> {
  let pending = events;
  for (let n = 0; n < deliveries && pending.length > 0; n++) {
    try {
      pending = handedBack(
        form,
        pending,
        await validateEvents(deliveryOf(form, pending), validatorTestDeps()),
      );
    } catch (error) {
      expect(error).toBeInstanceOf(RetryLaterError); // the whole input comes back
    }
  }
  return pending;
}

const counted = (ids: string[]) => ids.filter((id, i) => ids.indexOf(id) !== i);

describe('event validator: at most one republish per event, whatever fails', () => {
  beforeEach(() => {
    eventBridgeMock.reset();
    kinesisMock.reset();
  });

  it('never republishes an event twice, never both republishes and dead-letters it, and loses none (generated)', async () => {
    const batch = fc.array(fc.constantFrom(...KINDS), { minLength: 1, maxLength: 30 });
    const rate = fc.double({ min: 0, max: 0.4, noNaN: true });
    await fc.assert(
      fc.asyncProperty(
        batch,
        fc.constantFrom<Form>('array', 'pipes-sqs', 'sqs'),
        fc.record({
          throttle: rate,
          refuse: fc.double({ min: 0, max: 0.1, noNaN: true }),
          dlqFail: rate,
          callFail: rate,
        }),
        fc.nat(),
        fc.array(fc.nat({ max: 29 }), { maxLength: 3 }),
        fc.array(fc.nat({ max: 29 }), { maxLength: 2 }),
        async (kinds, form, rates, runSeed, stuck, dlqStuck) => {
          // Prepare
          eventBridgeMock.reset();
          kinesisMock.reset();
          const events = kinds.map((kind, i) => eventOf(kind, `ev-${i}`));
          const ids = (positions: number[]) => new Set(positions.map((i) => `ev-${i}`));
          const plan = { ...rates, seed: RUN_SEED ^ runSeed, stuck: ids(stuck), dlqStuck: ids(dlqStuck) };
          const services = faultyServices(plan);
          // Act
          const remaining = (await deliverUntilDone(form, events, 6)).map((e) => e.id);
          // Assess
          expect(counted(services.republished)).toEqual([]);
          expect(counted(services.deadLettered)).toEqual([]);
          const placed = [...services.republished, ...services.deadLettered, ...remaining];
          expect(counted(placed)).toEqual([]);
          expect(placed.sort()).toEqual(events.map((e) => e.id).sort());
        },
      ),
      { numRuns: 120 },
    );
  });

  it('hands back, from a Pipes array of 100 events, only the one PutEvents keeps throttling', async () => {
    // Prepare: the issue's case, 100 events of every kind, one valid event always throttled.
    const events = Array.from({ length: 100 }, (_, i) => eventOf(KINDS[i % 5] as Kind, `ev-${i}`));
    const plan = {
      seed: RUN_SEED,
      throttle: 0,
      refuse: 0,
      dlqFail: 0,
      callFail: 0,
      stuck: new Set(['ev-0']),
      dlqStuck: new Set<string>(),
    };
    const services = faultyServices(plan);
    // Act
    const first = await validateEvents(events, validatorTestDeps());
    const second = await validateEvents(handedBack('array', events, first), validatorTestDeps());
    // Assess
    expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: 'ev-0' }] });
    expect(second).toEqual({ batchItemFailures: [{ itemIdentifier: 'ev-0' }] });
    expect(services.republished).toHaveLength(19);
    expect(services.deadLettered).toHaveLength(80);
    expect(counted([...services.republished, ...services.deadLettered])).toEqual([]);
  });

  it('never acknowledges an event whose dead letter was not written', async () => {
    // Prepare: PutRecords refuses every record.
    faultyServices({
      seed: RUN_SEED,
      throttle: 0,
      refuse: 0,
      dlqFail: 1,
      callFail: 0,
      stuck: new Set(),
      dlqStuck: new Set(),
    });
    const invalid = loadEvent<Event>('eventbridge-invalid.json');
    const records = loadEvent<SQSRecord[]>('eventbridge-pipes-sqs.json');
    // Act / Assess: one event throws, a batch names it, and the valid one is not handed back.
    await expect(validateEvents(invalid, validatorTestDeps())).rejects.toBeInstanceOf(RetryLaterError);
    expect(await validateEvents(records, validatorTestDeps())).toEqual({
      batchItemFailures: [{ itemIdentifier: records[1]?.messageId }],
    });
    expect(await validateEvents([invalid], validatorTestDeps())).toEqual({
      batchItemFailures: [{ itemIdentifier: invalid.id }],
    });
  });

  it('fails the invocation when an item that cannot be named is not written anywhere', async () => {
    // Prepare: an item with no id (nothing to hand it back by), and a DLQ that refuses it.
    faultyServices({
      seed: RUN_SEED,
      throttle: 0,
      refuse: 0,
      dlqFail: 1,
      callFail: 0,
      stuck: new Set(),
      dlqStuck: new Set(),
    });
    const nameless = { ...loadEvent<RawConfig>('eventbridge-valid.json'), id: undefined };
    // Act / Assess
    await expect(validateEvents([nameless as never], validatorTestDeps())).rejects.toBeInstanceOf(
      RetryLaterError,
    );
  });
});

/** A config whose one source republishes anything (no schemas): entry sizes are then easy to set. */
function acceptingConfig(patch: (validator: RawConfig) => void = () => {}) {
  const accepting = testConfig((raw) => {
    raw.eventValidator = {
      centralBus: { name: 'central' },
      sources: { 'cwi.servicea': { detailTypes: {}, unknownDetailType: 'accept' } },
    };
    patch(raw.eventValidator);
  });
  const validator = accepting.eventValidator as NonNullable<typeof accepting.eventValidator>;
  return { config: accepting, schemas: compileSchemas(validator, schemaFileReader()) };
}

/** The sample event padded so that its republished entry is exactly `bytes` as EventBridge counts. */
function eventOfEntrySize(bytes: number, judgeDeps: Pick<ValidatorDeps, 'config' | 'schemas'>): Event {
  const event = { ...loadEvent<Event>('eventbridge-valid.json'), detail: { pad: '' } };
  const base = judge(event, judgeDeps);
  if (base.kind !== 'republish') throw new Error('the base event must republish');
  return { ...event, detail: { pad: 'x'.repeat(bytes - putEventsEntrySize(base.entry)) } };
}

describe('event validator: PutEvents size boundary (strictly under 262,144 bytes)', () => {
  beforeEach(() => {
    eventBridgeMock.reset();
    kinesisMock.reset();
  });

  it('sizes an entry as AWS does: 14 bytes for Time, UTF-8 bytes of Source, DetailType, Detail, each Resource', () => {
    // Prepare
    const entry = { Source: 'é', DetailType: 'ab', Detail: '{"€":1}', Resources: ['r', 'ß'] };
    // Act / Assess
    expect(putEventsEntrySize(entry)).toBe(2 + 2 + 9 + 1 + 2);
    expect(putEventsEntrySize({ ...entry, Time: new Date() })).toBe(2 + 2 + 9 + 1 + 2 + 14);
    expect(putEventsEntrySize({})).toBe(0);
    expect(MAX_PUT_EVENTS_BYTES).toBe(262_143);
  });

  it('republishes an entry one byte under the limit; refuses one exactly at it and one over', () => {
    // Prepare
    const judgeDeps = acceptingConfig();
    for (const [bytes, kind] of [
      [262_143, 'republish'],
      [262_144, 'dlq'],
      [262_145, 'dlq'],
    ] as const) {
      // Act
      const verdict = judge(eventOfEntrySize(bytes, judgeDeps), judgeDeps);
      // Assess
      expect(verdict.kind, `${bytes} bytes`).toBe(kind);
      if (verdict.kind === 'republish') expect(putEventsEntrySize(verdict.entry)).toBe(bytes);
      else expect(verdict).toMatchObject({ reason: 'ENTRY_TOO_LARGE', target: 'central' });
    }
  });

  it('never sends a call of 262,144 bytes or more: two entries that sum to it go in two calls', async () => {
    // Prepare: entries of known sizes, no Time, ASCII only.
    const entryOf = (bytes: number) => ({
      EventBusName: 'central',
      Source: 's',
      DetailType: 'd',
      Detail: 'x'.repeat(bytes - 2),
    });
    const callsFor = async (sizes: number[]) => {
      eventBridgeMock.reset();
      putEventsDouble(eventBridgeMock);
      await putEvents(sizes.map(entryOf), {
        eventBridge: new EventBridgeClient({ region: 'us-east-1' }),
        sleep: noSleep,
      });
      return eventBridgeMock.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries?.length);
    };
    // Act / Assess: one under, exactly at, one over.
    expect(await callsFor([131_072, 131_071])).toEqual([2]);
    expect(await callsFor([131_072, 131_072])).toEqual([1, 1]);
    expect(await callsFor([131_072, 131_073])).toEqual([1, 1]);
    expect(await callsFor([262_143])).toEqual([1]);
    expect(await callsFor([262_144, 1_000])).toEqual([1]); // the entry at the limit is never sent
  });
});

describe('event validator: what it refuses, and why', () => {
  beforeEach(() => {
    eventBridgeMock.reset();
    kinesisMock.reset();
  });

  it('refuses any source that carries the output prefix or is an output source, not only exact names', () => {
    // Prepare: one source with a custom output source outside the prefix.
    const custom = acceptingConfig((validator) => {
      validator.sources['cwi.servicea'].outputSource = 'audited.cwi.servicea';
      validator.sources['cwi.serviceb'] = { detailTypes: {}, unknownDetailType: 'accept' };
    });
    const event = loadEvent<Event>('eventbridge-valid.json');
    const as = (source: string) => judge({ ...event, source }, custom);
    // Act / Assess
    expect(as('valid.anything.else')).toMatchObject({ kind: 'dlq', reason: 'LOOP' });
    expect(as('valid.cwi.serviceb')).toMatchObject({ kind: 'dlq', reason: 'LOOP' });
    expect(as('audited.cwi.servicea')).toMatchObject({ kind: 'dlq', reason: 'LOOP' });
    expect(as('cwi.valid.')).toMatchObject({ kind: 'dlq', reason: 'NO_ROUTE' });
    expect(as('cwi.serviceb')).toMatchObject({ kind: 'republish', entry: { Source: 'valid.cwi.serviceb' } });
    expect(as('cwi.servicea')).toMatchObject({
      kind: 'republish',
      entry: { Source: 'audited.cwi.servicea' },
    });
  });

  it('refuses an unconfigured source, prototype names included', () => {
    // Prepare
    const event = loadEvent<Event>('eventbridge-valid.json');
    // Act / Assess
    for (const source of ['cwi.unknown', '__proto__', 'constructor', 'toString']) {
      expect(judge({ ...event, source }, validatorTestDeps()), source).toMatchObject({
        kind: 'dlq',
        reason: 'NO_ROUTE',
        message: `Source ${source} is not configured`,
      });
    }
  });

  it('takes a time with a UTC offset, and republishes it as the same instant', () => {
    // Prepare
    const event = { ...loadEvent<Event>('eventbridge-valid.json'), time: '2026-11-21T11:30:00+02:00' };
    // Act
    const verdict = judge(event, validatorTestDeps());
    // Assess
    expect(verdict.kind).toBe('republish');
    expect(verdict.kind === 'republish' && verdict.entry.Time?.toISOString()).toBe(
      '2026-11-21T09:30:00.000Z',
    );
  });

  it('dead-letters an unknown detail-type under ignore too, when one reaches it', () => {
    // Prepare
    const ignoring = testConfig((raw) => {
      raw.eventValidator = {
        centralBus: { name: 'central' },
        sources: { 'cwi.servicea': { detailTypes: {}, unknownDetailType: 'ignore' } },
      };
    });
    // Act
    const verdict = judge(loadEvent('eventbridge-no-schema.json'), {
      config: ignoring,
      schemas: compileSchemas(ignoring.eventValidator as never, schemaFileReader()),
    });
    // Assess
    expect(verdict).toMatchObject({
      kind: 'dlq',
      reason: 'NO_SCHEMA',
      message: 'No schema for cwi.servicea / WIDGET_RENAMED',
    });
  });

  it('fails with a ConfigError, not a TypeError, when the validator is not configured', () => {
    // Prepare
    const bare = testConfig();
    // Act / Assess
    expect(() => judge(loadEvent('eventbridge-valid.json'), { config: bare, schemas: schemas })).toThrow(
      ConfigError,
    );
  });

  it('reads a Pipes array of SQS messages: republishes, dead-letters with the message id, hands back nothing', async () => {
    // Prepare
    const published = putEventsDouble(eventBridgeMock);
    const dlq = putRecordsDouble(kinesisMock);
    const records = loadEvent<SQSRecord[]>('eventbridge-pipes-sqs.json');
    const d = validatorTestDeps();
    // Act
    const response = await validateEvents(records, d);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(published.map((e) => JSON.parse(e.Detail as string)[TRACE_FIELD].originalId)).toEqual([
      JSON.parse(records[0]?.body as string).id,
    ]);
    expect(envelopesIn(dlq, DLQ)).toHaveLength(1);
    expect(envelopesIn(dlq, DLQ)[0]).toMatchObject({
      reason: 'INVALID_EVENT',
      source: {
        type: 'eventbridge',
        arn: 'arn:aws:events:us-east-1:123456789012:event-bus/central-local',
        id: JSON.parse(records[1]?.body as string).id,
        messageId: records[1]?.messageId,
        eventSource: 'cwi.servicea',
        detailType: 'NEW_WIDGET',
        account: '555555555555',
        time: '2026-11-21T09:30:00Z',
      },
      payload: { encoding: 'utf8', data: records[1]?.body },
    });
    expect(d.metrics.published.get('handler=event-validator')).toEqual({
      received: 2,
      republished: 1,
      sentToDlq: 1,
      retryLater: 0,
    });
  });

  it('keeps a message body that is not JSON, byte for byte, in its dead letter', async () => {
    // Prepare
    putEventsDouble(eventBridgeMock);
    const dlq = putRecordsDouble(kinesisMock);
    const [record] = loadEvent<SQSRecord[]>('eventbridge-pipes-sqs.json');
    const body = '{"id": "broken", ';
    // Act
    const response = await validateEvents(
      { Records: [{ ...(record as SQSRecord), body }] },
      validatorTestDeps(),
    );
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(envelopesIn(dlq, DLQ)[0]).toMatchObject({
      reason: 'INVALID_ENVELOPE',
      source: { id: record?.messageId, messageId: record?.messageId },
      payload: { data: body },
    });
  });

  it('makes no call at all for an empty batch, and answers it with no failures', async () => {
    // Prepare
    putEventsDouble(eventBridgeMock);
    putRecordsDouble(kinesisMock);
    // Act / Assess
    expect(await validateEvents([], validatorTestDeps())).toEqual({ batchItemFailures: [] });
    expect(eventBridgeMock.commandCalls(PutEventsCommand)).toHaveLength(0);
    expect(kinesisMock.commandCalls(PutRecordsCommand)).toHaveLength(0);
  });
});

describe('event validator, logs through the real Powertools Logger', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('carries each dead letter reason, and never a key the Logger reserves', async () => {
    // Prepare: a real Logger that emits (the suite silences Powertools), its output captured.
    const { logger, output: emitted } = realLogger('event-validator');
    putEventsDouble(eventBridgeMock);
    putRecordsDouble(kinesisMock);
    const invalid = loadEvent<Event>('eventbridge-invalid.json');
    // Act
    await validateEvents([invalid, loadEvent<Event>('eventbridge-no-schema.json')], {
      ...validatorTestDeps(),
      logger,
    });
    vi.restoreAllMocks();
    // Assess
    const lines = emitted
      .join('')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const deadLetters = lines.filter((line) => line.message === 'Event sent to the DLQ stream');
    expect(deadLetters.map((line) => line.reason)).toEqual(['INVALID_EVENT', 'NO_SCHEMA']);
    expect(deadLetters[0]).toMatchObject({
      level: 'WARN',
      eventId: invalid.id,
      why: '6 validation error(s)',
    });
    expect(deadLetters[0]?.validationErrors).toContainEqual({
      path: '/detail/price/amount',
      message: 'must be >= 0',
    });
    expect(deadLetters[1]?.why).toBe('No schema for cwi.servicea / WIDGET_RENAMED');
    expect(lines.filter((line) => /reserved key/.test(line.message))).toEqual([]);
    expect(lines.find((line) => line.message === 'Events validated')).toMatchObject({
      received: 2,
      sentToDlq: 2,
      dlqByReason: { INVALID_EVENT: 1, NO_SCHEMA: 1 },
    });
  });
});

describe('event validator: envelopes, traces and answers in detail', () => {
  beforeEach(() => {
    eventBridgeMock.reset();
    kinesisMock.reset();
  });

  it('checks each envelope field against EventBridge limits, naming the field', () => {
    // Prepare
    const event = loadEvent<RawConfig>('eventbridge-valid.json');
    const pathsOf = (patch: RawConfig) => {
      const verdict = judge({ ...event, ...patch }, validatorTestDeps());
      return verdict.kind === 'dlq' && verdict.reason === 'INVALID_ENVELOPE'
        ? verdict.errors?.map((e) => e.path)
        : [];
    };
    // Act / Assess
    expect(pathsOf({ id: '' })).toEqual(['/id']);
    expect(pathsOf({ 'detail-type': '' })).toEqual(['/detail-type']);
    expect(pathsOf({ 'detail-type': 'x'.repeat(257) })).toEqual(['/detail-type']);
    expect(pathsOf({ source: '' })).toEqual(['/source']);
    expect(pathsOf({ source: 'x'.repeat(257) })).toEqual(['/source']);
    expect(pathsOf({ account: 5 })).toEqual(['/account']);
    expect(pathsOf({ region: 5 })).toEqual(['/region']);
    expect(pathsOf({ resources: [1] })).toEqual(['/resources/0']);
    expect(pathsOf({ detail: [] })).toEqual(['/detail']);
    expect(pathsOf({ detail: 'text' })).toEqual(['/detail']);
    expect(pathsOf({ time: '2026-11-21' })).toEqual(['/time']);
    expect(
      judge({ ...event, 'detail-type': 'NEW_WIDGET', source: 'x'.repeat(256) }, validatorTestDeps()),
    ).toMatchObject({
      reason: 'NO_ROUTE',
    });
  });

  it('traces what it knows of the original, and adds nothing it does not know', () => {
    // Prepare: no account, no resources, no trace header; a source that accepts unknown detail-types.
    const accepting = acceptingConfig();
    const { account: _, resources: __, ...bare } = loadEvent<Event>('eventbridge-no-schema.json');
    // Act
    const verdict = judge(bare, accepting);
    // Assess
    expect(verdict.kind).toBe('republish');
    if (verdict.kind !== 'republish') return;
    expect(verdict.entry.Resources).toEqual([]);
    expect(verdict.entry).not.toHaveProperty('TraceHeader');
    expect(JSON.parse(verdict.entry.Detail as string)[TRACE_FIELD]).toEqual({
      originalId: bare.id,
      originalSource: 'cwi.servicea',
      schema: null,
    });
  });

  it('dead-letters an item it cannot read at all under the id "unknown", with its text', async () => {
    // Prepare
    putEventsDouble(eventBridgeMock);
    const dlq = putRecordsDouble(kinesisMock);
    // Act
    const response = await validateEvents(
      [42 as never, { source: 'cwi.servicea' } as never],
      validatorTestDeps(),
    );
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(envelopesIn(dlq, DLQ).map((e) => [e.reason, e.source.id, e.payload.data])).toEqual([
      ['INVALID_ENVELOPE', 'unknown', '42'],
      ['INVALID_ENVELOPE', 'unknown', '{"source":"cwi.servicea"}'],
    ]);
    expect(envelopesIn(dlq, DLQ)[1]?.source.eventSource).toBe('cwi.servicea');
  });

  it('names what it hands back once each, in input order, and says so at ERROR with the counts', async () => {
    // Prepare: PutEvents throttles everything, PutRecords refuses everything.
    faultyServices({
      seed: RUN_SEED,
      throttle: 1,
      refuse: 0,
      dlqFail: 1,
      callFail: 0,
      stuck: new Set(),
      dlqStuck: new Set(),
    });
    const valid = loadEvent<Event>('eventbridge-valid.json');
    const invalid = loadEvent<Event>('eventbridge-invalid.json');
    const d = validatorTestDeps();
    // Act: a dead letter first, then a republish, then the same event delivered twice.
    const response = await validateEvents([invalid, valid, { ...valid }], d);
    // Assess
    expect(response).toEqual({
      batchItemFailures: [{ itemIdentifier: invalid.id }, { itemIdentifier: valid.id }],
    });
    expect(d.metrics.published.get('handler=event-validator')).toEqual({
      received: 3,
      republished: 0,
      sentToDlq: 0,
      retryLater: 3,
    });
    expect(d.logger.lines.filter((l) => l.level === 'error').map((l) => l.extra[0])).toEqual([
      { received: 3, republished: 0, sentToDlq: 0, retryLater: 3, dlqByReason: {} },
    ]);
    expect(d.logger.lines.filter((l) => l.level === 'warn').map((l) => l.extra[0]?.eventId)).toEqual([
      invalid.id,
      valid.id,
      valid.id,
    ]);
  });

  it('dead-letters what PutEvents refuses for good with the bus it was headed for', async () => {
    // Prepare
    putEventsDouble(eventBridgeMock, () => 'AccessDeniedException');
    const dlq = putRecordsDouble(kinesisMock);
    const d = validatorTestDeps();
    // Act / Assess
    expect(await validateEvents([loadEvent<Event>('eventbridge-valid.json')], d)).toEqual({
      batchItemFailures: [],
    });
    expect(envelopesIn(dlq, DLQ)[0]).toMatchObject({ reason: 'REPUBLISH_REJECTED', target: 'central-local' });
    expect(envelopesIn(dlq, DLQ)[0]?.message).toMatch(
      /^PutEvents refused the entry \(AccessDeniedException: /,
    );
    expect(eventBridgeMock.commandCalls(PutEventsCommand)).toHaveLength(1); // never retried
    expect(d.metrics.published.get('handler=event-validator')).toMatchObject({ sentToDlq: 1, retryLater: 0 });
  });

  it('retries an entry PutEvents answered nothing for, and one per bus per call', async () => {
    // Prepare: the first call answers without Entries; later calls accept.
    let call = 0;
    const buses: (string | undefined)[][] = [];
    eventBridgeMock.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => {
      buses.push((input.Entries ?? []).map((e) => e.EventBusName));
      call++;
      if (call === 1) return { FailedEntryCount: 0 };
      return {
        FailedEntryCount: 0,
        Entries: (input.Entries ?? []).map((_, i) => ({ EventId: `e-${call}-${i}` })),
      };
    });
    const entry = { Source: 's', DetailType: 'd', Detail: '{}' };
    // Act
    const result = await putEvents(
      [
        { ...entry, EventBusName: 'a' },
        { ...entry },
        { ...entry, EventBusName: 'a' },
        { ...entry, EventBusName: 'default' },
      ],
      {
        eventBridge: new EventBridgeClient({ region: 'us-east-1' }),
        sleep: noSleep,
      },
    );
    // Assess
    expect(result.outcomes.map((o) => o.status)).toEqual(['written', 'written', 'written', 'written']);
    // One call per bus; no bus name is the bus named `default`.
    expect(buses.slice(0, 2).sort()).toEqual(
      [
        ['a', 'a'],
        [undefined, 'default'],
      ].sort(),
    );
    expect(buses).toHaveLength(3); // only the first call is sent again: it had no results
    expect(result.outcomes[0]).toMatchObject({ recordId: expect.stringMatching(/^e-/) });
  });
});
