import {
  FirehoseClient,
  PutRecordBatchCommand,
  type PutRecordBatchCommandInput,
} from '@aws-sdk/client-firehose';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { FirehoseTransformationEvent, FirehoseTransformationResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FirehoseTransformConfig } from '../../shared/core/config/schema.js';
import { ConfigError, ResponseTooLargeError } from '../../shared/core/errors.js';
import {
  compileTransform,
  decodeBase64Strict,
  failedRecordData,
  keyedHasher,
  MAX_RESPONSE_BYTES,
  type RecordTransform,
  responseEntryBytes,
  transformBatch,
} from '../../shared/firehose-transform/firehose-transform.js';
import { realLogger } from '../helpers/captured-output.js';
import { loadEvent, localConfig, type RawConfig, testConfig } from '../helpers/fixtures.js';
import { putRecordsDouble } from '../helpers/service-doubles.js';
import { TEST_HASH_KEY, transformTestDeps } from '../helpers/test-deps.js';

type Json = RawConfig;
const KEY = TEST_HASH_KEY;
const settings = localConfig().firehoseTransform as FirehoseTransformConfig;
const firehoseMock = mockClient(FirehoseClient);
const kinesisMock = mockClient(KinesisClient);

const decode = (data: string) => Buffer.from(data, 'base64').toString('utf8');
const encode = (value: unknown) => Buffer.from(`${JSON.stringify(value)}\n`).toString('base64');
const fhEvent = (name: string) => loadEvent<FirehoseTransformationEvent>(name);

/** A transform config in JSON mode, edited by `patch`. */
function jsonMode(patch: (raw: Json) => void = () => {}): FirehoseTransformConfig {
  return testConfig((raw) => {
    raw.firehoseTransform = { mode: 'json', deliveryStream: { name: 'events' } };
    patch(raw.firehoseTransform);
  }).firehoseTransform as FirehoseTransformConfig;
}

describe('firehose transform, per record', () => {
  it('normalises every SES sample, drops the filtered type, hashes addresses and adds partition keys', () => {
    // Prepare
    const event = fhEvent('firehose-ses.json');
    const transform = compileTransform(settings, KEY);
    // Act
    const outcomes = event.records.map((record) => transform(record.data));
    // Assess
    expect(outcomes.map((o) => o.result)).toEqual([
      'Dropped', // Send is not in keepEventTypes
      'Ok',
      'Ok',
      'Ok',
      'Ok',
      'Ok',
      'Ok',
      'Ok',
      'Ok',
      'Ok',
    ]);
    const bounce = outcomes[2];
    if (bounce?.result !== 'Ok') throw new Error('expected Ok');
    const text = decode(bounce.data);
    expect(text.endsWith('}\n')).toBe(true);
    const doc = JSON.parse(text);
    expect(doc).toMatchObject({
      eventType: 'bounce',
      '@timestamp': '2026-11-21T08:00:01.512Z',
      bounceSubType: 'General',
    });
    expect(doc.mail.commonHeaders).toBeUndefined(); // removed by config
    expect(doc.mail.recipientDomains).toEqual(['example.com']);
    expect(text).not.toContain('missing@example.com');
    const hash = keyedHasher(KEY);
    expect(doc.mail.destination).toEqual([hash('missing@example.com')]);
    expect(doc.recipients).toEqual([hash('missing@example.com')]);
    expect(doc.details.bouncedRecipients[0].emailAddress).toBe(hash('missing@example.com'));
    expect(bounce.partitionKeys).toEqual({ eventType: 'bounce', date: '2026-11-21' });
  });

  it('hashes the same address the same way everywhere, so hashed fields stay joinable', () => {
    // Prepare
    const event = fhEvent('firehose-ses.json');
    const transform = compileTransform(settings, KEY);
    // Act
    const docs = event.records
      .map((record) => transform(record.data))
      .flatMap((o) => (o.result === 'Ok' ? [JSON.parse(decode(o.data))] : []));
    // Assess
    const anas = docs.filter((d) => d.mail.destination[0] === keyedHasher(KEY)('ana@example.com'));
    expect(anas.map((d) => d.eventType).sort()).toEqual(['click', 'delivery', 'open', 'subscription']);
    expect(JSON.stringify(docs)).not.toMatch(/[a-z]+@example\.(com|org|net)/);
    expect(keyedHasher(Buffer.from('other'))('ana@example.com')).not.toBe(
      keyedHasher(KEY)('ana@example.com'),
    );
  });

  it('fails each kind of bad input with its reason, and keeps the good record', () => {
    // Prepare
    const event = fhEvent('firehose-bad-input.json');
    const transform = compileTransform(settings, KEY);
    // Act
    const outcomes = event.records.map((record) => transform(record.data));
    // Assess
    expect(outcomes.slice(0, 5).map((o) => (o.result === 'ProcessingFailed' ? o.message : ''))).toEqual([
      'data is not valid base64',
      'data is not valid base64',
      'data is not valid UTF-8',
      expect.stringMatching(/^data is not JSON: \S/),
      'data is JSON but not an object',
    ]);
    expect(outcomes.map((o) => (o.result === 'ProcessingFailed' ? o.reason : o.result))).toEqual([
      'NOT_BASE64',
      'NOT_BASE64',
      'NOT_UTF8',
      'BODY_NOT_JSON',
      'BODY_NOT_OBJECT',
      'NOT_AN_SES_EVENT',
      'NOT_AN_SES_EVENT',
      'NOT_AN_SES_EVENT',
      'Ok',
    ]);
  });

  it('accepts only strict base64', () => {
    // Act / Assess
    expect(decodeBase64Strict('YWJj')?.toString()).toBe('abc');
    expect(decodeBase64Strict('YQ==')?.toString()).toBe('a');
    expect(decodeBase64Strict('')?.byteLength).toBe(0);
    expect(decodeBase64Strict('YWE=')?.toString()).toBe('aa');
    expect(decodeBase64Strict('AA==')?.toString('hex')).toBe('00');
    for (const bad of [
      'YU==',
      'YQ=',
      'YW Jj',
      'YW-j',
      'YW_j',
      'Y===',
      'ab==cd==',
      'YWJj\n',
      'YR==',
      'YWF=',
      'YW*=',
    ]) {
      expect(decodeBase64Strict(bad), bad).toBeUndefined();
    }
  });

  it('in JSON mode keeps, renames and drops fields and adds @timestamp from a path', () => {
    // Prepare
    const transform = compileTransform(
      jsonMode((t) => {
        t.json = {
          keep: ['order.id', 'order.total', 'at', 'debug'],
          rename: { 'order.id': 'orderId' },
          drop: ['debug'],
          timestampPath: 'at',
        };
        t.appendNewline = false;
      }),
    );
    // Act
    const outcome = transform(
      encode({ order: { id: 'o-1', total: 3, secret: 'x' }, at: 1795300000000, debug: true }),
    );
    // Assess
    if (outcome.result !== 'Ok') throw new Error('expected Ok');
    expect(JSON.parse(decode(outcome.data))).toEqual({
      orderId: 'o-1',
      order: { total: 3 },
      at: 1795300000000,
      '@timestamp': new Date(1795300000000).toISOString(),
    });
    expect(decode(outcome.data).endsWith('\n')).toBe(false);
    const iso = transform(encode({ order: { id: 'o-2' }, at: '2026-11-21T08:00:00+01:00' }));
    expect(iso.result === 'Ok' && JSON.parse(decode(iso.data))['@timestamp']).toBe(
      '2026-11-21T07:00:00.000Z',
    );
  });

  it('never throws on random bytes: every record gets Ok, Dropped or ProcessingFailed', () => {
    const transform = compileTransform(settings, KEY);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('base64')),
          fc.string({ maxLength: 200 }),
          fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v)).toString('base64')),
        ),
        (data) => {
          // Act
          const outcome = transform(data);
          // Assess
          expect(['Ok', 'Dropped', 'ProcessingFailed']).toContain(outcome.result);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('firehose transform, per batch', () => {
  beforeEach(() => {
    firehoseMock.reset();
    kinesisMock.reset();
  });

  it('adds partition keys only for the partitioned delivery stream', async () => {
    // Prepare
    const event = fhEvent('firehose-ses.json');
    // Act
    const partitioned = await transformBatch(event, {
      ...transformTestDeps(),
      partitionedStream: 'ses-events-local',
    });
    // Assess
    expect(partitioned.records[2]?.metadata?.partitionKeys).toEqual({
      eventType: 'bounce',
      date: '2026-11-21',
    });
    // Act
    const other = await transformBatch(event, {
      ...transformTestDeps(),
      partitionedStream: 'ses-events-local-search',
    });
    // Assess
    expect(other.records.every((r) => r.metadata === undefined)).toBe(true);
  });

  it('returns every recordId once, in order, keeping the original data on failure', async () => {
    // Prepare
    const event = fhEvent('firehose-bad-input.json');
    const d = transformTestDeps();
    // Act
    const response = await transformBatch(event, d);
    // Assess
    expect(response.records.map((r) => r.recordId)).toEqual(event.records.map((r) => r.recordId));
    for (const [i, record] of response.records.entries()) {
      // Strict base64 comes back as sent; the two records that are not come back re-encoded.
      const sent = event.records[i]?.data as string;
      if (record.result === 'ProcessingFailed')
        expect(record.data).toBe(i < 2 ? Buffer.from(sent, 'base64').toString('base64') : sent);
    }
    expect(response.records.at(-1)?.result).toBe('Ok');
    const failures = d.logger.lines.filter((line) => line.message === 'Record failed processing');
    expect(failures).toHaveLength(8);
    expect(failures[0]?.extra[0]).toMatchObject({
      recordId: event.records[0]?.recordId,
      reason: 'NOT_BASE64',
    });
    expect(JSON.stringify(d.logger.lines)).not.toContain(event.records[8]?.data.slice(0, 40));
  });

  /** Records whose normalised output is about `kib` KiB each. */
  function bigBatch(count: number, kib: number): FirehoseTransformationEvent {
    const event = fhEvent('firehose-ses.json');
    const open = loadEvent<Json>('ses/open.json');
    open.mail.tags.padding = ['x'.repeat(kib * 1024)];
    event.records = Array.from({ length: count }, (_, i) => ({
      recordId: `rec-${i}`,
      approximateArrivalTimestamp: 1795300000000,
      data: encode(open),
    }));
    return event;
  }

  const putRecordBatchAccepts = () =>
    firehoseMock.on(PutRecordBatchCommand).callsFake((input: PutRecordBatchCommandInput) => ({
      FailedPutCount: 0,
      RequestResponses: (input.Records ?? []).map((_, i) => ({ RecordId: `fh-${i}` })),
    }));

  it('keeps the response under 6 MB: the overflow is Dropped and re-ingested to the delivery stream', async () => {
    // Prepare: 60 records of ~120 KiB output (base64 makes ~160 KiB each): ~9.6 MB of response.
    putRecordBatchAccepts();
    const event = bigBatch(60, 120);
    // Act
    const response = await transformBatch(event, transformTestDeps());
    // Assess
    const size = Buffer.byteLength(JSON.stringify(response));
    expect(size).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
    const dropped = response.records.filter((r) => r.result === 'Dropped');
    expect(dropped.length).toBeGreaterThan(15);
    expect(response.records.filter((r) => r.result === 'Ok').length + dropped.length).toBe(60);
    const sent = firehoseMock
      .commandCalls(PutRecordBatchCommand)
      .flatMap((c) => c.args[0].input.Records ?? []);
    expect(sent).toHaveLength(dropped.length);
    // What is re-ingested is the original record, to be transformed on its next pass.
    const firstDropped = event.records.find((r) => r.recordId === dropped[0]?.recordId);
    expect(Buffer.from(sent[0]?.Data as Uint8Array).toString('base64')).toBe(firstDropped?.data);
    expect(firehoseMock.commandCalls(PutRecordBatchCommand)[0]?.args[0].input.DeliveryStreamName).toBe(
      'ses-events-local',
    );
  });

  /** A transform double whose output is `kib` KiB for any input: small records, big outputs. */
  const inflating =
    (kib: number): RecordTransform =>
    () => ({ result: 'Ok', data: Buffer.alloc(kib * 1024, 'a').toString('base64') });

  const smallBatch = (count: number): FirehoseTransformationEvent => ({
    ...fhEvent('firehose-ses.json'),
    records: Array.from({ length: count }, (_, i) => ({
      recordId: `rec-${i}`,
      approximateArrivalTimestamp: 1795300000000,
      data: encode({ n: i }),
    })),
  });

  it('retries only the re-ingested entries that failed, and fails what still cannot be written', async () => {
    // Prepare: the first call fails two entries; the second fails one of them for good.
    let call = 0;
    firehoseMock.on(PutRecordBatchCommand).callsFake((input: PutRecordBatchCommandInput) => {
      call++;
      const records = input.Records ?? [];
      return {
        FailedPutCount: call === 1 ? 2 : 1,
        RequestResponses: records.map((_, i) =>
          (call === 1 && i < 2) || i === 0
            ? { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' }
            : { RecordId: `fh-${call}-${i}` },
        ),
      };
    });
    const event = smallBatch(45);
    // Act: 45 outputs of 160 KiB (about 9.6 MB as base64) for inputs of a few bytes.
    const response: FirehoseTransformationResult = await transformBatch(
      event,
      transformTestDeps(inflating(160)),
    );
    // Assess
    const calls = firehoseMock.commandCalls(PutRecordBatchCommand);
    expect(calls[1]?.args[0].input.Records).toHaveLength(2);
    expect(calls).toHaveLength(3);
    const failed = response.records.filter((r) => r.result === 'ProcessingFailed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.data).toBe(event.records.find((r) => r.recordId === failed[0]?.recordId)?.data);
    expect(Buffer.byteLength(JSON.stringify(response))).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
  });

  it('fails the invocation when re-ingestion fails and the originals do not fit', async () => {
    // Prepare
    firehoseMock
      .on(PutRecordBatchCommand)
      .rejects(Object.assign(new Error('down'), { $metadata: { httpStatusCode: 503 } }));
    // Act / Assess
    await expect(transformBatch(bigBatch(60, 120), transformTestDeps())).rejects.toThrow(
      ResponseTooLargeError,
    );
  });

  it('fails a record whose output alone would not fit the response', async () => {
    // Act
    const response = await transformBatch(smallBatch(1), transformTestDeps(inflating(4600)));
    // Assess
    expect(response.records[0]?.result).toBe('ProcessingFailed');
    expect(firehoseMock.commandCalls(PutRecordBatchCommand)).toHaveLength(0);
  });

  it('re-ingests into the source Kinesis stream, with each record partition key, when there is one', async () => {
    // Prepare
    putRecordsDouble(kinesisMock);
    const source = fhEvent('firehose-kinesis-source.json');
    const event = bigBatch(60, 120);
    event.sourceKinesisStreamArn = source.sourceKinesisStreamArn;
    const metadata = source.records[0]?.kinesisRecordMetadata;
    if (!metadata) throw new Error('the sample has kinesisRecordMetadata');
    event.records = event.records.map((record, i) => ({
      ...record,
      kinesisRecordMetadata: { ...metadata, partitionKey: `pk-${i}` },
    }));
    // Act
    const response = await transformBatch(event, transformTestDeps());
    // Assess
    const input = kinesisMock.commandCalls(PutRecordsCommand)[0]?.args[0].input;
    expect(input?.StreamARN).toBe('arn:aws:kinesis:us-east-1:123456789012:stream/ses-source-local');
    const dropped = response.records.filter((r) => r.result === 'Dropped').map((r) => r.recordId);
    expect(input?.Records?.map((r) => r.PartitionKey)).toEqual(dropped.map((id) => `pk-${id.slice(4)}`));
    expect(firehoseMock.commandCalls(PutRecordBatchCommand)).toHaveLength(0);
  });
});

describe('firehose transform, config', () => {
  it('refuses paths to hash without a key, naming the setting, rather than pass addresses in clear', () => {
    // Prepare: the project config hashes eight paths.
    expect(settings.hash.length).toBeGreaterThan(0);
    // Act and assess
    expect(() => compileTransform(settings)).toThrow(ConfigError);
    expect(() => compileTransform(settings)).toThrow(/firehoseTransform\.hash\b.*hashKeyParameter/);
    const outcome = compileTransform({ ...settings, hash: [] })(
      fhEvent('firehose-ses.json').records[4]?.data ?? '',
    );
    expect(outcome.result === 'Ok' && decode(outcome.data)).toContain('ana@example.com');
  });
});

describe('firehose transform, response data', () => {
  beforeEach(() => {
    firehoseMock.reset();
    kinesisMock.reset();
  });

  /** Strict base64 that decodes and re-encodes to itself. */
  const strictBase64 = (text: string | undefined) =>
    text !== undefined &&
    decodeBase64Strict(text) !== undefined &&
    Buffer.from(text, 'base64').toString('base64') === text;
  const sesRecords = fhEvent('firehose-ses.json').records.map((record) => record.data);
  /** Base64 of some bytes with any character before the padding: non-zero padding bits, often. */
  const nonCanonical = fc
    .tuple(fc.uint8Array({ minLength: 1, maxLength: 20 }), fc.constantFrom(...'ARgw+/QZ'))
    .map(([bytes, char]) => {
      const text = Buffer.from(bytes).toString('base64');
      const at = text.indexOf('=') - 1;
      return at < 0 ? text : `${text.slice(0, at)}${char}${text.slice(at + 1)}`;
    });
  const anyData = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.string({ unit: fc.constantFrom(...'AQab09+/=-_ \n'), maxLength: 40 }), // nearly base64
    fc.uint8Array({ maxLength: 60 }).map((bytes) => Buffer.from(bytes).toString('base64')),
    nonCanonical,
    fc.constantFrom('', ...sesRecords), // empty, and records that pass or are filtered
  );

  it('answers any data with strict base64 and every recordId exactly once', async () => {
    const d = transformTestDeps();
    await fc.assert(
      fc.asyncProperty(fc.array(anyData, { maxLength: 12 }), async (data) => {
        // Prepare
        const event: FirehoseTransformationEvent = {
          ...fhEvent('firehose-ses.json'),
          records: data.map((text, i) => ({
            recordId: `r-${i}`,
            approximateArrivalTimestamp: 1,
            data: text,
          })),
        };
        // Act
        const response = await transformBatch(event, d);
        // Assess
        expect(response.records.map((r) => r.recordId)).toEqual(event.records.map((r) => r.recordId));
        response.records.forEach((record, i) => {
          expect(['Ok', 'Dropped', 'ProcessingFailed']).toContain(record.result);
          expect(strictBase64(record.data), `${record.result} ${JSON.stringify(record.data)}`).toBe(true);
          if (record.result !== 'ProcessingFailed') return;
          // The bytes of the input as Node's lenient decoder reads them; strict input as sent.
          const sent = data[i] as string;
          expect(record.data).toBe(
            strictBase64(sent) ? sent : Buffer.from(sent, 'base64').toString('base64'),
          );
        });
      }),
      { numRuns: 150 },
    );
  });

  it('keeps strict base64 as it was sent, and re-encodes what a lenient decoder reads otherwise', () => {
    // Act / Assess
    expect(failedRecordData('YWJj')).toBe('YWJj');
    expect(failedRecordData('')).toBe('');
    expect(failedRecordData('YW Jj')).toBe('YWJj');
    expect(failedRecordData('YWJj-_==')).toBe('YWJj+w=='); // URL-safe read as standard, 12 bits: one byte
    expect(failedRecordData('not base64!!')).toBe(Buffer.from('notbase64', 'base64').toString('base64'));
  });
});

describe('firehose transform, logs through the real Powertools Logger', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('carries each failure reason, and never a key the Logger reserves', async () => {
    // Prepare: a real Logger that emits (the suite silences Powertools), its output captured.
    const { logger, output: emitted } = realLogger('firehose-transform');
    const event = fhEvent('firehose-bad-input.json');
    // Act
    const response = await transformBatch(event, { ...transformTestDeps(), logger });
    vi.restoreAllMocks();
    // Assess
    const lines = emitted
      .join('')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const failures = lines.filter((line) => line.message === 'Record failed processing');
    expect(failures.map((line) => line.reason)).toEqual([
      'NOT_BASE64',
      'NOT_BASE64',
      'NOT_UTF8',
      'BODY_NOT_JSON',
      'BODY_NOT_OBJECT',
      'NOT_AN_SES_EVENT',
      'NOT_AN_SES_EVENT',
      'NOT_AN_SES_EVENT',
    ]);
    expect(failures[0]).toMatchObject({
      level: 'WARN',
      recordId: event.records[0]?.recordId,
      detail: 'data is not valid base64',
    });
    expect(failures[5]?.detail).toMatch(/not an SES event/);
    expect(lines.filter((line) => /reserved key/.test(line.message))).toEqual([]);
    expect(lines.find((line) => line.message === 'Batch transformed')).toMatchObject({
      records: 9,
      failed: 8,
      ok: 1,
      dropped: 0,
      failedByReason: {
        NOT_BASE64: 2,
        NOT_UTF8: 1,
        BODY_NOT_JSON: 1,
        BODY_NOT_OBJECT: 1,
        NOT_AN_SES_EVENT: 3,
      },
      responseBytes: Buffer.byteLength(JSON.stringify(response)),
    });
  });
});

describe('firehose transform, the 6 MB response boundary', () => {
  beforeEach(() => {
    firehoseMock.reset();
    kinesisMock.reset();
  });

  type Entry = FirehoseTransformationResult['records'][number];
  const bytesOf = (records: Entry[]) => Buffer.byteLength(JSON.stringify({ records }));

  it('counts each entry as the bytes of its JSON and a comma, whatever its ids and keys hold', () => {
    // Prepare: ids and partition keys of any text (quotes, backslashes, controls, lone
    // surrogates, beyond ASCII), each result, with and without data and metadata.
    const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }));
    const entry = fc.record(
      {
        recordId: text,
        result: fc.constantFrom('Ok', 'Dropped', 'ProcessingFailed'),
        data: fc.base64String(),
        metadata: fc.record({ partitionKeys: fc.dictionary(text, text) }),
      },
      { requiredKeys: ['recordId', 'result'] },
    );
    fc.assert(
      fc.property(entry, (e) => {
        // Act / Assess
        expect(responseEntryBytes(e as Entry)).toBe(Buffer.byteLength(JSON.stringify(e)) + ','.length);
      }),
      { numRuns: 2000 },
    );
  });

  /**
   * Fills `entries` to exactly `target` bytes of response: the first entry's data grows by a
   * multiple of 4 (base64 stays valid), the last entry's id by the 0-3 bytes left.
   */
  function sizeTo(target: number, entries: Entry[]): Entry[] {
    const needed = target - bytesOf(entries);
    const [first, last] = [entries[0] as Entry, entries.at(-1) as Entry];
    first.data = `${first.data ?? ''}${'A'.repeat(needed - (needed % 4))}`;
    last.recordId += 'x'.repeat(needed % 4);
    expect(bytesOf(entries)).toBe(target);
    return entries;
  }

  /** The event whose records, through `transform`, answer `entries` (all Ok). */
  function eventFor(entries: Entry[], inputs = entries.map((_, i) => encode({ i }))) {
    const outputs = new Map(inputs.map((input, i) => [input, entries[i]?.data as string]));
    const transform: RecordTransform = (data) => ({ result: 'Ok', data: outputs.get(data) as string });
    const event: FirehoseTransformationEvent = {
      ...fhEvent('firehose-ses.json'),
      records: entries.map((entry, i) => ({
        recordId: entry.recordId,
        approximateArrivalTimestamp: 1795300000000,
        data: inputs[i] as string,
      })),
    };
    return { event, transform };
  }

  const okEntries = (count: number): Entry[] =>
    Array.from({ length: count }, (_, i) => ({ recordId: `rec-${i}`, result: 'Ok', data: 'QUFB' }));
  const sent = () =>
    firehoseMock.commandCalls(PutRecordBatchCommand).flatMap((call) => call.args[0].input.Records ?? []);

  it.each([
    [MAX_RESPONSE_BYTES - 1, 'one under'],
    [MAX_RESPONSE_BYTES, 'exactly at'],
  ])('answers everything Ok at %i bytes (%s the limit), and re-ingests nothing', async (target) => {
    // Prepare
    const { event, transform } = eventFor(sizeTo(target, okEntries(3)));
    // Act
    const response = await transformBatch(event, transformTestDeps(transform));
    // Assess
    expect(response.records.map((r) => r.result)).toEqual(['Ok', 'Ok', 'Ok']);
    expect(bytesOf(response.records)).toBe(target);
    expect(firehoseMock.commandCalls(PutRecordBatchCommand)).toHaveLength(0);
  });

  it('one byte over the limit, drops and re-ingests the record that does not fit, and accounts for all', async () => {
    // Prepare
    firehoseMock.on(PutRecordBatchCommand).callsFake((input: PutRecordBatchCommandInput) => ({
      FailedPutCount: 0,
      RequestResponses: (input.Records ?? []).map((_, i) => ({ RecordId: `fh-${i}` })),
    }));
    const { event, transform } = eventFor(sizeTo(MAX_RESPONSE_BYTES + 1, okEntries(3)));
    const d = transformTestDeps(transform);
    // Act
    const response = await transformBatch(event, d);
    // Assess
    expect(response.records.map((r) => [r.recordId, r.result])).toEqual(
      event.records.map((r, i) => [r.recordId, i === 2 ? 'Dropped' : 'Ok']),
    );
    expect(bytesOf(response.records)).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
    expect(sent().map((r) => Buffer.from(r.Data as Uint8Array).toString('base64'))).toEqual([
      event.records[2]?.data,
    ]);
    expect(d.metrics.published.get('deliveryStream=ses-events-local')).toMatchObject({
      records: 3,
      ok: 2,
      dropped: 1,
      failed: 0,
      reingested: 1,
    });
  });

  it.each([
    [MAX_RESPONSE_BYTES, 'Ok'],
    [MAX_RESPONSE_BYTES + 1, 'ProcessingFailed'],
  ])('a single record answering %i bytes of response is %s, never re-ingested', async (target, result) => {
    // Prepare
    const entries = sizeTo(target, okEntries(1));
    const { event, transform } = eventFor(entries);
    // Act
    const response = await transformBatch(event, transformTestDeps(transform));
    // Assess
    expect(response.records.map((r) => r.result)).toEqual([result]);
    expect(response.records[0]?.data).toBe(result === 'Ok' ? entries[0]?.data : event.records[0]?.data);
    expect(firehoseMock.commandCalls(PutRecordBatchCommand)).toHaveLength(0);
  });

  /**
   * Re-ingestion fails, so the overflow record comes back ProcessingFailed with its original
   * data: a response of `target` bytes in the end.
   */
  function failingReingestion(target: number) {
    firehoseMock
      .on(PutRecordBatchCommand)
      .rejects(Object.assign(new Error('down'), { $metadata: { httpStatusCode: 503 } }));
    const original = 'B'.repeat(1_000_000);
    const final = sizeTo(target, [
      { recordId: 'rec-0', result: 'Ok', data: 'QUFB' },
      { recordId: 'rec-1', result: 'ProcessingFailed', data: original },
    ]);
    // Its output is bigger than the original: it cannot fit where the original just does.
    const entries: Entry[] = [
      final[0] as Entry,
      { ...(final[1] as Entry), result: 'Ok', data: `${original}${'C'.repeat(40)}` },
    ];
    return eventFor(entries, [encode({ i: 0 }), original]);
  }

  it('answers exactly 6,000,000 bytes when re-ingestion fails and the original just fits', async () => {
    // Prepare
    const { event, transform } = failingReingestion(MAX_RESPONSE_BYTES);
    const d = transformTestDeps(transform);
    // Act
    const response = await transformBatch(event, d);
    // Assess
    expect(response.records.map((r) => r.result)).toEqual(['Ok', 'ProcessingFailed']);
    expect(response.records[1]?.data).toBe(event.records[1]?.data);
    expect(bytesOf(response.records)).toBe(MAX_RESPONSE_BYTES);
    expect(d.metrics.published.get('deliveryStream=ses-events-local')).toMatchObject({
      failed: 1,
      reingested: 0,
    });
  });

  it('fails the invocation when re-ingestion fails and the originals come to one byte over', async () => {
    // Prepare
    const { event, transform } = failingReingestion(MAX_RESPONSE_BYTES + 1);
    // Act
    const failing = transformBatch(event, transformTestDeps(transform));
    // Assess
    await expect(failing).rejects.toThrow(ResponseTooLargeError);
    await expect(failing).rejects.toThrow(
      'Response would be 6000001 bytes (limit 6000000) after 1 records failed re-ingestion',
    );
  });
});

describe('firehose transform, JSON mode details', () => {
  const okDoc = (transform: RecordTransform, value: unknown) => {
    const outcome = transform(encode(value));
    if (outcome.result !== 'Ok') throw new Error(`expected Ok, got ${outcome.result}`);
    return { doc: JSON.parse(decode(outcome.data)), keys: outcome.partitionKeys, text: decode(outcome.data) };
  };

  it('derives each kind of partition key from the output, and "unknown" when it cannot', () => {
    // Prepare
    const transform = compileTransform(
      jsonMode((t) => {
        t.partitionKeys = {
          kind: { path: 'kind' },
          date: { path: 'at', as: 'date' },
          year: { path: 'at', as: 'year' },
          month: { path: 'at', as: 'month' },
          day: { path: 'at', as: 'day' },
          hour: { path: 'at', as: 'hour' },
        };
      }),
    );
    // Act and assess
    const at = '2026-03-04T05:06:07.890Z';
    expect(okDoc(transform, { kind: 'order', at }).keys).toEqual({
      kind: 'order',
      date: '2026-03-04',
      year: '2026',
      month: '03',
      day: '04',
      hour: '05',
    });
    expect(okDoc(transform, { kind: 7, at: Date.parse(at) }).keys).toMatchObject({ kind: '7', hour: '05' });
    expect(okDoc(transform, { kind: false, at: '2026-03-04T06:06:07+01:00' }).keys).toMatchObject({
      kind: 'false',
      date: '2026-03-04',
      hour: '05',
    });
    const unknown = {
      kind: 'unknown',
      date: 'unknown',
      year: 'unknown',
      month: 'unknown',
      day: 'unknown',
      hour: 'unknown',
    };
    expect(okDoc(transform, { kind: { nested: 1 }, at: 'soon' }).keys).toEqual(unknown);
    expect(okDoc(transform, { kind: null, at: Number.MAX_VALUE }).keys).toEqual(unknown);
    expect(okDoc(transform, { at: true }).keys).toEqual(unknown);
  });

  it('leaves @timestamp out when the time cannot be read, and keeps the document as it came without a projection', () => {
    // Prepare
    const transform = compileTransform(jsonMode((t) => (t.json = { timestampPath: 'at' })));
    // Act / Assess
    expect(okDoc(transform, { at: 'never', x: [1] }).doc).toEqual({ at: 'never', x: [1] });
    expect(okDoc(transform, { at: '2026-03-04T05:06:07.890Z' }).doc['@timestamp']).toBe(
      '2026-03-04T05:06:07.890Z',
    );
    const plain = compileTransform(jsonMode());
    const { doc, text, keys } = okDoc(plain, { at: 1, '@timestamp': 'kept' });
    expect(doc).toEqual({ at: 1, '@timestamp': 'kept' });
    expect(text.endsWith('}\n')).toBe(true); // appendNewline defaults to true
    expect(keys).toBeUndefined();
  });

  it('removes configured paths from objects and arrays, wildcards included', () => {
    // Prepare
    const transform = compileTransform(
      jsonMode((t) => (t.remove = ['a.secret', 'list.*', 'rows.*.pii', 'gone'])),
    );
    // Act
    const { doc } = okDoc(transform, {
      a: { secret: 1, kept: 2 },
      list: [1, 2, 3],
      rows: [{ pii: 'x', id: 1 }, { id: 2 }],
      keep: true,
    });
    // Assess
    expect(doc).toEqual({ a: { kept: 2 }, list: [], rows: [{ id: 1 }, { id: 2 }], keep: true });
  });

  it('hashes a header that SES repeats (an array of values) element by element', () => {
    // Prepare
    const transform = compileTransform(
      jsonMode((t) => {
        t.hash = ['to', 'cc.*', 'n'];
        t.hashKeyParameter = '/test/hash-key';
      }),
      KEY,
    );
    const hash = keyedHasher(KEY);
    // Act
    const { doc } = okDoc(transform, { to: ['a@x.org', 'b@x.org', 3], cc: ['c@x.org'], n: 5 });
    // Assess
    expect(doc).toEqual({ to: [hash('a@x.org'), hash('b@x.org'), 3], cc: [hash('c@x.org')], n: 5 });
  });

  it('gives the parse error, shortened, for a body that is not JSON', () => {
    // Prepare
    const transform = compileTransform(jsonMode());
    // Act
    const outcome = transform(Buffer.from(`{"a": ${'x'.repeat(500)}`).toString('base64'));
    // Assess
    expect(outcome).toMatchObject({ result: 'ProcessingFailed', reason: 'BODY_NOT_JSON' });
    const message = outcome.result === 'ProcessingFailed' ? outcome.message : '';
    expect(message.startsWith('data is not JSON: ')).toBe(true);
    expect(message.length).toBeLessThanOrEqual('data is not JSON: '.length + 80);
    expect(transform(encode(null))).toMatchObject({ reason: 'BODY_NOT_OBJECT' });
    expect(transform(encode([1]))).toMatchObject({ reason: 'BODY_NOT_OBJECT' });
  });

  it('reads only canonical ISO times as they are, and epoch milliseconds or other ISO forms through Date', async () => {
    // Prepare
    const { toIso } = await import('../../shared/firehose-transform/firehose-transform.js');
    // Act / Assess
    expect(toIso('2026-03-04T05:06:07.890Z')).toBe('2026-03-04T05:06:07.890Z');
    expect(toIso('2026-03-04T05:06:07Z')).toBe('2026-03-04T05:06:07.000Z');
    expect(toIso('2026-03-04T05:06:07.890+00:00')).toBe('2026-03-04T05:06:07.890Z');
    expect(toIso(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(toIso(Number.NaN)).toBeUndefined();
    expect(toIso(undefined)).toBeUndefined();
    expect(toIso(8.64e15 + 1)).toBeUndefined(); // past what a Date holds
    expect(toIso('soon')).toBeUndefined();
    expect(toIso('2026-03-04 05:06:07.890Z')).toBe('2026-03-04T05:06:07.890Z'); // 24 characters, not canonical
    expect(toIso('2026-03-04T05:06:07.89Z ')).toBeUndefined();
  });
});

describe('firehose transform, batch accounting', () => {
  beforeEach(() => {
    firehoseMock.reset();
    kinesisMock.reset();
  });

  it('fails a record whose transform throws, with the error, and keeps the others', async () => {
    // Prepare
    const throwing: RecordTransform = (data) => {
      if (data === 'dGhyb3c=') throw new TypeError('boom');
      if (data === 'c3RyaW5n') throw 'plain string';
      return { result: 'Ok', data };
    };
    const event: FirehoseTransformationEvent = {
      ...fhEvent('firehose-ses.json'),
      records: ['dGhyb3c=', 'c3RyaW5n', 'b2s='].map((data, i) => ({
        recordId: `r${i}`,
        approximateArrivalTimestamp: 0,
        data,
      })),
    };
    const d = transformTestDeps(throwing);
    // Act
    const response = await transformBatch(event, d);
    // Assess
    expect(response.records.map((r) => [r.result, r.data])).toEqual([
      ['ProcessingFailed', 'dGhyb3c='],
      ['ProcessingFailed', 'c3RyaW5n'],
      ['Ok', 'b2s='],
    ]);
    expect(
      d.logger.lines.filter((l) => l.level === 'error').map((l) => [l.message, l.extra[0]?.recordId]),
    ).toEqual([
      ['Unexpected error in the transform', 'r0'],
      ['Unexpected error in the transform', 'r1'],
    ]);
    const reasons = d.logger.lines
      .filter((l) => l.message === 'Record failed processing')
      .map((l) => l.extra[0]);
    expect(reasons).toEqual([
      { recordId: 'r0', reason: 'UNEXPECTED_ERROR', detail: 'boom' },
      { recordId: 'r1', reason: 'UNEXPECTED_ERROR', detail: 'plain string' },
    ]);
  });

  it('publishes the counts of every outcome, and lists at most 100 failed records in the log', async () => {
    // Prepare
    const failing: RecordTransform = (data) =>
      data === 'b2s='
        ? { result: 'Ok', data }
        : data === 'ZHJvcA=='
          ? { result: 'Dropped', reason: 'FILTERED' }
          : { result: 'ProcessingFailed', reason: 'NOT_UTF8', message: 'm' };
    const datas = ['b2s=', 'ZHJvcA==', ...Array.from({ length: 120 }, () => 'YmFk')];
    const event: FirehoseTransformationEvent = {
      ...fhEvent('firehose-ses.json'),
      records: datas.map((data, i) => ({ recordId: `r${i}`, approximateArrivalTimestamp: 0, data })),
    };
    const d = transformTestDeps(failing);
    // Act
    const response = await transformBatch(event, d);
    // Assess
    expect(response.records.map((r) => r.result).slice(0, 3)).toEqual(['Ok', 'Dropped', 'ProcessingFailed']);
    expect(d.metrics.published).toEqual(
      new Map([
        ['deliveryStream=ses-events-local', { records: 122, ok: 1, dropped: 1, failed: 120, reingested: 0 }],
      ]),
    );
    expect(d.logger.lines.filter((l) => l.message === 'Record failed processing')).toHaveLength(100);
  });

  it('counts the response in UTF-8 bytes: ids beyond ASCII and partition keys', async () => {
    // Prepare: ids of 3-byte characters and partition keys, sized to exactly the limit.
    const id = (i: number) => `\u20ac-${i}-${'\u20ac'.repeat(100)}`;
    const keyed: RecordTransform = (data) => ({
      result: 'Ok',
      data,
      partitionKeys: { k: '\u00e9'.repeat(300) },
    });
    const build = (extra: number) => {
      const one = `${'A'.repeat(4)}`;
      const records = [0, 1].map((i) => ({ recordId: id(i), approximateArrivalTimestamp: 0, data: one }));
      const response = {
        records: records.map((r) => ({
          recordId: r.recordId,
          result: 'Ok',
          data: r.data,
          metadata: { partitionKeys: { k: '\u00e9'.repeat(300) } },
        })),
      };
      const room = MAX_RESPONSE_BYTES + extra - Buffer.byteLength(JSON.stringify(response));
      (records[0] as { data: string }).data += 'A'.repeat(room - (room % 4));
      (records[1] as { recordId: string }).recordId += 'x'.repeat(room % 4);
      return { ...fhEvent('firehose-ses.json'), records };
    };
    firehoseMock
      .on(PutRecordBatchCommand)
      .resolves({ FailedPutCount: 0, RequestResponses: [{ RecordId: 'a' }] });
    // Act
    const fits = await transformBatch(build(0), {
      ...transformTestDeps(keyed),
      partitionedStream: 'ses-events-local',
    });
    const over = await transformBatch(build(1), {
      ...transformTestDeps(keyed),
      partitionedStream: 'ses-events-local',
    });
    // Assess
    expect(Buffer.byteLength(JSON.stringify(fits))).toBe(MAX_RESPONSE_BYTES);
    expect(fits.records.map((r) => r.result)).toEqual(['Ok', 'Ok']);
    expect(over.records.map((r) => r.result)).toEqual(['Ok', 'Dropped']);
  });
});
