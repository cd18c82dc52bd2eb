/**
 * The bad-input corpus (tests/corpus) through all four handlers' cores: each returns
 * normally, and each payload gets its typed outcome, whose reason is checked.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FirehoseTransformConfig } from '../../shared/core/config/schema.js';
import { parseDlqEnvelope } from '../../shared/core/dlq.js';
import { noMetrics, silentLogger } from '../../shared/core/observability.js';
import { validateEvents } from '../../shared/event-validator/event-validator.js';
import { compileTransform } from '../../shared/firehose-transform/firehose-transform.js';
import {
  aggregateWindow,
  type TumblingWindowEvent,
} from '../../shared/kinesis-aggregator/kinesis-aggregator.js';
import { processSqsBatch } from '../../shared/sqs-to-kinesis/sqs-to-kinesis.js';
import { CORPUS } from '../corpus/bad-inputs.js';
import { fixedNow, noSleep } from '../helpers/doubles.js';
import { loadEvent, localConfig } from '../helpers/fixtures.js';
import { envelopesIn, type PutEntry, putEventsDouble, putRecordsDouble } from '../helpers/service-doubles.js';
import { aggregatorTestDeps, mapperTestDeps, validatorTestDeps } from '../helpers/test-deps.js';

const kinesisMock = mockClient(KinesisClient);
const eventBridgeMock = mockClient(EventBridgeClient);
const config = localConfig();
const DLQ = config.dlq.stream;
const _common = { logger: silentLogger, metrics: noMetrics, now: fixedNow, sleep: noSleep };

const dlqReasons = (writes: PutEntry[]) => envelopesIn(writes, DLQ).map((envelope) => envelope.reason);

function sqsEvent(arn: string, body: string): SQSEvent {
  const event = loadEvent('sqs-standard.json');
  const record = event.Records[0] as SQSRecord;
  return { Records: [{ ...record, eventSourceARN: arn, body }] };
}

describe('the bad-input corpus', () => {
  beforeEach(() => {
    kinesisMock.reset();
    eventBridgeMock.reset();
  });
  // Every item, whichever test runs it and in whatever order, leaves no prototype polluted.
  afterEach(() => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });

  const visits = config.sqsToKinesis?.routes.find((r) => r.name === 'page-visits');

  it.each(CORPUS.map((c) => [c.name, c] as const))('%s: sqs-to-kinesis', async (_, item) => {
    // Prepare
    const writes = putRecordsDouble(kinesisMock);
    // Act
    const response = await processSqsBatch(
      sqsEvent(visits?.queueArn as string, item.bytes.toString('utf8')),
      mapperTestDeps(config),
    );
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const outcome = writes.some((w) => w.stream === visits?.target) ? 'written' : dlqReasons(writes)[0];
    expect(outcome).toBe(item.mapper);
  });

  it.each(CORPUS.map((c) => [c.name, c] as const))('%s: firehose-transform', (_, item) => {
    // Prepare
    const transform = compileTransform(config.firehoseTransform as FirehoseTransformConfig, Buffer.from('k'));
    // Act
    const outcome = transform(item.firehoseData ?? item.bytes.toString('base64'));
    // Assess
    expect(outcome.result === 'ProcessingFailed' ? outcome.reason : outcome.result).toBe(item.firehose);
  });

  it.each(CORPUS.map((c) => [c.name, c] as const))('%s: kinesis-aggregator', async (_, item) => {
    // Prepare
    const writes = putRecordsDouble(kinesisMock);
    const event = loadEvent<TumblingWindowEvent>('kinesis-window-plain.json');
    event.Records = [{ ...(event.Records[0] as (typeof event.Records)[number]) }];
    (event.Records[0] as (typeof event.Records)[number]).kinesis = {
      ...(event.Records[0] as (typeof event.Records)[number]).kinesis,
      data: item.bytes.toString('base64'),
    };
    // Act
    const response = await aggregateWindow(event, aggregatorTestDeps({}, config));
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(dlqReasons(writes)[0] ?? 'folded').toBe(item.aggregator);
  });

  it.each(CORPUS.map((c) => [c.name, c] as const))('%s: event-validator', async (_, item) => {
    // Prepare
    const writes = putRecordsDouble(kinesisMock);
    const published = putEventsDouble(eventBridgeMock);
    // Act
    const response = await validateEvents(
      sqsEvent('arn:aws:sqs:us-east-1:123456789012:events', item.bytes.toString('utf8')),
      validatorTestDeps(),
    );
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(published.length > 0 ? 'republished' : dlqReasons(writes)[0]).toBe(item.validator);
  });

  it('writes a record of exactly the size limit, and dead-letters one a byte over', async () => {
    // Prepare
    const clicks = config.sqsToKinesis?.routes.find((r) => r.name === 'partner-clicks');
    const limit = 1024 * 1024;
    const record = (size: number) => {
      const event = sqsEvent(clicks?.queueArn as string, '');
      const r = event.Records[0] as SQSRecord;
      r.messageAttributes = {
        tenant: { dataType: 'String', stringValue: 't', stringListValues: [], binaryListValues: [] },
      };
      r.body = JSON.stringify({ pad: 'x'.repeat(size - 1 - '{"pad":""}'.length) }); // + 1 byte of key
      return event;
    };
    const writes = putRecordsDouble(kinesisMock);
    const deps = mapperTestDeps(config);
    // Act
    await processSqsBatch(record(limit), deps);
    await processSqsBatch(record(limit + 1), deps);
    // Assess
    expect(writes.map((w) => (w.stream === DLQ ? parseDlqEnvelope(w.data).reason : w.stream))).toEqual([
      clicks?.target,
      'RECORD_TOO_LARGE',
    ]);
  });
});
