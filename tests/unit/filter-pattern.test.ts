/**
 * Lambda event filtering for SQS routes: each operator against AWS's documented examples
 * (Lambda's event filtering and EventBridge's comparison operators pages), the checks
 * check-config makes, and the route's filter in the mapper (filter.where: function).
 */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { checkConfig } from '../../shared/core/config/load.js';
import { compileSqsFilter, filterPatternIssues } from '../../shared/core/filter-pattern.js';
import { processSqsBatch } from '../../shared/sqs-to-kinesis/sqs-to-kinesis.js';
import { loadEvent, localConfig, type RawConfig, rawTestConfig } from '../helpers/fixtures.js';
import { envelopesIn, putRecordsDouble } from '../helpers/service-doubles.js';
import { mapperTestDeps } from '../helpers/test-deps.js';

/** An SQS record with `body` (JSON when an object) and message attributes. */
function message(body: unknown, messageAttributes: Record<string, string> = {}): SQSRecord {
  const attributes = Object.fromEntries(
    Object.entries(messageAttributes).map(([k, v]) => [
      k,
      { stringValue: v, dataType: 'String', stringListValues: [], binaryListValues: [] },
    ]),
  );
  return {
    messageId: 'm',
    receiptHandle: 'r',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1',
      SenderId: 's',
      ApproximateFirstReceiveTimestamp: '1',
    },
    messageAttributes: attributes,
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:q',
    awsRegion: 'us-east-1',
  } as SQSRecord;
}

const keeps = (pattern: Record<string, unknown>, body: unknown) => compileSqsFilter([pattern])(message(body));

describe('filter patterns, operator by operator (AWS documented examples)', () => {
  it('matches exact values, null and the empty string', () => {
    // The Lambda guide's SQS example: RequestCode BBBB.
    expect(keeps({ body: { RequestCode: ['BBBB'] } }, { RecordNumber: 1234, RequestCode: 'BBBB' })).toBe(
      true,
    );
    expect(keeps({ body: { RequestCode: ['BBBB'] } }, { RecordNumber: 1234, RequestCode: 'AAAA' })).toBe(
      false,
    );
    expect(keeps({ body: { UserID: [null] } }, { UserID: null })).toBe(true);
    expect(keeps({ body: { UserID: [null] } }, {})).toBe(false);
    expect(keeps({ body: { LastName: [''] } }, { LastName: '' })).toBe(true);
    expect(keeps({ body: { Count: [5] } }, { Count: '5' })).toBe(false);
  });

  it('matches prefix, suffix, equals-ignore-case and wildcard on strings only', () => {
    expect(keeps({ body: { Region: [{ prefix: 'us-' }] } }, { Region: 'us-east-1' })).toBe(true);
    expect(keeps({ body: { Region: [{ prefix: 'us-' }] } }, { Region: 'eu-west-1' })).toBe(false);
    expect(keeps({ body: { FileName: [{ suffix: '.png' }] } }, { FileName: 'cat.png' })).toBe(true);
    expect(keeps({ body: { FileName: [{ suffix: '.png' }] } }, { FileName: 'cat.jpg' })).toBe(false);
    expect(keeps({ body: { Name: [{ 'equals-ignore-case': 'alice' }] } }, { Name: 'ALICE' })).toBe(true);
    expect(keeps({ body: { Name: [{ 'equals-ignore-case': 'alice' }] } }, { Name: 'alicia' })).toBe(false);
    expect(
      keeps(
        { body: { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] } },
        {
          EventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/orders',
        },
      ),
    ).toBe(true);
    expect(keeps({ body: { FilePath: [{ wildcard: '*/lib/*.js' }] } }, { FilePath: 'src/lib/a.ts' })).toBe(
      false,
    );
    expect(keeps({ body: { Code: [{ prefix: '1' }] } }, { Code: 123 })).toBe(false);
  });

  it('matches anything-but values, lists, prefixes and suffixes, never on a missing field', () => {
    expect(keeps({ body: { state: [{ 'anything-but': 'initializing' }] } }, { state: 'running' })).toBe(true);
    expect(keeps({ body: { state: [{ 'anything-but': 'initializing' }] } }, { state: 'initializing' })).toBe(
      false,
    );
    expect(
      keeps({ body: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } }, { state: 'stopped' }),
    ).toBe(false);
    expect(keeps({ body: { x: [{ 'anything-but': [0, 1] }] } }, { x: 2 })).toBe(true);
    expect(
      keeps({ body: { Region: [{ 'anything-but': { prefix: 'us-' } }] } }, { Region: 'eu-west-1' }),
    ).toBe(true);
    expect(
      keeps({ body: { Region: [{ 'anything-but': { prefix: 'us-' } }] } }, { Region: 'us-east-1' }),
    ).toBe(false);
    expect(
      keeps({ body: { FileName: [{ 'anything-but': { suffix: '.png' } }] } }, { FileName: 'a.png' }),
    ).toBe(false);
    expect(keeps({ body: { state: [{ 'anything-but': 'x' }] } }, {})).toBe(false);
  });

  it('matches numeric comparisons and ranges on numbers only', () => {
    const range = { body: { Price: [{ numeric: ['>', 10, '<=', 20] }] } };
    expect([5, 10, 10.5, 20, 21].map((Price) => keeps(range, { Price }))).toEqual([
      false,
      false,
      true,
      true,
      false,
    ]);
    expect(keeps(range, { Price: '15' })).toBe(false);
    expect(keeps({ body: { Total: [{ numeric: ['=', 100] }] } }, { Total: 100 })).toBe(true);
    expect(keeps({ body: { Total: [{ numeric: ['>=', 100] }] } }, { Total: 99.9 })).toBe(false);
    expect(keeps({ body: { Total: [{ numeric: ['<', 0] }] } }, { Total: -1 })).toBe(true);
  });

  it('matches exists and does-not-exist', () => {
    expect(keeps({ body: { ProductName: [{ exists: true }] } }, { ProductName: 'x' })).toBe(true);
    expect(keeps({ body: { ProductName: [{ exists: true }] } }, {})).toBe(false);
    expect(keeps({ body: { ProductName: [{ exists: false }] } }, {})).toBe(true);
    expect(keeps({ body: { ProductName: [{ exists: false }] } }, { ProductName: null })).toBe(false);
  });

  it('ands fields, ors the conditions of one field, the elements of an array value, $or and patterns', () => {
    const and = { body: { Location: ['New York'], Day: ['Monday'] } };
    expect(keeps(and, { Location: 'New York', Day: 'Monday' })).toBe(true);
    expect(keeps(and, { Location: 'New York', Day: 'Tuesday' })).toBe(false);
    expect(keeps({ body: { Color: ['red', { prefix: 'bl' }] } }, { Color: 'blue' })).toBe(true);
    expect(keeps({ body: { Tags: ['b'] } }, { Tags: ['a', 'b'] })).toBe(true);
    const or = { $or: [{ body: { Location: ['New York'] } }, { body: { Day: ['Monday'] } }] };
    expect(keeps(or, { Location: 'Boston', Day: 'Monday' })).toBe(true);
    expect(keeps(or, { Location: 'Boston', Day: 'Friday' })).toBe(false);
    const two = compileSqsFilter([{ body: { a: [1] } }, { body: { b: [2] } }]);
    expect([two(message({ a: 1 })), two(message({ b: 2 })), two(message({ c: 3 }))]).toEqual([
      true,
      true,
      false,
    ]);
    expect(keeps({ body: { user: { id: [{ prefix: 'u-' }] } } }, { user: { id: 'u-1' } })).toBe(true);
    expect(keeps({ body: { user: { id: [{ prefix: 'u-' }] } } }, { user: 'u-1' })).toBe(false);
  });

  it('reads a body that is not JSON as a plain string: only a plain-string pattern can match it', () => {
    expect(keeps({ body: ['hello'] }, 'hello')).toBe(true);
    expect(keeps({ body: { greeting: ['hello'] } }, 'hello')).toBe(false);
    expect(keeps({ body: ['hello'] }, { greeting: 'hello' })).toBe(false);
  });

  it('reads message attributes as Lambda shapes them (filtering in the function)', () => {
    const filter = compileSqsFilter([
      { messageAttributes: { tenant: { stringValue: [{ prefix: 'gold-' }] } } },
    ]);
    expect(filter(message({}, { tenant: 'gold-7' }))).toBe(true);
    expect(filter(message({}, { tenant: 'free-7' }))).toBe(false);
  });

  it('keeps a message when any pattern keeps it, and $or is the same as listing the patterns', () => {
    const scalar = fc.oneof(
      fc.constantFrom('a', 'b', 'us-1', ''),
      fc.integer({ min: -5, max: 5 }),
      fc.constant(null),
    );
    const condition = fc.oneof(
      scalar,
      fc.record({ prefix: fc.constantFrom('a', 'us-') }),
      fc.record({ numeric: fc.constantFrom(['>', 0], ['<=', 2], ['>', -3, '<', 3]) }),
      fc.record({ exists: fc.boolean() }),
      fc.record({ 'anything-but': fc.constantFrom('a', ['b', 'us-1']) }),
    );
    const pattern = fc
      .dictionary(fc.constantFrom('x', 'y'), fc.array(condition, { minLength: 1, maxLength: 3 }), {
        minKeys: 1,
      })
      .map((fields) => ({ body: fields }));
    const body = fc.dictionary(
      fc.constantFrom('x', 'y', 'z'),
      fc.oneof(scalar, fc.array(scalar, { maxLength: 3 })),
    );
    fc.assert(
      fc.property(pattern, pattern, body, (a, b, value) => {
        const record = message(value);
        const either = compileSqsFilter([a])(record) || compileSqsFilter([b])(record);
        expect(compileSqsFilter([a, b])(record)).toBe(either);
        expect(compileSqsFilter([{ $or: [a, b] }])(record)).toBe(either);
      }),
      { numRuns: 300 },
    );
  });
});

describe('filter patterns AWS would refuse', () => {
  const issues = (filter: RawConfig) => {
    try {
      checkConfig(
        rawTestConfig((raw) => (raw.sqsToKinesis.routes[0].filter = filter)),
        { stage: 'test', params: {} },
      );
      return [];
    } catch (error) {
      return (error as { issues: string[] }).issues;
    }
  };
  const at = 'sqsToKinesis.routes[0].filter.patterns';

  it.each([
    [{ body: { a: [{ numerc: [1] }] } }, `${at}[0].body.a[0]: unknown operator "numerc"`],
    [{ body: { a: [{ numeric: ['>', '5'] }] } }, `${at}[0].body.a[0].numeric: compares numbers, got "5"`],
    [{ body: { a: [{ numeric: ['>>', 5] }] } }, `${at}[0].body.a[0].numeric: ">>" is not < <= = > >=`],
    [
      { body: { a: [{ numeric: ['<', 5, '>', 1] }] } },
      `${at}[0].body.a[0].numeric: a range is a lower bound`,
    ],
    [{ body: { a: [{ prefix: 1 }] } }, `${at}[0].body.a[0].prefix: takes a string`],
    [{ body: { a: [{ exists: 'yes' }] } }, `${at}[0].body.a[0].exists: takes true or false`],
    [
      { body: { a: [{ wildcard: 'a**b' }] } },
      `${at}[0].body.a[0].wildcard: takes a string without consecutive *`,
    ],
    [
      { body: { a: [{ 'anything-but': { wildcard: 'x' } }] } },
      `${at}[0].body.a[0].anything-but: takes values, or one prefix or suffix string`,
    ],
    [{ body: { a: [] } }, `${at}[0].body.a: an empty list matches nothing`],
    [{ body: { a: 'x' } }, `${at}[0].body.a: must be a list of values or conditions, or an object of fields`],
    [
      { body: { a: [{ prefix: 'x', suffix: 'y' }] } },
      `${at}[0].body.a[0]: a condition has exactly one operator, got 2`,
    ],
    [{ $or: [{ body: { a: [1] } }] }, `${at}[0].$or: takes a list of at least two patterns`],
    [{ messageAttributes: { a: [1] } }, `${at}[0].messageAttributes: can filter only on body here`],
  ])('refuses %j, naming the key', (pattern, issue) => {
    // Act / Assess
    expect(issues({ patterns: [pattern] })).toEqual([expect.stringContaining(issue)]);
  });

  it('refuses more patterns than Lambda takes, and takes attributes in the function', () => {
    // Act / Assess
    const six = Array.from({ length: 6 }, (_, i) => ({ body: { n: [i] } }));
    expect(issues({ patterns: six })).toEqual([
      `${at}: at most 5 patterns per event source (Lambda's limit), got 6`,
    ]);
    expect(
      issues({ patterns: [{ messageAttributes: { a: { stringValue: ['x'] } } }], where: 'function' }),
    ).toEqual([]);
    expect(issues({ patterns: [{ body: { a: [{ numeric: ['>', 1, '<=', 2] }] } }] })).toEqual([]);
  });

  it('warns that filtering body fields at the source drops a body that is not JSON', () => {
    // Act
    const { warnings } = checkConfig(
      rawTestConfig((raw) => (raw.sqsToKinesis.routes[0].filter = { patterns: [{ body: { a: [1] } }] })),
      { stage: 'test', params: {} },
    );
    // Assess
    expect(warnings).toEqual([
      expect.stringMatching(
        /^sqsToKinesis\.routes\[0\]\.filter\.where: at the source, Lambda deletes a message whose body is not JSON/,
      ),
    ]);
  });
});

describe('a route filtering in the function', () => {
  const kinesisMock = mockClient(KinesisClient);
  beforeEach(() => kinesisMock.reset());

  it('acknowledges what it does not keep, counts it as filtered, and still sends a body that is not JSON to the DLQ', async () => {
    // Prepare: the sample config's page-visits route keeps visits that are not from a bot.
    const written = putRecordsDouble(kinesisMock);
    const event = loadEvent<SQSEvent>('sqs-filtered.json');
    const d = mapperTestDeps(localConfig());
    // Act
    const response = await processSqsBatch(event, d);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const targets = written.filter((w) => w.stream === 'page-visits-local');
    expect(targets.map((w) => JSON.parse(w.data.toString()).userId).sort()).toEqual(['u-1', 'u-2']);
    expect(envelopesIn(written, 'pipeline-dlq-local').map((e) => [e.source.id, e.reason])).toEqual([
      ['visit-bad-json', 'BODY_NOT_JSON'],
    ]);
    expect(d.metrics.published.get('route=page-visits')).toEqual({
      received: 4,
      written: 2,
      sentToDlq: 1,
      handedBack: 0,
      retried: 0,
      filtered: 1,
    });
  });
});

describe('filter pattern checks, one by one', () => {
  const check = (pattern: unknown, fields = ['body']) => filterPatternIssues([pattern], 'p', fields);

  it.each([
    [{ body: { a: [{ prefix: 'x' }] } }, []],
    [{ body: { a: [{ suffix: 2 }] } }, ['p[0].body.a[0].suffix: takes a string']],
    [
      { body: { a: [{ 'equals-ignore-case': true }] } },
      ['p[0].body.a[0].equals-ignore-case: takes a string'],
    ],
    [{ body: { a: [{ wildcard: 3 }] } }, ['p[0].body.a[0].wildcard: takes a string without consecutive *']],
    [{ body: { a: [{ wildcard: 'a*b*c' }] } }, []],
    [{ body: { a: [{ 'anything-but': { prefix: 'x' } }] } }, []],
    [{ body: { a: [{ 'anything-but': { suffix: 'x' } }] } }, []],
    [
      { body: { a: [{ 'anything-but': { prefix: 1 } }] } },
      ['p[0].body.a[0].anything-but: takes values, or one prefix or suffix string'],
    ],
    [
      { body: { a: [{ 'anything-but': { prefix: 'x', suffix: 'y' } }] } },
      ['p[0].body.a[0].anything-but: takes values, or one prefix or suffix string'],
    ],
    [{ body: { a: [{ 'anything-but': [] }] } }, ['p[0].body.a[0].anything-but: takes strings or numbers']],
    [
      { body: { a: [{ 'anything-but': [true] }] } },
      ['p[0].body.a[0].anything-but: takes strings or numbers'],
    ],
    [{ body: { a: [{ 'anything-but': ['x', 1] }] } }, []],
    [{ body: { a: [{ 'anything-but': 7 }] } }, []],
    [
      { body: { a: [{ numeric: ['>', 1, '<'] }] } },
      ['p[0].body.a[0].numeric: takes [op, number] or [op, number, op, number]'],
    ],
    [
      { body: { a: [{ numeric: '>1' }] } },
      ['p[0].body.a[0].numeric: takes [op, number] or [op, number, op, number]'],
    ],
    [{ body: { a: [{ numeric: ['>=', 1, '<=', 1] }] } }, []],
    [
      { body: { a: [{ numeric: ['>', 2, '<', 1] }] } },
      ['p[0].body.a[0].numeric: a range is a lower bound (> or >=) then a higher upper bound (< or <=)'],
    ],
    [
      { body: { a: [{ numeric: ['>', 1, '>', 2] }] } },
      ['p[0].body.a[0].numeric: a range is a lower bound (> or >=) then a higher upper bound (< or <=)'],
    ],
    [
      { body: { a: [{ numeric: ['=', 'x', '<', 2] }] } },
      ['p[0].body.a[0].numeric: compares numbers, got "x"'],
    ],
    [{ body: { a: [[1]] } }, ['p[0].body.a[0]: a list inside a list is not a condition']],
    [{ body: {} }, ['p[0].body: an empty pattern matches nothing useful']],
    [{ $or: [{ body: { a: [1] } }, 'x'] }, ['p[0].$or: takes a list of at least two patterns']],
    [{ $or: { body: { a: [1] } } }, ['p[0].$or: takes a list of at least two patterns']],
    [
      { $or: [{ body: { a: [1] } }, { body: { b: [] } }] },
      ['p[0].$or[1].body.b: an empty list matches nothing'],
    ],
    ['text', ['p[0]: must be an object']],
  ])('%j', (pattern, issues) => {
    // Act / Assess
    expect(check(pattern)).toEqual(issues);
  });

  it('counts patterns and their length against Lambda limits, exactly at the limits', () => {
    // Prepare
    const five = Array.from({ length: 5 }, (_, i) => ({ body: { n: [i] } }));
    const long = (length: number) => ({ body: { a: ['x'.repeat(length - '{"body":{"a":[""]}}'.length)] } });
    // Act / Assess
    expect(filterPatternIssues(five, 'p', ['body'])).toEqual([]);
    expect(filterPatternIssues([...five, five[0]], 'p', ['body'])).toEqual([
      "p: at most 5 patterns per event source (Lambda's limit), got 6",
    ]);
    expect(JSON.stringify(long(4096)).length).toBe(4096);
    expect(filterPatternIssues([long(4096)], 'p', ['body'])).toEqual([]);
    expect(filterPatternIssues([long(4097)], 'p', ['body'])).toEqual([
      "p[0]: longer than 4096 characters (Lambda's limit)",
    ]);
    expect(check({ attributes: { a: ['x'] } }, ['body', 'attributes'])).toEqual([]);
    expect(check({ attributes: { a: ['x'] } })).toEqual(['p[0].attributes: can filter only on body here']);
  });

  it('compares numbers at their bounds', () => {
    // Act / Assess
    const at = (ops: (string | number)[], values: number[]) =>
      values.map((n) => keeps({ body: { n: [{ numeric: ops }] } }, { n }));
    expect(at(['<', 5], [4, 5, 6])).toEqual([true, false, false]);
    expect(at(['<=', 5], [4, 5, 6])).toEqual([true, true, false]);
    expect(at(['=', 5], [4, 5, 6])).toEqual([false, true, false]);
    expect(at(['>', 5], [4, 5, 6])).toEqual([false, false, true]);
    expect(at(['>=', 5], [4, 5, 6])).toEqual([false, true, true]);
    expect(at(['>=', 1, '<', 3], [0, 1, 2, 3])).toEqual([false, true, true, false]);
  });

  it('reads a field only of an object, and only its own', () => {
    // Act / Assess
    expect(keeps({ body: { toString: [{ exists: true }] } }, {})).toBe(false);
    expect(keeps({ body: { a: { b: [1] } } }, { a: [{ b: 1 }] })).toBe(false);
    expect(keeps({ body: { a: [{ exists: false }] } }, { a: [] })).toBe(true);
    expect(keeps({ body: { a: [1] } }, { a: [] })).toBe(false);
  });
});

describe('the mapper and each kind of route filter', () => {
  const kinesisMock = mockClient(KinesisClient);
  beforeEach(() => kinesisMock.reset());
  const queue = 'arn:aws:sqs:us-east-1:123456789012:events';
  const config = (filter: RawConfig, format: 'json' | 'raw' = 'json') =>
    checkConfig(
      rawTestConfig((raw) => {
        raw.sqsToKinesis.routes[0].filter = filter;
        raw.sqsToKinesis.routes[0].partitionKey = { from: 'messageId' };
        raw.sqsToKinesis.routes[0].body = { format };
      }),
      { stage: 'test', params: {} },
    ).config;
  const event = (...bodies: string[]): SQSEvent => ({
    Records: bodies.map((body, i) => ({ ...message(body), messageId: `m-${i}`, eventSourceARN: queue })),
  });
  const run = async (filter: RawConfig, bodies: string[], format: 'json' | 'raw' = 'json') => {
    const written = putRecordsDouble(kinesisMock);
    const d = mapperTestDeps(config(filter, format));
    const response = await processSqsBatch(event(...bodies), d);
    return {
      response,
      written: written.filter((w) => w.stream === 'events-test').map((w) => w.data.toString()),
      dead: envelopesIn(written, 'dlq-test').map((e) => `${e.source.id}:${e.reason}`),
      counts: d.metrics.published.get('route=events'),
      log: d.logger.lines,
    };
  };

  it('sends a json route any body that is not a JSON object to the DLQ, never to filtered', async () => {
    // Act
    const out = await run({ patterns: [{ body: { keep: [true] } }], where: 'function' }, [
      '[1]',
      '"text"',
      'null',
      '{"keep":false}',
      '{"keep":true}',
    ]);
    // Assess
    expect(out.response).toEqual({ batchItemFailures: [] });
    expect(out.dead).toEqual(['m-0:BODY_NOT_OBJECT', 'm-1:BODY_NOT_OBJECT', 'm-2:BODY_NOT_OBJECT']);
    expect(out.written).toEqual(['{"keep":true}']);
    expect(out.counts).toMatchObject({ received: 5, written: 1, sentToDlq: 3, filtered: 1 });
    // The batch's log line counts the filtered ones apart from the written ones.
    expect(out.log).toEqual([
      {
        level: 'info',
        message: 'Batch processed',
        extra: [
          {
            received: 5,
            written: 1,
            filtered: 1,
            sentToDlq: { BODY_NOT_OBJECT: 3 },
            dlqMessageIds: ['m-0', 'm-1', 'm-2'],
            handedBack: 0,
            // One PutRecords to the target stream, one to the DLQ stream.
            requests: 2,
            retriedEntries: 0,
          },
        ],
      },
    ]);
  });

  it('applies AWS semantics on a raw route: a plain-string pattern keeps a plain body', async () => {
    // Act
    const out = await run(
      { patterns: [{ body: ['ping'] }], where: 'function' },
      ['ping', 'pong', '{"a":1}'],
      'raw',
    );
    // Assess
    expect(out.written).toEqual(['ping']);
    expect(out.dead).toEqual([]);
    expect(out.counts).toMatchObject({ received: 3, written: 1, filtered: 2 });
  });

  it('does not filter again in the function what the event source filters', async () => {
    // Act: at the source, Lambda has already dropped what does not match; the function writes all it gets.
    const out = await run({ patterns: [{ body: { keep: [true] } }] }, ['{"keep":false}', '{"keep":true}']);
    // Assess
    expect(out.written).toEqual(['{"keep":false}', '{"keep":true}']);
    expect(out.counts).not.toHaveProperty('filtered');
    expect(out.log[0]?.extra[0]).not.toHaveProperty('filtered');
    expect(out.log[0]?.extra[0]).not.toHaveProperty('dlqMessageIds');
  });
});
