import { KinesisClient } from '@aws-sdk/client-kinesis';
import type { KinesisStreamRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { lambdaContext } from '../../local/lambda-context.js';
import {
  compileReducer,
  emptyState,
  type Position,
  type WindowState,
} from '../../shared/kinesis-aggregator/aggregation.js';

const positionOf = (seq: string, sub: number): Position => ({ seq, sub });

import type { KinesisAggregatorConfig } from '../../shared/core/config/schema.js';
import { type DlqEnvelope, parseDlqEnvelope } from '../../shared/core/dlq.js';
import { type KplError, RetryLaterError } from '../../shared/core/errors.js';
import { aggregate, deaggregate } from '../../shared/core/kpl.js';
import {
  type AggregatorDeps,
  aggregateWindow,
  idempotencyKey,
  MAX_LOGGED_DEAD_LETTERS,
  prepareAggregator,
  type TumblingWindowEvent,
} from '../../shared/kinesis-aggregator/kinesis-aggregator.js';
import { loadStageConfig } from '../../tools/lib/config-files.js';
import { captureOutput, jsonLines } from '../helpers/captured-output.js';
import { awkwardDouble, awkwardWeight } from '../helpers/exact.js';
import { loadEvent, localConfig, type RawConfig, testConfig } from '../helpers/fixtures.js';
import { envelopesIn, putRecordsDouble, textsIn } from '../helpers/service-doubles.js';
import { aggregatorTestDeps, type Recorded } from '../helpers/test-deps.js';
import { comparableState } from '../helpers/window-state.js';

const kinesisMock = mockClient(KinesisClient);
const config = localConfig();
const settings = config.kinesisAggregator as KinesisAggregatorConfig;
const reducer = compileReducer(settings);
const DLQ = 'pipeline-dlq-local';
const OUTPUT = 'trade-stats-local';

type Trade = { id: number; tickerSymbol: string; tradeType: 'BUY' | 'SELL'; price: number; quantity: number };

const trades = (n: number, offset = 0): Trade[] =>
  Array.from({ length: n }, (_, i) => ({
    id: offset + i,
    tickerSymbol: ['AMZN', 'MSFT', 'NVDA'][(offset + i) % 3] as string,
    tradeType: (offset + i) % 2 ? 'SELL' : 'BUY',
    price: 100 + ((offset + i) % 11) * 0.5,
    quantity: ((offset + i) % 9) + 1,
  }));

describe('aggregation reducer', () => {
  it('computes every metric of the vocabulary for a group', () => {
    // Prepare
    const state = emptyState();
    const input: Trade[] = [
      { id: 1, tickerSymbol: 'AMZN', tradeType: 'BUY', price: 10, quantity: 1 },
      { id: 2, tickerSymbol: 'AMZN', tradeType: 'SELL', price: 20, quantity: 3 },
      { id: 3, tickerSymbol: 'AMZN', tradeType: 'BUY', price: 16, quantity: 4 },
      { id: 4, tickerSymbol: 'AMZN', tradeType: 'SELL', price: 12, quantity: 3 },
    ];
    // Act
    input.forEach((t, i) => {
      reducer.add(state, t, positionOf('100', i));
    });
    // Assess
    expect(reducer.results(state)).toEqual([
      {
        group: 'AMZN',
        records: 4,
        metrics: {
          trades: 4,
          volume: 11,
          vwap: (10 * 1 + 20 * 3 + 16 * 4 + 12 * 3) / 11,
          minPrice: 10,
          maxPrice: 20,
          firstPrice: 10,
          lastPrice: 12,
          meanPrice: 14.5,
          sides: { BUY: 2, SELL: 2 },
          largestBuy: { id: 3, price: 16, quantity: 4 },
          largestSell: { id: 2, price: 20, quantity: 3 }, // a tie on quantity: the earlier record
        },
      },
    ]);
  });

  it('gives the same result merging partial states in any split and order as in one pass', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 120 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.boolean(),
        (n, cuts, reverse) => {
          // Prepare
          const all = trades(n);
          const once = emptyState();
          all.forEach((t, i) => {
            reducer.add(once, t, positionOf('7', i));
          });
          const bounds = [...new Set([0, ...cuts.map((c) => c % n), n])].sort((a, b) => a - b);
          const parts: WindowState[] = [];
          for (let k = 0; k + 1 < bounds.length; k++) {
            const part = emptyState();
            for (let i = bounds[k] as number; i < (bounds[k + 1] as number); i++) {
              reducer.add(part, all[i], positionOf('7', i));
            }
            parts.push(JSON.parse(JSON.stringify(part))); // states travel as JSON
          }
          // Act
          if (reverse) parts.reverse();
          const merged = parts.reduce((a, b) => reducer.merge(a, b), emptyState());
          // Assess
          expect(JSON.stringify(reducer.results(merged))).toBe(JSON.stringify(reducer.results(once)));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('refuses a record without the fields, leaving the state as it was', () => {
    // Prepare
    const state = emptyState();
    reducer.add(state, trades(1)[0], positionOf('1', 0));
    const before = JSON.stringify(state);
    // Act / Assess
    expect(() =>
      reducer.add(state, { tickerSymbol: 'AMZN', tradeType: 'BUY', quantity: 1 }, positionOf('1', 1)),
    ).toThrow('Record has no usable value at "price"');
    expect(() => reducer.add(state, { price: 1, quantity: 1 }, positionOf('1', 2))).toThrow('"tickerSymbol"');
    expect(JSON.stringify(state)).toBe(before);
  });

  it('keeps the state under its budget by dropping the least important groups, and counts them', () => {
    // Prepare
    const small = compileReducer({ ...settings, state: { maxBytes: 20_000, keepBy: 'volume' } });
    const state = emptyState();
    for (let i = 0; i < 2_000; i++) {
      small.add(state, { ...trades(1, i)[0], tickerSymbol: `T${i}`, quantity: i + 1 }, positionOf('1', i));
    }
    // Act
    const evicted = small.bound(state);
    // Assess
    expect(evicted).toBeGreaterThan(1_000);
    expect(Buffer.byteLength(JSON.stringify(state))).toBeLessThanOrEqual(20_000);
    expect(state.evictedGroups).toBe(evicted);
    expect(Object.keys(state.groups)).toContain('T1999'); // the biggest volume stays
    expect(Object.keys(state.groups)).not.toContain('T0');
  });

  it('skips records the filter does not match, and counts them', () => {
    // Prepare
    const filtered = compileReducer({ ...settings, filter: { path: 'tradeType', equals: 'BUY' } });
    const state = emptyState();
    // Act
    trades(10).forEach((t, i) => {
      filtered.add(state, t, positionOf('1', i));
    });
    // Assess
    expect(state.filtered).toBe(5);
    expect(filtered.results(state).reduce((n, r) => n + r.records, 0)).toBe(5);
  });
});

describe('kinesis-aggregator window', () => {
  beforeEach(() => kinesisMock.reset());

  it('folds plain and KPL-aggregated records into the state, returning it with no failures', async () => {
    // Prepare
    const written = putRecordsDouble(kinesisMock);
    const plain = loadEvent<TumblingWindowEvent>('kinesis-window-plain.json');
    // Act
    const first = await aggregateWindow(plain, aggregatorTestDeps());
    // Assess
    expect(first.batchItemFailures).toEqual([]);
    expect(reducer.results(first.state).map((r) => [r.group, r.records])).toEqual([
      ['AMZN', 2],
      ['MSFT', 2],
      ['NVDA', 2],
    ]);
    // Prepare
    const kpl = loadEvent<TumblingWindowEvent>('kinesis-window-kpl.json');
    kpl.state = JSON.parse(JSON.stringify(first.state));
    // Act
    const second = await aggregateWindow(kpl, aggregatorTestDeps());
    // Assess
    expect(reducer.results(second.state).reduce((n, r) => n + r.records, 0)).toBe(6 + 12);
    expect(written).toHaveLength(0); // nothing written before the final invocation
  });

  it('on the final invocation writes one result per group, with an idempotency key', async () => {
    // Prepare
    const written = putRecordsDouble(kinesisMock);
    const final = loadEvent<TumblingWindowEvent>('kinesis-window-final.json');
    // Act
    const response = await aggregateWindow(final, aggregatorTestDeps());
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const results = textsIn(written, OUTPUT).map((r) => JSON.parse(r));
    expect(results.map((r) => r.group)).toEqual(['AMZN', 'MSFT', 'NVDA']);
    expect(results[0]).toMatchObject({
      windowStart: '2026-11-21T09:00:00Z',
      windowEnd: '2026-11-21T09:01:00Z',
      shardId: 'shardId-000000000000',
      records: 3,
      idempotencyKey: idempotencyKey('2026-11-21T09:00:00Z', 'shardId-000000000000', 'AMZN'),
    });
    expect(Object.keys(results[0].metrics)).toEqual(Object.keys(settings.metrics));
  });

  it('gives the same results whether a window comes in one invocation or several', async () => {
    // Prepare
    putRecordsDouble(kinesisMock);
    const plain = loadEvent<TumblingWindowEvent>('kinesis-window-plain.json');
    const kpl = loadEvent<TumblingWindowEvent>('kinesis-window-kpl.json');
    const oneShot = { ...plain, Records: [...plain.Records, ...kpl.Records] };
    // Act
    const together = await aggregateWindow(oneShot, aggregatorTestDeps());
    const a = await aggregateWindow(plain, aggregatorTestDeps());
    const b = await aggregateWindow(
      { ...kpl, state: JSON.parse(JSON.stringify(a.state)) },
      aggregatorTestDeps(),
    );
    // Assess
    expect(reducer.results(b.state)).toEqual(reducer.results(together.state));
  });

  it('sends bad records to the DLQ with their reasons, without retrying them', async () => {
    // Prepare
    const written = putRecordsDouble(kinesisMock);
    const bad = loadEvent<TumblingWindowEvent>('kinesis-window-bad.json');
    const d = aggregatorTestDeps();
    // Act
    const response = await aggregateWindow(bad, d);
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const envelopes = envelopesIn(written, DLQ);
    expect(envelopes.map((e) => e.reason).sort()).toEqual([
      'BODY_NOT_JSON',
      'KPL_BAD_MD5',
      'MISSING_FIELDS',
      'MISSING_FIELDS',
    ]);
    expect(
      envelopes.every((e) => e.source.type === 'kinesis' && e.source.shardId === 'shardId-000000000000'),
    ).toBe(true);
    expect(reducer.results(response.state).map((r) => r.group)).toEqual(['NVDA']);
    expect(d.metrics.published.get('handler=kinesis-aggregator')).toMatchObject({ sentToDlq: 4 });
  });

  it('hands back from the first record whose dead letter failed, keeping only earlier records in the state', async () => {
    // Prepare
    putRecordsDouble(kinesisMock, (e) => (e.stream === DLQ ? 'InternalFailure' : undefined));
    const bad = loadEvent<TumblingWindowEvent>('kinesis-window-bad.json');
    const incoming = loadEvent<TumblingWindowEvent>('kinesis-window-final.json').state as RawConfig;
    bad.state = incoming;
    // Act
    const response = await aggregateWindow(bad, aggregatorTestDeps());
    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: bad.Records[0]?.kinesis.sequenceNumber }]);
    expect(reducer.results(response.state)).toEqual(reducer.results(incoming as unknown as WindowState));
  });

  it('fails the final invocation when a result cannot be written, so Lambda retries it', async () => {
    // Prepare
    putRecordsDouble(kinesisMock, (e) => (e.stream === OUTPUT ? 'InternalFailure' : undefined));
    // Act / Assess
    await expect(
      aggregateWindow(loadEvent('kinesis-window-final.json'), aggregatorTestDeps()),
    ).rejects.toThrow(RetryLaterError);
  });

  it('marks results of a window that Lambda ended early', async () => {
    // Prepare
    const written = putRecordsDouble(kinesisMock);
    const final = loadEvent<TumblingWindowEvent>('kinesis-window-final.json');
    final.isWindowTerminatedEarly = true;
    // Act
    await aggregateWindow(final, aggregatorTestDeps());
    // Assess
    expect(JSON.parse(textsIn(written, OUTPUT)[0] as string)).toMatchObject({ terminatedEarly: true });
  });

  it('keeps config errors for an unknown keepBy metric at check time', () => {
    // Act / Assess
    expect(() =>
      testConfig((raw) => {
        raw.streams.in = {};
        raw.streams.out = {};
        raw.kinesisAggregator = {
          input: { stream: 'in' },
          output: { stream: 'out' },
          groupBy: 'k',
          metrics: { n: { op: 'count' } },
          state: { keepBy: 'volume' },
        };
      }),
    ).toThrow('kinesisAggregator.state.keepBy: "volume" is not one of the metrics');
  });
});

/** A Kinesis record of the window's input stream carrying `body` (JSON unless a string). */
function kinesisRecord(sequence: number, body: unknown, partitionKey = 'pk'): KinesisStreamRecord {
  const sample = loadEvent<TumblingWindowEvent>('kinesis-window-plain.json')
    .Records[0] as KinesisStreamRecord;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    ...sample,
    kinesis: {
      ...sample.kinesis,
      partitionKey,
      sequenceNumber: String(49650000000000000000000000000000000000000000000000000000n + BigInt(sequence)),
      data: Buffer.from(text).toString('base64'),
    },
  };
}

/** The window's invocations as Lambda makes them: state through JSON, then a final one. */
async function runWindow(batches: KinesisStreamRecord[][], d: AggregatorDeps) {
  const template = loadEvent<TumblingWindowEvent>('kinesis-window-plain.json');
  let state: unknown = {};
  for (const [k, Records] of [...batches, []].entries()) {
    const response = await aggregateWindow(
      {
        ...template,
        Records,
        state: state as TumblingWindowEvent['state'],
        isFinalInvokeForWindow: k === batches.length,
      },
      d,
    );
    state = JSON.parse(JSON.stringify(response.state));
  }
}

describe('kinesis-aggregator window results under any split', () => {
  beforeEach(() => kinesisMock.reset());

  it('writes byte-identical results however the window is split into invocations', async () => {
    const trade = (id: number) =>
      fc.record({
        id: fc.constant(id),
        tickerSymbol: fc.constantFrom('AMZN', 'MSFT', 'NVDA'),
        tradeType: fc.constantFrom('BUY', 'SELL'),
        price: awkwardDouble(),
        quantity: awkwardWeight(),
      });
    const window = fc
      .integer({ min: 1, max: 30 })
      .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => trade(i))));
    await fc.assert(
      fc.asyncProperty(window, fc.array(fc.nat(), { maxLength: 6 }), async (trades, cuts) => {
        // Prepare: the same records, in one invocation and cut into several.
        const records = trades.map((t, i) => kinesisRecord(i, t, t.tickerSymbol));
        const bounds = [...new Set([0, ...cuts.map((c) => c % records.length), records.length])].sort(
          (a, b) => a - b,
        );
        const split = bounds.slice(1).map((end, k) => records.slice(bounds[k], end));
        // Act
        kinesisMock.reset();
        const whole = putRecordsDouble(kinesisMock);
        await runWindow([records], aggregatorTestDeps());
        kinesisMock.reset();
        const pieces = putRecordsDouble(kinesisMock);
        await runWindow(split, aggregatorTestDeps());
        // Assess: the same bytes, so one idempotencyKey never carries two sets of numbers.
        const outputs = (entries: typeof whole) =>
          entries.filter((e) => e.stream === OUTPUT).map((e) => e.text);
        expect(outputs(pieces)).toEqual(outputs(whole));
        const deadLetters = (entries: typeof whole) =>
          entries
            .filter((e) => e.stream === DLQ)
            .map((e) => e.text)
            .sort();
        expect(deadLetters(pieces)).toEqual(deadLetters(whole));
        expect(outputs(whole).length + deadLetters(whole).length).toBeGreaterThan(0);
      }),
      { numRuns: 40 },
    );
  });
});

describe('kinesis-aggregator output partition keys', () => {
  beforeEach(() => kinesisMock.reset());

  const pair = '\u{1F600}'; // two UTF-16 units
  const wellFormedKey = (key: string) => key.isWellFormed() && key.length >= 1 && key.length <= 256;

  it('cuts group keys at 255, 256 and 257 units on a code-point boundary, and never writes an empty key', async () => {
    // Prepare
    const groups = [
      'a'.repeat(254) + pair, // 256 units: kept whole
      'b'.repeat(255) + pair, // the pair across the boundary: cut before it
      'c'.repeat(256) + pair, // 258 units: cut after 256
      'd'.repeat(255),
      'e'.repeat(256),
      'f'.repeat(257),
      `${'g'.repeat(255)}\uD83D`, // ends with a lone high surrogate
      '\uDC00lone low',
      '', // an empty group
    ];
    const entries = putRecordsDouble(kinesisMock);
    const records = groups.map((g, i) => kinesisRecord(i, { ...trades(1, i)[0], tickerSymbol: g }));
    // Act
    await runWindow([records], aggregatorTestDeps());
    // Assess
    const written = entries.filter((e) => e.stream === OUTPUT);
    const keyOf = new Map(written.map((e) => [JSON.parse(e.text).group as string, e.partitionKey]));
    expect(written).toHaveLength(groups.length);
    expect(written.every((e) => wellFormedKey(e.partitionKey))).toBe(true);
    expect(keyOf.get(groups[0] as string)).toBe(groups[0]);
    expect(keyOf.get(groups[1] as string)).toBe('b'.repeat(255));
    expect(keyOf.get(groups[2] as string)).toBe('c'.repeat(256));
    expect(keyOf.get(groups[3] as string)).toBe('d'.repeat(255));
    expect(keyOf.get(groups[4] as string)).toBe('e'.repeat(256));
    expect(keyOf.get(groups[5] as string)).toBe('f'.repeat(256));
    expect(keyOf.get(groups[6] as string)).toBe(`${'g'.repeat(255)}\uFFFD`);
    expect(keyOf.get(groups[7] as string)).toBe('\uFFFDlone low');
    expect(keyOf.get('')).toBe('_');
  });

  it('writes a well-formed key of 1-256 units, a prefix of the group when the group is well formed', async () => {
    const unit = fc.constantFrom('a', 'é', pair, '\uD800', '\uDFFF', ' ');
    const group = fc.array(unit, { minLength: 0, maxLength: 300 }).map((units) => units.join(''));
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(group, { minLength: 1, maxLength: 5 }), async (groups) => {
        // Prepare
        kinesisMock.reset();
        const entries = putRecordsDouble(kinesisMock);
        const records = groups.map((g, i) => kinesisRecord(i, { ...trades(1, i)[0], tickerSymbol: g }));
        // Act
        await runWindow([records], aggregatorTestDeps());
        // Assess
        for (const entry of entries.filter((e) => e.stream === OUTPUT)) {
          const g = JSON.parse(entry.text).group as string;
          expect(wellFormedKey(entry.partitionKey)).toBe(true);
          if (g.isWellFormed() && g.length > 0) {
            expect(g.startsWith(entry.partitionKey)).toBe(true);
            expect(entry.partitionKey.length).toBeGreaterThanOrEqual(Math.min(g.length, 255));
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('kinesis-aggregator logs, through the real Powertools Logger', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    vi.restoreAllMocks();
    vi.resetModules();
    kinesisMock.reset();
  });

  it('emits the reason of each unusable record as JSON, with no reserved key dropped', async () => {
    // Prepare: the deployed function's environment, and its output captured.
    Object.assign(process.env, {
      PIPELINE_STAGE: 'local',
      PIPELINE_PARAMS: JSON.stringify(loadStageConfig('local').functionParams),
      POWERTOOLS_LOG_LEVEL: 'WARN',
      AWS_REGION: 'us-east-1',
    });
    putRecordsDouble(kinesisMock);
    const lines = captureOutput();
    const { handler } = await import('../../functions/kinesis-aggregator/handler.js');
    // Act
    await handler(loadEvent<TumblingWindowEvent>('kinesis-window-bad.json'), lambdaContext('aggregator', 60));
    vi.restoreAllMocks();
    // Assess
    const logs = jsonLines(lines).filter((entry) => entry.level !== undefined);
    const reasons = logs.filter((entry) => entry.reason !== undefined);
    expect(reasons.map((entry) => entry.reason).sort()).toEqual([
      'BODY_NOT_JSON',
      'KPL_BAD_MD5',
      'MISSING_FIELDS',
      'MISSING_FIELDS',
    ]);
    const details = reasons.map((entry) => entry.detail);
    expect(details).toContain('The aggregated record MD5 does not match its content');
    expect(details).toContain('Record has no usable value at "price"');
    expect(details).toContain('Record has no usable value at "tickerSymbol"');
    expect(reasons.every((entry) => entry.level === 'WARN' && entry.deadLetterWritten === true)).toBe(true);
    expect(JSON.stringify(logs)).not.toContain('reserved key');
    expect(JSON.stringify(logs)).not.toContain('not json {'); // no body in the logs
  });
});

describe('kinesis-aggregator window bookkeeping', () => {
  beforeEach(() => kinesisMock.reset());

  const template = () => loadEvent<TumblingWindowEvent>('kinesis-window-plain.json');

  it('publishes what it did: records, user records, dead letters, groups and results written', async () => {
    // Prepare: the KPL sample (1 Kinesis record, 12 user records) plus one bad record, final.
    putRecordsDouble(kinesisMock);
    const kpl = loadEvent<TumblingWindowEvent>('kinesis-window-kpl.json');
    const event = {
      ...kpl,
      Records: [...kpl.Records, kinesisRecord(50, 'not json')],
      isFinalInvokeForWindow: true,
    };
    const d = aggregatorTestDeps();
    // Act
    await aggregateWindow(event, d);
    // Assess
    expect(d.metrics.published.get('handler=kinesis-aggregator')).toEqual({
      records: 2,
      userRecords: 12,
      sentToDlq: 1,
      evictedGroups: 0,
      handedBack: 0,
      groups: 3,
      resultsWritten: 3,
    });
  });

  it('keeps the payload of a dead letter: UTF-8 text as it is, other bytes in base64, with its source', async () => {
    // Prepare
    const entries = putRecordsDouble(kinesisMock);
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x7b]);
    const event = template();
    const records = [kinesisRecord(1, 'plain text, not JSON'), kinesisRecord(2, '')];
    (records[1] as KinesisStreamRecord).kinesis.data = binary.toString('base64');
    event.Records = records;
    // Act
    await aggregateWindow(event, aggregatorTestDeps());
    // Assess
    const [text, bytes] = envelopesIn(entries, DLQ);
    expect(text?.payload).toEqual({ encoding: 'utf8', data: 'plain text, not JSON' });
    expect(bytes?.payload).toEqual({ encoding: 'base64', data: binary.toString('base64') });
    expect(text?.source).toMatchObject({
      type: 'kinesis',
      arn: event.eventSourceARN,
      shardId: event.shardId,
    });
    expect(text?.source.id).toBe(records[0]?.kinesis.sequenceNumber);
    // Without the event-level ARN, the record's own.
    // Prepare
    const bare = { ...event, eventSourceARN: undefined } as unknown as TumblingWindowEvent;
    kinesisMock.reset();
    const again = putRecordsDouble(kinesisMock);
    // Act
    await aggregateWindow(bare, aggregatorTestDeps());
    // Assess
    expect(envelopesIn(again, DLQ)[0]?.source.arn).toBe(records[0]?.eventSourceARN);
  });

  it('names a user record of an aggregated record by sequence and sub-sequence number', async () => {
    // Prepare
    const entries = putRecordsDouble(kinesisMock);
    const kpl = loadEvent<TumblingWindowEvent>('kinesis-window-kpl.json');
    const good = aggregatorTestDeps();
    const [user] = (await import('../../shared/core/kpl.js')).deaggregate(
      (kpl.Records[0] as KinesisStreamRecord).kinesis,
    );
    expect(user?.aggregated).toBe(true);
    // A config whose group path none of the trades has: every user record is a dead letter.
    const strict = compileReducer({ ...settings, groupBy: 'nope' });
    // Act
    await aggregateWindow(kpl, { ...good, reducer: strict });
    // Assess
    const ids = envelopesIn(entries, DLQ).map((e) => e.source.id);
    expect(ids).toHaveLength(12);
    expect(ids[0]).toBe(`${kpl.Records[0]?.kinesis.sequenceNumber}:0`);
    expect(ids[11]).toBe(`${kpl.Records[0]?.kinesis.sequenceNumber}:11`);
  });

  it('hands back from the earliest record whose dead letter failed, and keeps only what came before', async () => {
    // Prepare: good, bad (written), good, bad (refused), good; the DLQ refuses only the second.
    const written = putRecordsDouble(kinesisMock, (e) =>
      e.text.includes('refused') ? 'InternalFailure' : undefined,
    );
    const [a, b, c] = trades(3);
    const event = template();
    event.Records = [
      kinesisRecord(1, a),
      kinesisRecord(2, 'bad'),
      kinesisRecord(3, b),
      kinesisRecord(4, 'refused'),
      kinesisRecord(5, c),
    ];
    // Act
    const response = await aggregateWindow(event, aggregatorTestDeps());
    // Assess
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: event.Records[3]?.kinesis.sequenceNumber },
    ]);
    expect(reducer.results(response.state).reduce((n, g) => n + g.records, 0)).toBe(2);
    expect(textsIn(written, DLQ)).toHaveLength(1);
    // On the final invocation there is nothing to hand back to: it fails, and Lambda retries it.
    await expect(
      aggregateWindow({ ...event, isFinalInvokeForWindow: true }, aggregatorTestDeps()),
    ).rejects.toThrow(RetryLaterError);
  });

  it('says in every result how many groups the state budget dropped, and warns', async () => {
    // Prepare
    const entries = putRecordsDouble(kinesisMock);
    const small = { ...settings, state: { maxBytes: 10_000, keepBy: 'volume' } };
    const d = aggregatorTestDeps({ settings: small, reducer: compileReducer(small) });
    const event = template();
    event.Records = Array.from({ length: 60 }, (_, i) =>
      kinesisRecord(i, { ...trades(1, i)[0], tickerSymbol: `T${i}`, quantity: i + 1 }),
    );
    event.isFinalInvokeForWindow = true;
    // Act
    await aggregateWindow(event, d);
    // Assess
    const results = entries.filter((e) => e.stream === OUTPUT).map((e) => JSON.parse(e.text));
    expect(results.length).toBeGreaterThan(0);
    expect(results.length).toBeLessThan(60);
    expect(results.every((r) => r.evictedGroups === 60 - results.length)).toBe(true);
    expect(d.metrics.published.get('handler=kinesis-aggregator')).toMatchObject({
      evictedGroups: 60 - results.length,
    });
    expect(d.logger.lines.find((l) => l.level === 'warn')?.extra[0]).toMatchObject({
      evictedGroups: 60 - results.length,
      budgetBytes: 10_000,
    });
    // Without eviction or an early end, results carry neither mark.
    // Prepare
    kinesisMock.reset();
    const plain = putRecordsDouble(kinesisMock);
    // Act
    await aggregateWindow(loadEvent<TumblingWindowEvent>('kinesis-window-final.json'), aggregatorTestDeps());
    // Assess
    const first = JSON.parse(plain.find((e) => e.stream === OUTPUT)?.text as string);
    expect(first).not.toHaveProperty('evictedGroups');
    expect(first).not.toHaveProperty('terminatedEarly');
  });

  it('gives each window, shard and group its own idempotency key', () => {
    // Act
    const key = idempotencyKey('2026-11-21T09:00:00Z', 'shardId-000000000000', 'AMZN');
    // Assess
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(idempotencyKey('2026-11-21T09:00:00Z', 'shardId-000000000000', 'AMZN')).toBe(key);
    expect(
      new Set([
        key,
        idempotencyKey('2026-11-21T09:01:00Z', 'shardId-000000000000', 'AMZN'),
        idempotencyKey('2026-11-21T09:00:00Z', 'shardId-000000000001', 'AMZN'),
        idempotencyKey('2026-11-21T09:00:00Z', 'shardId-000000000000', 'AMZN2'),
      ]).size,
    ).toBe(4);
  });

  it('refuses to start without an aggregator in the config', () => {
    // Act / Assess
    expect(() => prepareAggregator({ ...config, kinesisAggregator: undefined })).toThrow(
      /kinesisAggregator: is not configured/,
    );
  });
});

describe('kinesis-aggregator dead letters and results, as written, counted and logged', () => {
  beforeEach(() => kinesisMock.reset());

  const windowOf = (records: KinesisStreamRecord[], final = false): TumblingWindowEvent => ({
    ...loadEvent<TumblingWindowEvent>('kinesis-window-plain.json'),
    Records: records,
    isFinalInvokeForWindow: final,
  });
  const warnings = (d: Recorded) => d.logger.lines.filter((l) => l.level === 'warn');
  /** The config with one stream's largest record set to `bytes`. */
  const withMaxRecordBytes = (stream: string, bytes: number) => {
    const limited = structuredClone(config);
    if (stream === DLQ) limited.dlq.settings.maxRecordSizeKiB = bytes / 1024;
    else (limited.streams[stream] as { maxRecordSizeKiB: number }).maxRecordSizeKiB = bytes / 1024;
    return limited;
  };

  it('logs each dead letter up to the limit, with whether it was written, then counts the rest', async () => {
    // Prepare: 13 records that are not JSON; the DLQ refuses the second one.
    putRecordsDouble(kinesisMock, (entry) =>
      entry.text.includes('"not json 1"') ? 'InternalFailure' : undefined,
    );
    const event = windowOf(Array.from({ length: 13 }, (_, i) => kinesisRecord(i, `not json ${i}`)));
    const d = aggregatorTestDeps({ policy: { maxAttempts: 1 } });
    // Act
    const response = await aggregateWindow(event, d);
    // Assess: ten WARNs, one per dead letter, and one that counts the three not logged.
    const [logged, rest] = [warnings(d).slice(0, -1), warnings(d).at(-1)];
    expect(logged.map((l) => l.extra[0])).toEqual(
      event.Records.slice(0, MAX_LOGGED_DEAD_LETTERS).map((r, i) => ({
        reason: 'BODY_NOT_JSON',
        detail: 'Not JSON',
        recordId: r.kinesis.sequenceNumber,
        deadLetterWritten: i !== 1,
      })),
    );
    expect(rest?.extra[0]).toEqual({ notLogged: 13 - MAX_LOGGED_DEAD_LETTERS });
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: event.Records[1]?.kinesis.sequenceNumber },
    ]);
    expect(d.metrics.published.get('handler=kinesis-aggregator')).toMatchObject({
      records: 13,
      userRecords: 0,
      sentToDlq: 12,
      handedBack: 1,
    });
    expect(d.logger.lines.filter((l) => l.level === 'error')).toHaveLength(1);
  });

  it('logs no warning and no error for a clean batch, and all dead letters with exactly the limit', async () => {
    // Prepare
    putRecordsDouble(kinesisMock);
    const clean = aggregatorTestDeps();
    // Act
    await aggregateWindow(windowOf(trades(20).map((t, i) => kinesisRecord(i, t))), clean);
    // Assess
    expect(clean.logger.lines.filter((l) => l.level !== 'debug' && l.level !== 'info')).toEqual([]);
    // Prepare
    const atLimit = aggregatorTestDeps();
    const bad = Array.from({ length: MAX_LOGGED_DEAD_LETTERS }, (_, i) => kinesisRecord(i, 'x'));
    // Act
    await aggregateWindow(windowOf(bad), atLimit);
    // Assess
    expect(warnings(atLimit)).toHaveLength(MAX_LOGGED_DEAD_LETTERS);
    expect(warnings(atLimit).every((l) => l.extra[0]?.deadLetterWritten === true)).toBe(true);
  });

  it('counts user records once, from the whole batch, when it hands back part of it', async () => {
    // Prepare: trade, not JSON (dead letter refused), trade, trade.
    putRecordsDouble(kinesisMock, () => 'InternalFailure');
    const [a, b, c] = trades(3);
    const event = windowOf([
      kinesisRecord(1, a),
      kinesisRecord(2, 'refused'),
      kinesisRecord(3, b),
      kinesisRecord(4, c),
    ]);
    const d = aggregatorTestDeps({ policy: { maxAttempts: 1 } });
    // Act
    const response = await aggregateWindow(event, d);
    // Assess
    expect(reducer.results(response.state).reduce((n, g) => n + g.records, 0)).toBe(1);
    expect(d.metrics.published.get('handler=kinesis-aggregator')).toEqual({
      records: 4,
      userRecords: 3,
      sentToDlq: 0,
      evictedGroups: 0,
      handedBack: 1,
    });
    expect(warnings(d).map((l) => l.extra[0]?.deadLetterWritten)).toEqual([false]);
  });

  it('retries a dead letter that failed for a moment, with the given backoff, and hands nothing back', async () => {
    // Prepare
    putRecordsDouble(kinesisMock, (_, call) =>
      call === 0 ? 'ProvisionedThroughputExceededException' : undefined,
    );
    const sleep = vi.fn(async () => {});
    const d = aggregatorTestDeps({ sleep, policy: { maxAttempts: 2 } });
    // Act
    const response = await aggregateWindow(windowOf([kinesisRecord(1, 'not json')]), d);
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(sleep).toHaveBeenCalledTimes(1);
    // With one attempt only, the same failure hands the record back.
    // Prepare
    kinesisMock.reset();
    putRecordsDouble(kinesisMock, (_, call) =>
      call === 0 ? 'ProvisionedThroughputExceededException' : undefined,
    );
    // Act
    const once = await aggregateWindow(
      windowOf([kinesisRecord(1, 'not json')]),
      aggregatorTestDeps({ policy: { maxAttempts: 1 } }),
    );
    // Assess
    expect(once.batchItemFailures).toHaveLength(1);
  });

  it('keeps the bytes of a corrupt KPL record in its dead letter, and a short parser message', async () => {
    // Prepare
    const written = putRecordsDouble(kinesisMock);
    const kpl = loadEvent<TumblingWindowEvent>('kinesis-window-bad.json');
    const original = kpl.Records.map((r) => r.kinesis.data);
    const body = `{"tickerSymbol": ${'9'.repeat(300)}`;
    // Act
    await aggregateWindow(
      { ...kpl, Records: [...kpl.Records, kinesisRecord(9, body)] },
      aggregatorTestDeps(),
    );
    // Assess
    const envelopes = written
      .filter((e) => e.stream === DLQ)
      .map((e) => parseDlqEnvelope(e.text) as DlqEnvelope);
    const corrupt = envelopes.find((e) => e.reason === 'KPL_BAD_MD5');
    expect(original).toContain(corrupt?.payload.data);
    expect(corrupt?.payload.encoding).toBe('base64');
    const notJson = envelopes.filter((e) => e.reason === 'BODY_NOT_JSON').at(-1);
    expect(notJson?.message.startsWith('Not JSON: ')).toBe(true);
    expect(notJson?.message.length).toBeLessThanOrEqual('Not JSON: '.length + 80);
    expect(notJson?.payload).toEqual({ encoding: 'utf8', data: body });
  });

  it('keeps to the record size limits of the config for dead letters and for results', async () => {
    // A DLQ that takes at most 200 bytes refuses every envelope: the record is handed back.
    // Prepare
    putRecordsDouble(kinesisMock);
    const tinyDlq = prepareAggregator(withMaxRecordBytes(DLQ, 200));
    // Act
    const handedBack = await aggregateWindow(windowOf([kinesisRecord(1, 'x')]), aggregatorTestDeps(tinyDlq));
    // Assess
    expect(handedBack.batchItemFailures).toHaveLength(1);
    // An output stream that takes at most 200 bytes refuses every result: the final invocation fails.
    // Prepare
    const tinyOutput = prepareAggregator(withMaxRecordBytes(OUTPUT, 200));
    const d = aggregatorTestDeps(tinyOutput);
    const final = loadEvent<TumblingWindowEvent>('kinesis-window-final.json');
    // Act / Assess
    await expect(aggregateWindow(final, d)).rejects.toThrow(RetryLaterError);
    expect(d.metrics.published.get('handler=kinesis-aggregator')).toMatchObject({
      groups: 3,
      resultsWritten: 0,
    });
    expect(d.logger.lines.filter((l) => l.level === 'error').map((l) => l.extra[0])).toEqual([
      { failed: 3, groups: 3 },
    ]);
  });

  it('publishes how many results were written when some were refused, and says when a window closed', async () => {
    // Prepare
    putRecordsDouble(kinesisMock, (entry) =>
      entry.stream === OUTPUT && JSON.parse(entry.text).group === 'MSFT' ? 'InternalFailure' : undefined,
    );
    const d = aggregatorTestDeps({ policy: { maxAttempts: 1 } });
    // Act / Assess
    await expect(aggregateWindow(loadEvent('kinesis-window-final.json'), d)).rejects.toThrow(RetryLaterError);
    expect(d.metrics.published.get('handler=kinesis-aggregator')).toMatchObject({
      groups: 3,
      resultsWritten: 2,
    });
    // Prepare
    kinesisMock.reset();
    putRecordsDouble(kinesisMock);
    const ok = aggregatorTestDeps();
    const final = loadEvent<TumblingWindowEvent>('kinesis-window-final.json');
    // Act
    await aggregateWindow(final, ok);
    // Assess
    const closed = ok.logger.lines.filter((l) => l.level === 'info').at(-1)?.extra[0];
    expect(closed).toMatchObject({
      groups: 3,
      resultsWritten: 3,
      shardId: final.shardId,
      window: final.window,
    });
  });
});

describe('kinesis-aggregator de-aggregation and parsing', () => {
  beforeEach(() => kinesisMock.reset());

  /**
   * What the handler must fold, read the plain way: every user record `deaggregate` gives,
   * decoded as UTF-8 on its own and parsed; its reason when it cannot be used.
   */
  function reference(records: readonly KinesisStreamRecord[]) {
    const state = emptyState();
    const deadLetters: string[] = [];
    for (const { kinesis } of records) {
      let users: ReturnType<typeof deaggregate>;
      try {
        users = deaggregate(kinesis);
      } catch (error) {
        deadLetters.push(`${kinesis.sequenceNumber} ${(error as KplError).reason}`);
        continue;
      }
      for (const user of users) {
        const id = user.aggregated ? `${user.sequenceNumber}:${user.subSequenceNumber}` : user.sequenceNumber;
        let value: unknown;
        try {
          value = JSON.parse(user.data.toString('utf8'));
        } catch {
          deadLetters.push(`${id} BODY_NOT_JSON`);
          continue;
        }
        try {
          reducer.add(state, value, positionOf(user.sequenceNumber, user.subSequenceNumber));
        } catch {
          deadLetters.push(`${id} MISSING_FIELDS`);
        }
      }
    }
    return { state: JSON.parse(JSON.stringify(state)) as WindowState, deadLetters: deadLetters.sort() };
  }

  // User records: trades whose text is ASCII or not (any code point in the group key), bytes
  // that are not UTF-8 or not JSON, and trades that lack a field.
  const tradeText = fc
    .record({
      id: fc.nat(),
      tickerSymbol: fc.oneof(fc.constantFrom('AMZN', 'MSFT'), fc.string({ unit: 'binary', maxLength: 4 })),
      tradeType: fc.constantFrom('BUY', 'SELL'),
      price: awkwardDouble(),
      quantity: awkwardWeight(),
    })
    .map((trade) => JSON.stringify(trade));
  const userData = fc.oneof(
    { weight: 6, arbitrary: tradeText.map((text) => Buffer.from(text)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 20 }).map((bytes) => Buffer.from(bytes)) },
    { weight: 1, arbitrary: tradeText.map((text) => Buffer.from(text.replace('"price"', '"cost"'))) },
    {
      weight: 1,
      arbitrary: tradeText.map((text) => Buffer.concat([Buffer.from(text), Buffer.from([0xc3])])),
    },
  );
  const kinesisOf = (sequence: number, data: Buffer): KinesisStreamRecord => {
    const record = kinesisRecord(sequence, '');
    record.kinesis.data = data.toString('base64');
    return record;
  };
  const record = fc.oneof(
    userData.map((data) => ({ aggregated: false, data, damaged: false })),
    fc.tuple(fc.array(userData, { minLength: 1, maxLength: 12 }), fc.boolean()).map(([users, damaged]) => {
      const data = aggregate(users.map((data) => ({ partitionKey: 'pk', data })));
      if (damaged) data[data.length - 1] = (data[data.length - 1] as number) ^ 1; // a bad MD5
      return { aggregated: true, data, damaged };
    }),
  );

  it('folds and dead-letters exactly what deaggregate, UTF-8 decoding and JSON.parse give', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 8 }), async (inputs) => {
        // Prepare
        const records = inputs.map(({ data }, i) => kinesisOf(i, data));
        kinesisMock.reset();
        const written = putRecordsDouble(kinesisMock);
        const template = loadEvent<TumblingWindowEvent>('kinesis-window-plain.json');
        // Act
        const response = await aggregateWindow(
          { ...template, Records: records, state: {}, isFinalInvokeForWindow: false },
          aggregatorTestDeps(),
        );
        // Assess
        const expected = reference(records);
        // Through JSON, as Lambda carries it; exact sums by their exact value (see window-state.ts).
        const state = JSON.parse(JSON.stringify(response.state)) as WindowState;
        expect(comparableState(settings, state)).toEqual(comparableState(settings, expected.state));
        const deadLetters = envelopesIn(written, DLQ)
          .map((envelope) => `${envelope.source.id} ${envelope.reason}`)
          .sort();
        expect(deadLetters).toEqual(expected.deadLetters);
      }),
      { numRuns: 200 },
    );
  });
});
