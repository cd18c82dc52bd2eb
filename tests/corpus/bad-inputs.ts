/**
 * The bad-input corpus: payloads producers really send (or attackers try), each with the
 * outcome every handler must give it. `written`/`republished`/`Ok` mean it goes through;
 * anything else is the reason it must be refused with. No case may make a handler throw.
 */
import { createHash } from 'node:crypto';
import { KPL_MAGIC } from '../../shared/core/kpl.js';

export interface CorpusCase {
  name: string;
  bytes: Buffer;
  /** Outcome through the sqs-to-kinesis page-visits route (body path `user.id`, reshaped). */
  mapper: string;
  /** Outcome through the Firehose transform (SES mode). */
  firehose: string;
  /** Outcome through the aggregator (trades grouped by tickerSymbol). */
  aggregator: string;
  /** Outcome through the validator, the payload being the whole event. */
  validator: string;
  /** Firehose gets this instead of base64(bytes), when set (bad base64 itself). */
  firehoseData?: string;
}

const text = (value: string) => Buffer.from(value, 'utf8');
const json = (value: unknown) => text(JSON.stringify(value));
const deep = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

/** A KPL record with the magic, a protobuf with one user record, and a wrong MD5. */
function kplWithBadMd5(): Buffer {
  const data = text('{"tickerSymbol":"AMZN","price":1,"quantity":1}');
  const protobuf = Buffer.concat([
    Buffer.from([0x0a, 0x01, 0x6b]), // partition_key_table: "k"
    Buffer.from([0x1a, data.length + 4, 0x08, 0x00, 0x1a, data.length]),
    data,
  ]);
  const md5 = createHash('md5').update(protobuf).digest();
  md5[0] = (md5[0] as number) ^ 0xff;
  return Buffer.concat([KPL_MAGIC, protobuf, md5]);
}

const validEvent = {
  version: '0',
  id: 'corpus-event',
  'detail-type': 'NEW_WIDGET',
  source: 'cwi.servicea',
  account: '555555555555',
  time: '2026-11-21T09:30:00Z',
  region: 'us-east-1',
  resources: [],
  detail: {
    widgetId: 'w-0000beef',
    name: 'corpus',
    price: { amount: 1, currency: 'EUR' },
    createdAt: '2026-11-21T09:29:58Z',
  },
};

export const CORPUS: CorpusCase[] = [
  {
    name: 'empty body',
    bytes: text(''),
    mapper: 'BODY_NOT_JSON',
    firehose: 'BODY_NOT_JSON',
    aggregator: 'BODY_NOT_JSON',
    validator: 'INVALID_ENVELOPE',
  },
  {
    name: 'whitespace only',
    bytes: text(' \n\t '),
    mapper: 'BODY_NOT_JSON',
    firehose: 'BODY_NOT_JSON',
    aggregator: 'BODY_NOT_JSON',
    validator: 'INVALID_ENVELOPE',
  },
  {
    name: 'invalid UTF-8',
    bytes: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    mapper: 'BODY_NOT_JSON', // SQS bodies are text: the bytes arrive as replacement characters
    firehose: 'NOT_UTF8',
    aggregator: 'BODY_NOT_JSON',
    validator: 'INVALID_ENVELOPE',
  },
  {
    name: 'NUL byte inside a string',
    bytes: text('{"user":{"id":"a\u0000b"}}'),
    mapper: 'BODY_NOT_JSON',
    firehose: 'BODY_NOT_JSON',
    aggregator: 'BODY_NOT_JSON',
    validator: 'INVALID_ENVELOPE',
  },
  {
    name: 'truncated JSON',
    bytes: text('{"user":{"id":"u-1"'),
    mapper: 'BODY_NOT_JSON',
    firehose: 'BODY_NOT_JSON',
    aggregator: 'BODY_NOT_JSON',
    validator: 'INVALID_ENVELOPE',
  },
  {
    name: 'JSON that is not an object',
    bytes: text('[1,2,3]'),
    mapper: 'BODY_NOT_OBJECT',
    firehose: 'BODY_NOT_OBJECT',
    aggregator: 'MISSING_FIELDS',
    validator: 'INVALID_ENVELOPE',
  },
  {
    name: '10,000-deep nesting',
    bytes: text(deep(10_000)),
    mapper: 'PARTITION_KEY_MISSING',
    firehose: 'NOT_AN_SES_EVENT',
    aggregator: 'MISSING_FIELDS',
    validator: 'INVALID_ENVELOPE',
  },
  {
    name: '__proto__ and constructor keys',
    bytes: text(
      '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"user":{"id":"u-1"},"page":"/"}',
    ),
    mapper: 'written',
    firehose: 'NOT_AN_SES_EVENT',
    aggregator: 'MISSING_FIELDS',
    validator: 'INVALID_ENVELOPE',
  },
  {
    name: 'number beyond 2^53',
    bytes: text('{"user":{"id":12345678901234567890},"page":"/"}'),
    mapper: 'written',
    firehose: 'NOT_AN_SES_EVENT',
    aggregator: 'MISSING_FIELDS',
    validator: 'INVALID_ENVELOPE',
  },
  {
    name: 'lone surrogate',
    // A key that is not valid Unicode would reach the stream with a `?` in its place.
    bytes: text('{"user":{"id":"\\ud800"},"page":"/"}'),
    mapper: 'PARTITION_KEY_INVALID',
    firehose: 'NOT_AN_SES_EVENT',
    aggregator: 'MISSING_FIELDS',
    validator: 'INVALID_ENVELOPE',
  },
  {
    name: 'partition key of 257 characters',
    bytes: json({ user: { id: 'k'.repeat(257) } }),
    mapper: 'PARTITION_KEY_INVALID',
    firehose: 'NOT_AN_SES_EVENT',
    aggregator: 'MISSING_FIELDS',
    validator: 'INVALID_ENVELOPE',
  },
  {
    name: 'partition key of 256 multi-byte characters',
    bytes: json({ user: { id: '日'.repeat(256) } }),
    mapper: 'written',
    firehose: 'NOT_AN_SES_EVENT',
    aggregator: 'MISSING_FIELDS',
    validator: 'INVALID_ENVELOPE',
  },
  {
    name: 'base64 with bad padding',
    bytes: text('{}'),
    firehoseData: 'e30',
    mapper: 'PARTITION_KEY_MISSING',
    firehose: 'NOT_BASE64',
    aggregator: 'MISSING_FIELDS',
    validator: 'INVALID_ENVELOPE',
  },
  {
    name: 'KPL magic with a bad MD5',
    bytes: kplWithBadMd5(),
    mapper: 'BODY_NOT_JSON',
    firehose: 'NOT_UTF8',
    aggregator: 'KPL_BAD_MD5',
    validator: 'INVALID_ENVELOPE',
  },
  {
    name: 'event whose source carries the output prefix',
    bytes: json({ ...validEvent, source: 'valid.cwi.servicea' }),
    mapper: 'PARTITION_KEY_MISSING',
    firehose: 'NOT_AN_SES_EVENT',
    aggregator: 'MISSING_FIELDS',
    validator: 'LOOP',
  },
  {
    name: 'a valid event (control)',
    bytes: json(validEvent),
    mapper: 'PARTITION_KEY_MISSING',
    firehose: 'NOT_AN_SES_EVENT',
    aggregator: 'MISSING_FIELDS',
    validator: 'republished',
  },
];
