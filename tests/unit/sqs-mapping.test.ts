import type { SQSRecord } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MappingError, NoRouteError, OversizeRecordError } from '../../shared/core/errors.js';
import { entrySize } from '../../shared/core/kinesis-writer.js';
import { compileRouter, mapSqsRecord } from '../../shared/sqs-to-kinesis/sqs-mapping.js';
import { loadEvent, localConfig, queueArn, testConfig } from '../helpers/fixtures.js';

const router = compileRouter(localConfig());
const decode = (data: Uint8Array | string) => JSON.parse(Buffer.from(data).toString('utf8'));

/** The reason a record is refused with (fails the test when it maps). */
function reasonOf(record: SQSRecord, using = router): string {
  try {
    mapSqsRecord(record, using);
  } catch (error) {
    expect(error).toBeInstanceOf(MappingError);
    return (error as MappingError).reason;
  }
  throw new Error('expected a MappingError');
}

describe('sqs mapping', () => {
  it('routes a page visit by queue, keys it by user id and reshapes the body', () => {
    // Prepare
    const [first, , numericId] = loadEvent('sqs-standard.json').Records as SQSRecord[];
    // Act
    const mapped = mapSqsRecord(first as SQSRecord, router);
    // Assess
    expect(mapped.stream).toBe('page-visits-local');
    expect(mapped.partitionKey).toBe('u-1842');
    expect(decode(mapped.data)).toEqual({
      page: '/pricing',
      userId: 'u-1842',
      referrer: 'https://www.example.org/',
      at: '2026-11-21T08:15:02Z',
      _queue: 'arn:aws:sqs:us-east-1:123456789012:page-visits-local',
      _messageId: first?.messageId,
      _sentAt: '2026-11-21T08:33:20.000Z',
    });
    // Fields not kept (email, sessionId) are gone; a number key is written as text.
    expect(mapSqsRecord(numericId as SQSRecord, router).partitionKey).toBe('42');
  });

  it('keys FIFO messages by their message group and adds the group to the body', () => {
    // Prepare
    const records = loadEvent('sqs-fifo.json').Records;
    // Act
    const mapped = records.map((record) => mapSqsRecord(record, router));
    // Assess
    expect(mapped.map((m) => m.partitionKey)).toEqual([
      'customer-17',
      'customer-4',
      'customer-17',
      'customer-17',
    ]);
    expect(decode(mapped[0]?.data ?? '')).toMatchObject({ orderId: 'o-1001', _group: 'customer-17' });
    expect(mapped.every((m) => m.stream === 'orders-local')).toBe(true);
  });

  it('routes each message of a mixed batch by its own queue, keeping unchanged bodies byte for byte', () => {
    // Prepare
    const records = loadEvent('sqs-multi-queue.json').Records;
    // Act
    const mapped = records.map((record) => mapSqsRecord(record, router));
    // Assess
    expect(mapped.map((m) => m.stream)).toEqual([
      'page-visits-local',
      'clicks-local',
      'orders-local',
      'clicks-local',
    ]);
    expect(mapped.map((m) => m.partitionKey)).toEqual(['u-5', 'acme', 'customer-9', 'globex']);
    expect(mapped[1]?.data).toBe(records[1]?.body);
  });

  it('refuses malformed messages with a reason for each', () => {
    // Prepare
    const records = loadEvent('sqs-malformed.json').Records;
    // Act / Assess
    expect(records.slice(0, 5).map((record) => reasonOf(record))).toEqual([
      'BODY_NOT_JSON',
      'BODY_NOT_OBJECT',
      'PARTITION_KEY_MISSING',
      'PARTITION_KEY_INVALID',
      'PARTITION_KEY_MISSING',
    ]);
    expect(mapSqsRecord(records[5] as SQSRecord, router).partitionKey).toBe('u-ok');
  });

  it('refuses a message from a queue with no route', () => {
    // Prepare
    const [unrouted, routed] = loadEvent('sqs-no-route.json').Records as SQSRecord[];
    // Act / Assess
    expect(() => mapSqsRecord(unrouted as SQSRecord, router)).toThrow(NoRouteError);
    expect(reasonOf(unrouted as SQSRecord)).toBe('NO_ROUTE');
    expect(mapSqsRecord(routed as SQSRecord, router).stream).toBe('page-visits-local');
  });

  it('accepts partition keys of exactly 256 characters, multi-byte ones included, and refuses 257', () => {
    // Prepare
    const using = compileRouter(testConfig());
    const record = (id: string) => {
      const r = loadEvent('sqs-standard.json').Records[0] as SQSRecord;
      r.eventSourceARN = queueArn('events');
      r.body = JSON.stringify({ user: { id } });
      return r;
    };
    // Act / Assess
    expect(mapSqsRecord(record('é'.repeat(256)), using).partitionKey).toHaveLength(256);
    expect(reasonOf(record('a'.repeat(257)), using)).toBe('PARTITION_KEY_INVALID');
    expect(reasonOf(record(''), using)).toBe('PARTITION_KEY_INVALID');
  });

  it('refuses a record over its stream max size, counting the partition key', () => {
    // Prepare
    const using = compileRouter(testConfig());
    const record = loadEvent('sqs-standard.json').Records[0] as SQSRecord;
    record.eventSourceARN = queueArn('events');
    const id = 'k';
    const filler = 1024 * 1024 - JSON.stringify({ user: { id }, pad: '' }).length - id.length;
    record.body = JSON.stringify({ user: { id }, pad: 'x'.repeat(filler) });
    // Act / Assess
    expect(entrySize(mapSqsRecord(record, using))).toBe(1024 * 1024);
    record.body = JSON.stringify({ user: { id }, pad: 'x'.repeat(filler + 1) });
    const error = (() => {
      try {
        mapSqsRecord(record, using);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(OversizeRecordError);
    expect(error).toMatchObject({ reason: 'RECORD_TOO_LARGE', size: 1024 * 1024 + 1, limit: 1024 * 1024 });
  });

  it('renames without keep by moving the value, dropping objects it leaves empty', () => {
    // Prepare
    const using = compileRouter(
      testConfig((raw) => {
        raw.sqsToKinesis.routes[0].body = {
          format: 'json',
          rename: { 'user.id': 'userId', 'meta.v': 'version' },
        };
      }),
    );
    const record = loadEvent('sqs-standard.json').Records[0] as SQSRecord;
    record.eventSourceARN = queueArn('events');
    record.body = JSON.stringify({ user: { id: 'u1', name: 'Ana' }, meta: { v: 2 }, a: 1 });
    // Act / Assess
    expect(decode(mapSqsRecord(record, using).data)).toEqual({
      user: { name: 'Ana' },
      a: 1,
      userId: 'u1',
      version: 2,
    });
  });

  it('follows only own properties on a body path', () => {
    // Prepare
    const using = compileRouter(
      testConfig((raw) => {
        raw.sqsToKinesis.routes[0].partitionKey = { from: 'body', path: 'constructor.name' };
      }),
    );
    const record = loadEvent('sqs-standard.json').Records[0] as SQSRecord;
    record.eventSourceARN = queueArn('events');
    record.body = '{"a":1}';
    // Act / Assess
    expect(reasonOf(record, using)).toBe('PARTITION_KEY_MISSING');
    record.body = '{"constructor":{"name":"mine"}}';
    expect(mapSqsRecord(record, using).partitionKey).toBe('mine');
  });
});

describe('sqs mapping, property-based', () => {
  const template = loadEvent('sqs-standard.json').Records[0] as SQSRecord;
  const arns = [...(localConfig().sqsToKinesis?.routes ?? []).map((r) => r.queueArn), queueArn('unknown')];
  const jsonish = fc.oneof(
    fc.string(),
    fc.json(),
    fc.jsonValue().map((value) => JSON.stringify(value)),
    fc
      .record({
        user: fc.oneof(
          fc.record({
            id: fc.oneof(fc.string({ maxLength: 300 }), fc.integer(), fc.constant(null), fc.object()),
          }),
          fc.jsonValue(),
        ),
        __proto__: fc.jsonValue(),
        constructor: fc.jsonValue(),
        page: fc.string(),
      })
      .map((value) => JSON.stringify(value)),
  );

  it('either maps a random body or refuses it with a typed MappingError, never anything else', () => {
    fc.assert(
      fc.property(
        jsonish,
        fc.constantFrom(...arns),
        fc.option(fc.string({ maxLength: 300 })),
        fc.option(fc.string({ maxLength: 300 })),
        (body, arn, tenant, group) => {
          // Prepare
          const record = structuredClone(template);
          record.body = body;
          record.eventSourceARN = arn;
          if (tenant !== null) {
            record.messageAttributes = {
              tenant: { dataType: 'String', stringValue: tenant, stringListValues: [], binaryListValues: [] },
            };
          }
          if (group !== null) record.attributes.MessageGroupId = group;
          // Act / Assess
          try {
            const mapped = mapSqsRecord(record, router);
            expect(mapped.partitionKey.length).toBeGreaterThanOrEqual(1);
            expect(mapped.partitionKey.length).toBeLessThanOrEqual(256);
            expect(typeof mapped.data).toBe('string');
          } catch (error) {
            if (!(error instanceof MappingError)) throw error;
          }
        },
      ),
      { numRuns: 3000 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('sqs mapping: the JSON text a reshaping route writes', () => {
  const route = testConfig((raw) => {
    raw.sqsToKinesis.routes[0].partitionKey = { from: 'attribute', name: 'key' };
    raw.sqsToKinesis.routes[0].body = {
      format: 'json',
      keep: ['page', 'user.id', 'note'],
      rename: { 'user.id': 'userId' },
      addMetadata: {
        queueArn: '_queue',
        messageId: '_messageId',
        sentTimestamp: '_sentAt',
        approximateReceiveCount: '_receives',
      },
    };
  });
  const router = compileRouter(route);
  const template = loadEvent('sqs-standard.json').Records[0] as SQSRecord;
  // Text with and without what JSON escapes: quotes, backslashes, control and lone surrogates.
  const text = fc.string({
    unit: fc.oneof(
      { weight: 8, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
      fc.constantFrom('"', '\\', '\n', '\u0000', '\ud800', '\u2028'),
    ),
    maxLength: 80,
  });
  const member = fc.oneof(text, fc.jsonValue(), fc.constant(undefined));

  it('is JSON.stringify of the reshaped object, whatever the body and the metadata hold', () => {
    let escapeFree = 0;
    fc.assert(
      fc.property(
        fc.record({
          page: member,
          user: fc.oneof(fc.record({ id: member }), fc.jsonValue()),
          note: member,
          pad: member,
        }),
        fc.oneof(text, fc.uuid()),
        fc.oneof(text, fc.integer({ min: 1, max: 99 }).map(String)),
        fc.option(fc.integer({ min: 0, max: 4_102_444_800_000 })),
        (body, messageId, receives, sent) => {
          // Prepare
          const record = structuredClone(template);
          record.eventSourceARN = queueArn('events');
          record.body = JSON.stringify(body);
          record.messageId = messageId;
          record.messageAttributes = {
            key: { dataType: 'String', stringValue: 'k', stringListValues: [], binaryListValues: [] },
          };
          record.attributes.ApproximateReceiveCount = receives;
          record.attributes.SentTimestamp = sent === null ? 'not a time' : String(sent);
          if (!record.body.includes('\\')) escapeFree++;
          const user = body.user as { id?: unknown } | null;
          const expected = {
            page: body.page,
            userId: typeof user === 'object' && user !== null && !Array.isArray(user) ? user.id : undefined,
            note: body.note,
            _queue: record.eventSourceARN,
            _messageId: messageId,
            _sentAt: sent === null ? null : new Date(sent).toISOString(),
            _receives: Number(receives),
          };
          // Act
          const mapped = mapSqsRecord(record, router);
          // Assess: the very text JSON.stringify gives, key order included.
          expect(mapped.data).toBe(JSON.stringify(expected));
        },
      ),
      { numRuns: 1500 },
    );
    expect(escapeFree).toBeGreaterThan(100);
  });
  it('escapes what the config brings: new names with a quote, a backslash, a tab', () => {
    // Prepare
    const quoting = compileRouter(
      testConfig((raw) => {
        raw.sqsToKinesis.routes[0].body = {
          format: 'json',
          keep: ['user.id', 'page'],
          rename: { 'user.id': 'say "id"', page: 'back\\slash' },
          addMetadata: { messageId: 'tab\there' },
        };
      }),
    );
    const record = structuredClone(template);
    record.eventSourceARN = queueArn('events');
    record.body = '{"user":{"id":"u-1"},"page":"/home"}';
    // Act
    const mapped = mapSqsRecord(record, quoting);
    // Assess
    expect(mapped.data).toBe(
      JSON.stringify({ 'say "id"': 'u-1', 'back\\slash': '/home', 'tab\there': record.messageId }),
    );
  });
});

describe('sqs mapping: what a refusal says', () => {
  const using = compileRouter(testConfig());
  /** A message on the test route whose body is `body` (text as is, anything else as JSON). */
  const onTestRoute = (body: unknown) => {
    const record = loadEvent('sqs-standard.json').Records[0] as SQSRecord;
    record.eventSourceARN = queueArn('events');
    record.body = typeof body === 'string' ? body : JSON.stringify(body);
    return record;
  };
  const refusal = (record: SQSRecord, router = using) => {
    try {
      mapSqsRecord(record, router);
    } catch (error) {
      expect(error).toBeInstanceOf(MappingError);
      return { reason: (error as MappingError).reason, message: (error as MappingError).message };
    }
    throw new Error('expected a MappingError');
  };

  it('names the kind of JSON a body is when it is not an object', () => {
    // Prepare / Act / Assess: each kind of JSON value, as the DLQ envelope will say it.
    const cases: [string, string][] = [
      ['null', 'null'],
      ['[1]', 'an array'],
      ['5', 'a number'],
      ['"text"', 'a string'],
      ['true', 'a boolean'],
    ];
    for (const [body, kind] of cases) {
      expect(refusal(onTestRoute(body))).toEqual({
        reason: 'BODY_NOT_OBJECT',
        message: `Body is JSON but ${kind}, not an object`,
      });
    }
    expect(refusal(onTestRoute('{')).message).toMatch(/^Body is not valid JSON: ./);
  });

  it('says where a partition key was looked for, and what it was when it is not usable', () => {
    // Act / Assess
    expect(refusal(onTestRoute({ user: { id: null } }))).toEqual({
      reason: 'PARTITION_KEY_MISSING',
      message: 'Partition key at body path "user.id" is missing',
    });
    expect(refusal(onTestRoute({ user: {} })).reason).toBe('PARTITION_KEY_MISSING');
    expect(refusal(onTestRoute({ user: { id: { a: 1 } } }))).toEqual({
      reason: 'PARTITION_KEY_INVALID',
      message: 'Partition key at body path "user.id" is an object; it must be a string or number',
    });
    expect(refusal(onTestRoute({ user: { id: ['u'] } })).message).toBe(
      'Partition key at body path "user.id" is an array; it must be a string or number',
    );
    expect(refusal(onTestRoute('{"user":{"id":"a\\ud800"}}'))).toEqual({
      reason: 'PARTITION_KEY_INVALID',
      message: 'Partition key holds a lone surrogate: it is not valid Unicode',
    });
    expect(refusal(onTestRoute({ user: { id: 'k'.repeat(257) } })).message).toBe(
      'Partition key has 257 characters; Kinesis takes 1-256',
    );
  });

  it('says which message attribute or group id is missing', () => {
    // Prepare
    const [, click] = loadEvent('sqs-multi-queue.json').Records as SQSRecord[];
    (click as SQSRecord).messageAttributes = {};
    // Act / Assess
    expect(refusal(click as SQSRecord, router)).toEqual({
      reason: 'PARTITION_KEY_MISSING',
      message: 'Partition key message attribute "tenant" is missing',
    });
    const [order] = loadEvent('sqs-fifo.json').Records as SQSRecord[];
    delete (order as SQSRecord).attributes.MessageGroupId;
    expect(refusal(order as SQSRecord, router)).toEqual({
      reason: 'PARTITION_KEY_MISSING',
      message: 'Partition key MessageGroupId is missing',
    });
  });

  it('keys a message by its messageId, and writes a raw body as received (none: empty)', () => {
    // Prepare: a raw route keyed by messageId
    const raw = compileRouter(
      testConfig((config) => {
        config.sqsToKinesis.routes[0].partitionKey = { from: 'messageId' };
        config.sqsToKinesis.routes[0].body = { format: 'raw' };
      }),
    );
    const record = onTestRoute('not json, and that is fine');
    // Act / Assess
    expect(mapSqsRecord(record, raw)).toMatchObject({ partitionKey: record.messageId, data: record.body });
    delete (record as Partial<SQSRecord>).body;
    expect(mapSqsRecord(record, raw).data).toBe('');
    record.messageId = 'm'.repeat(257);
    expect(refusal(record, raw).reason).toBe('PARTITION_KEY_INVALID');
    // A JSON route with no body at all: not JSON.
    delete (record as Partial<SQSRecord>).body;
    expect(refusal(record).reason).toBe('BODY_NOT_JSON');
  });

  it('maps a key of any JSON type exactly when it is usable text, a number or a boolean', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.string({ unit: 'binary', maxLength: 300 }), // lone surrogates included
          fc.string({ minLength: 250, maxLength: 260 }), // around the limit
        ),
        (id) => {
          // Prepare
          const record = onTestRoute({ user: { id } });
          const text = typeof id === 'string' ? id : String(id);
          const usable =
            (typeof id === 'string' && id.length >= 1 && id.length <= 256 && id.isWellFormed()) ||
            typeof id === 'number' ||
            typeof id === 'boolean';
          // Act
          let key: string | undefined;
          let reason: string | undefined;
          try {
            key = mapSqsRecord(record, using).partitionKey;
          } catch (error) {
            if (!(error instanceof MappingError)) throw error;
            reason = error.reason;
          }
          // Assess
          if (usable) expect(key).toBe(text);
          else expect(reason).toBe(id === null ? 'PARTITION_KEY_MISSING' : 'PARTITION_KEY_INVALID');
        },
      ),
    );
  });
});
