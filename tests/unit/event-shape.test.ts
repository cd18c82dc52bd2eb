/**
 * Wrong input, clear error: each handler's check either accepts the event kind its handler
 * takes or throws an EventShapeError that names what it expected and what it got, over
 * generated events of every kind (and random JSON); never a TypeError. Records with missing
 * fields inside the right kind of event reach the core and end in the DLQ, not in a crash.
 */
import { EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseDlqEnvelope } from '../../shared/core/dlq.js';
import { EventShapeError, PipelineError } from '../../shared/core/errors.js';
import {
  describeEvent,
  expectFirehoseEvent,
  expectSqsEvent,
  expectTumblingWindowEvent,
  expectValidatorInput,
  FIREHOSE_EXPECTED,
  MISSING,
  SQS_EXPECTED,
  VALIDATOR_EXPECTED,
  WINDOW_EXPECTED,
} from '../../shared/core/event-shape.js';
import { noMetrics, silentLogger } from '../../shared/core/observability.js';
import { compileSchemas, schemaFileReader } from '../../shared/event-validator/event-schemas.js';
import { validateEvents } from '../../shared/event-validator/event-validator.js';
import {
  aggregateWindow,
  prepareAggregator,
  type TumblingWindowEvent,
} from '../../shared/kinesis-aggregator/kinesis-aggregator.js';
import { prepareMapper, processSqsBatch } from '../../shared/sqs-to-kinesis/sqs-to-kinesis.js';
import { fixedNow, noSleep } from '../helpers/doubles.js';
import { ACCEPTED, anyEvent, type EventLabel } from '../helpers/events.js';
import { loadEvent, localConfig } from '../helpers/fixtures.js';
import { type PutEntry, putEventsDouble, putRecordsDouble } from '../helpers/service-doubles.js';

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);
const recordsOf = (v: unknown): unknown[] | undefined =>
  isDict(v) && Array.isArray(v.Records) ? (v.Records as unknown[]) : undefined;
const allFrom = (v: unknown, source: string) =>
  (recordsOf(v) ?? [null]).every((r) => isDict(r) && r.eventSource === source);

/** Each handler's check, what it must accept, and an independent test that an accepted event is of its kind. */
const CHECKS = [
  {
    handler: 'sqs-to-kinesis',
    check: expectSqsEvent,
    expected: SQS_EXPECTED,
    accepts: ACCEPTED['sqs-to-kinesis'],
    isOfItsKind: (e: unknown) => recordsOf(e)?.length === 0 || allFrom(e, 'aws:sqs'),
  },
  {
    handler: 'firehose-transform',
    check: expectFirehoseEvent,
    expected: FIREHOSE_EXPECTED,
    accepts: ACCEPTED['firehose-transform'],
    isOfItsKind: (e: unknown) =>
      isDict(e) &&
      typeof e.invocationId === 'string' &&
      Array.isArray(e.records) &&
      e.records.every((r) => isDict(r) && typeof r.recordId === 'string' && typeof r.data === 'string'),
  },
  {
    handler: 'kinesis-aggregator',
    check: expectTumblingWindowEvent,
    expected: WINDOW_EXPECTED,
    accepts: ACCEPTED['kinesis-aggregator'],
    isOfItsKind: (e: unknown) =>
      isDict(e) &&
      isDict(e.window) &&
      typeof e.window.start === 'string' &&
      typeof e.window.end === 'string' &&
      (recordsOf(e)?.length === 0 || allFrom(e, 'aws:kinesis')),
  },
  {
    handler: 'event-validator',
    check: expectValidatorInput,
    expected: VALIDATOR_EXPECTED,
    accepts: ACCEPTED['event-validator'],
    // An array, an SQS batch, or an object with no Records list (a malformed EventBridge event at worst).
    isOfItsKind: (e: unknown) =>
      Array.isArray(e) ||
      (isDict(e) && (recordsOf(e) === undefined || recordsOf(e)?.length === 0 || allFrom(e, 'aws:sqs'))),
  },
] as const;

describe.each(CHECKS)('the $handler event check', ({ check, expected, accepts, isOfItsKind }) => {
  it('accepts its own kind and refuses every other with an EventShapeError naming both, never a TypeError', () => {
    fc.assert(
      fc.property(anyEvent, ({ label, got, event }) => {
        // Prepare
        const before = structuredClone(event);
        let accepted: unknown;
        let error: unknown;
        // Act
        try {
          accepted = check(event);
        } catch (caught) {
          error = caught;
        }
        // Assess
        expect(event).toEqual(before); // the check never edits its input
        if ((accepts as readonly EventLabel[]).includes(label)) expect(error).toBeUndefined();
        else if (label !== 'random') expect(error).toBeInstanceOf(EventShapeError);
        if (error !== undefined) {
          expect(error).toBeInstanceOf(EventShapeError);
          expect((error as Error).name).toBe('EventShapeError');
          expect((error as Error).message.startsWith(`expected ${expected}, got `)).toBe(true);
          if (got !== undefined) expect((error as Error).message).toContain(`got ${got}`);
        } else {
          expect(isOfItsKind(accepted)).toBe(true);
          expect(recordsOf(accepted)?.length).toBe(recordsOf(event)?.length);
        }
      }),
    );
  });
});

describe('describeEvent', () => {
  it('names the kind of every generated event in a short phrase, and never throws', () => {
    fc.assert(
      fc.property(anyEvent, ({ got, event }) => {
        // Act
        const { description } = describeEvent(event);
        // Assess
        expect(description.length).toBeLessThan(300); // quoted keys and sources are cut
        if (got !== undefined) expect(description.startsWith(got) || got.startsWith(description)).toBe(true);
      }),
    );
  });

  it('quotes at most 40 characters of a producer string and lists at most 5 keys', () => {
    // Prepare
    const long = 'x'.repeat(41);
    // Act / Assess
    expect(describeEvent({ Records: [{ eventSource: long }] }).description).toBe(
      `an event whose Records[].eventSource is "${'x'.repeat(40)}..."`,
    );
    expect(describeEvent({ Records: [{ eventSource: 'y'.repeat(40) }] }).description).toContain(
      `"${'y'.repeat(40)}"`,
    );
    expect(describeEvent({ a: 1, b: 2, c: 3, d: 4, e: 5 }).description).toBe(
      'an object with keys "a", "b", "c", "d", "e"',
    );
    expect(describeEvent({ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 }).description).toBe(
      'an object with keys "a", "b", "c", "d", "e", ...',
    );
    expect(describeEvent({ Records: [{}] }).description).toBe('an event whose Records carry no eventSource');
  });

  it('reads only own properties: an inherited Records or detail-type does not make an event', () => {
    // Prepare
    const inherited = Object.create({ Records: [{ eventSource: 'aws:sqs' }], 'detail-type': 'x' }) as Dict;
    inherited.z = 1;
    // Act / Assess
    expect(describeEvent(inherited).kind).toBe('object');
  });

  it('tells a window with non-string bounds from a tumbling window', () => {
    // Prepare
    const event = loadEvent<Dict>('kinesis-window-plain.json');
    // Act / Assess
    for (const window of [
      null,
      { start: 1, end: '2026' },
      { start: '2026' },
      { end: '2026', start: '2026' },
    ]) {
      event.window = window;
      expect(describeEvent(event).windowed).toBe(window?.start === '2026' && window.end === '2026');
    }
  });

  it('takes the source of a windowed event with no records from its eventSourceARN', () => {
    // Prepare
    const arn = (service: string) => `arn:aws:${service}:us-east-1:123456789012:x`;
    const empty = (eventSourceARN: unknown) => ({
      Records: [],
      window: { start: 'a', end: 'b' },
      eventSourceARN,
    });
    // Act / Assess
    expect(() => expectTumblingWindowEvent(empty(arn('kinesis')))).not.toThrow();
    expect(() => expectTumblingWindowEvent(empty(undefined))).not.toThrow();
    expect(() => expectTumblingWindowEvent(empty(arn('dynamodb')))).toThrow(
      'got a DynamoDB stream event with a tumbling window and an empty Records list',
    );
    expect(() => expectTumblingWindowEvent(empty(arn('sqs')))).toThrow(
      'got an SQS event with a tumbling window and an empty Records list',
    );
    expect(() => expectTumblingWindowEvent(empty('not-an-arn'))).not.toThrow();
    expect(() => expectSqsEvent({ Records: [], eventSourceARN: arn('sqs') })).not.toThrow();
    expect(() => expectSqsEvent({ Records: [], eventSourceARN: arn('kinesis') })).toThrow(EventShapeError);
    expect(() => expectSqsEvent(empty(arn('sqs')))).toThrow(EventShapeError);
  });
});

describe('the example of the issue', () => {
  it('an EventBridge event given to the mapper', () => {
    // Act / Assess
    expect(() => expectSqsEvent(loadEvent('eventbridge-valid.json'))).toThrow(
      new EventShapeError(
        'expected an SQS event (Records[].eventSource = aws:sqs), got an EventBridge event',
      ),
    );
  });

  it('an SQS event given to the aggregator, and a Kinesis event without a window', () => {
    // Act
    const error = (() => {
      try {
        expectTumblingWindowEvent(loadEvent('sqs-standard.json'));
      } catch (caught) {
        return caught;
      }
    })();
    // Assess
    expect(error).toBeInstanceOf(PipelineError);
    expect((error as Error).message).toBe(`expected ${WINDOW_EXPECTED}, got an SQS event`);
    // Prepare
    const { window: _, ...noWindow } = loadEvent<Dict>('kinesis-window-plain.json');
    // Act / Assess
    expect(() => expectTumblingWindowEvent(noWindow)).toThrow(`got a Kinesis stream event`);
  });

  it('a Firehose event with no invocationId', () => {
    // Prepare
    const { invocationId: _, ...event } = loadEvent<Dict>('firehose-ses.json');
    // Act / Assess
    expect(() => expectFirehoseEvent(event)).toThrow(
      'got a Firehose transformation event with no invocationId',
    );
    const notObject = { ...loadEvent<Dict>('firehose-ses.json'), records: [null] };
    expect(() => expectFirehoseEvent(notObject)).toThrow('whose records[0] is not an object');
    const noData = loadEvent<{ records: Dict[] }>('firehose-ses.json');
    delete noData.records[1]?.data;
    expect(() => expectFirehoseEvent(noData)).toThrow('whose records[1] has no base64 data');
    delete noData.records[0]?.recordId;
    expect(() => expectFirehoseEvent(noData)).toThrow('whose records[0] has no recordId');
  });
});

describe('records with missing fields inside the right kind of event', () => {
  const kinesisMock = mockClient(KinesisClient);
  const eventBridgeMock = mockClient(EventBridgeClient);
  const config = localConfig();
  const common = {
    logger: silentLogger,
    metrics: noMetrics,
    now: fixedNow,
    sleep: noSleep,
    remainingTimeMs: () => 60_000,
  };
  let writes: PutEntry[] = [];
  let published: PutEventsRequestEntry[] = [];

  beforeEach(() => {
    kinesisMock.reset();
    eventBridgeMock.reset();
    writes = putRecordsDouble(kinesisMock);
    published = putEventsDouble(eventBridgeMock);
  });

  const only = (labels: EventLabel[]) => anyEvent.filter((e) => labels.includes(e.label));

  it('the mapper writes or dead-letters every SQS record, whatever field it lacks', async () => {
    await fc.assert(
      fc.asyncProperty(only(['sqs', 'sqs-record-gaps']), async ({ event }) => {
        writes.length = 0;
        // Act
        const response = await processSqsBatch(expectSqsEvent(event), {
          ...prepareMapper(config),
          kinesis: new KinesisClient({}),
          ...common,
        });
        // Assess: one write per record (target or DLQ), every partition key valid, nothing handed back.
        expect(response.batchItemFailures).toEqual([]);
        expect(writes).toHaveLength((event as SQSEvent).Records.length);
        for (const w of writes) expect(w.partitionKey.length).toBeGreaterThan(0);
      }),
      { numRuns: 20 },
    );
  });

  it('fills only what is missing, and keeps a non-string body as its JSON text', () => {
    // Prepare
    const event = loadEvent<Dict>('sqs-standard.json');
    const [record] = event.Records as Dict[];
    // Act / Assess
    const untouched = expectSqsEvent(event);
    expect(untouched).toBe(event); // nothing missing: the same event
    (record as Dict).body = { user: { id: 'u-1' } };
    delete (record as Dict).eventSourceARN;
    const filled = expectSqsEvent(event).Records[0];
    expect(filled?.body).toBe('{"user":{"id":"u-1"}}');
    expect(filled?.eventSourceARN).toBe(MISSING);
    expect(filled?.messageId).toBe((record as Dict).messageId);
    (record as Dict).body = 10n;
    expect(expectSqsEvent(event).Records[0]?.body).toBe('');
    (record as Dict).body = null;
    expect(expectSqsEvent(event).Records[0]?.body).toBe('');
  });

  it('fills only what a Kinesis record is missing, in a copy, keeping the records that lack nothing', () => {
    // Prepare: a window of records, each a fresh copy of the sample's first.
    const sample = loadEvent<Dict>('kinesis-window-plain.json');
    const good = (sample.Records as Dict[])[0] as Dict;
    const windowOf = (edit: (record: Dict, kinesis: Dict) => void): Dict => {
      const [first, second] = [structuredClone(good), structuredClone(good)];
      edit(first, first.kinesis as Dict);
      return { ...sample, Records: [first, second] };
    };
    const fields = (record: Dict | undefined) => {
      const kinesis = (record?.kinesis ?? {}) as Dict;
      return [record?.eventSourceARN, kinesis.data, kinesis.sequenceNumber, kinesis.partitionKey];
    };
    const expected = fields(good);
    // Act / Assess: nothing missing gives back the same event.
    expect(expectTumblingWindowEvent(sample)).toBe(sample);
    // Each field missing, or not a string, alone: only that one is filled.
    const cases: [string, (record: Dict, kinesis: Dict) => void, number, unknown][] = [
      ['eventSourceARN', (r) => delete r.eventSourceARN, 0, MISSING],
      ['data', (_, k) => delete k.data, 1, ''],
      ['sequenceNumber', (_, k) => (k.sequenceNumber = 7), 2, MISSING],
      ['partitionKey', (_, k) => delete k.partitionKey, 3, MISSING],
    ];
    for (const [name, edit, at, filler] of cases) {
      const event = windowOf(edit);
      const before = structuredClone(event);
      const [first, second] = expectTumblingWindowEvent(event).Records as unknown as Dict[];
      expect(fields(first), name).toEqual(expected.map((value, k) => (k === at ? filler : value)));
      expect(((first as Dict).kinesis as Dict).approximateArrivalTimestamp, name).toBe(
        (good.kinesis as Dict).approximateArrivalTimestamp,
      );
      expect(second, name).toBe((event.Records as Dict[])[1]); // the complete record, as it was
      expect(event, name).toEqual(before); // the input is never edited
    }
    // A record with no kinesis object at all gets every field.
    const bare = expectTumblingWindowEvent(windowOf((r) => delete r.kinesis)).Records[0] as unknown as Dict;
    expect(fields(bare)).toEqual([good.eventSourceARN, '', MISSING, MISSING]);
  });

  it('refuses a windowed event whose records are not Kinesis records, or carry no eventSource', () => {
    // Prepare
    const window = { start: '2026-11-21T09:00:00Z', end: '2026-11-21T09:01:00Z' };
    const dynamo = {
      Records: [{ eventSource: 'aws:dynamodb', dynamodb: {} }],
      window,
      state: {},
      shardId: 's',
    };
    // Act / Assess
    expect(() => expectTumblingWindowEvent(dynamo)).toThrow(EventShapeError);
    const unnamed = { Records: [{ kinesis: { data: '' } }], window, state: {}, shardId: 's' };
    expect(() => expectTumblingWindowEvent(unnamed)).toThrow(EventShapeError);
    const kinesis = { ...unnamed, Records: [{ eventSource: 'aws:kinesis', kinesis: { data: '' } }] };
    expect(() => expectTumblingWindowEvent(kinesis)).not.toThrow();
  });

  it('the aggregator folds or dead-letters every Kinesis record, whatever field it lacks', async () => {
    await fc.assert(
      fc.asyncProperty(
        only(['kinesis-window', 'kinesis-window-record-gaps', 'kinesis-window-empty']),
        async ({ event }) => {
          writes.length = 0;
          const window = {
            ...(structuredClone(event) as TumblingWindowEvent),
            isFinalInvokeForWindow: false,
          };
          // Act
          const response = await aggregateWindow(expectTumblingWindowEvent(window), {
            ...prepareAggregator(config),
            kinesis: new KinesisClient({}),
            ...common,
          });
          // Assess: nothing handed back, every dead letter keyed and carrying a valid envelope.
          expect(response.batchItemFailures).toEqual([]);
          expect(response.state).toBeDefined();
          for (const w of writes) {
            expect(w.stream).toBe(config.dlq.stream);
            expect(w.partitionKey.length).toBeGreaterThan(0);
            expect(parseDlqEnvelope(w.data).reason).toBeTypeOf('string');
          }
        },
      ),
      { numRuns: 20 },
    );
  });

  it('the validator republishes or dead-letters each event it is given, malformed ones included', async () => {
    const validator = config.eventValidator as NonNullable<typeof config.eventValidator>;
    const schemas = compileSchemas(validator, schemaFileReader());
    await fc.assert(
      fc.asyncProperty(
        only([
          'eventbridge',
          'eventbridge-malformed',
          'pipes-array',
          'sqs',
          'sqs-record-gaps',
          'empty-object',
        ]),
        async ({ event }) => {
          writes.length = 0;
          published.length = 0;
          const items = Array.isArray(event) ? event.length : (recordsOf(event)?.length ?? 1);
          // Act
          await validateEvents(expectValidatorInput(event), {
            config,
            schemas,
            eventBridge: new EventBridgeClient({}),
            kinesis: new KinesisClient({}),
            busArn: 'arn:aws:events:us-east-1:123456789012:event-bus/central-local',
            traceHeader: () => undefined,
            ...common,
          });
          // Assess: each item ends in exactly one place.
          expect(published.length + writes.length).toBe(items);
        },
      ),
      { numRuns: 20 },
    );
  });
});
