/**
 * The bad-input corpus (tests/corpus) through all four handlers' cores: each returns
 * normally, and each payload gets its typed outcome, whose reason is checked.
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import { KinesisClient, PutRecordsCommand, type PutRecordsCommandInput } from '@aws-sdk/client-kinesis';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { FirehoseTransformConfig } from '../../shared/core/config/schema.js';
import { parseDlqEnvelope } from '../../shared/core/dlq.js';
import { noMetrics, silentLogger } from '../../shared/core/observability.js';
import { compileSchemas, schemaFileReader } from '../../shared/event-validator/event-schemas.js';
import { validateEvents } from '../../shared/event-validator/event-validator.js';
import { compileTransform } from '../../shared/firehose-transform/firehose-transform.js';
import {
  aggregateWindow,
  prepareAggregator,
  type TumblingWindowEvent,
} from '../../shared/kinesis-aggregator/kinesis-aggregator.js';
import { prepareMapper, processSqsBatch } from '../../shared/sqs-to-kinesis/sqs-to-kinesis.js';
import { CORPUS } from '../corpus/bad-inputs.js';
import { fixedNow, noSleep } from '../helpers/doubles.js';
import { loadEvent, localConfig } from '../helpers/fixtures.js';

const kinesisMock = mockClient(KinesisClient);
const eventBridgeMock = mockClient(EventBridgeClient);
const config = localConfig();
const DLQ = config.dlq.stream;
const common = { logger: silentLogger, metrics: noMetrics, now: fixedNow, sleep: noSleep };

/** Records every Kinesis write; answers them all written. */
function kinesisWrites() {
  const writes: { stream: string; data: string }[] = [];
  kinesisMock.on(PutRecordsCommand).callsFake((input: PutRecordsCommandInput) => {
    for (const r of input.Records ?? [])
      writes.push({ stream: input.StreamName ?? '', data: Buffer.from(r.Data as Uint8Array).toString() });
    return {
      FailedRecordCount: 0,
      Records: (input.Records ?? []).map(() => ({ SequenceNumber: '1', ShardId: 'shardId-000000000000' })),
    };
  });
  return writes;
}

const dlqReasons = (writes: { stream: string; data: string }[]) =>
  writes.filter((w) => w.stream === DLQ).map((w) => parseDlqEnvelope(w.data).reason);

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

  const visits = config.sqsToKinesis?.routes.find((r) => r.name === 'page-visits');

  it.each(CORPUS.map((c) => [c.name, c] as const))('%s: sqs-to-kinesis', async (_, item) => {
    const writes = kinesisWrites();
    const response = await processSqsBatch(
      sqsEvent(visits?.queueArn as string, item.bytes.toString('utf8')),
      {
        ...prepareMapper(config),
        kinesis: new KinesisClient({}),
        ...common,
      },
    );
    expect(response.batchItemFailures).toEqual([]);
    const outcome = writes.some((w) => w.stream === visits?.target) ? 'written' : dlqReasons(writes)[0];
    expect(outcome).toBe(item.mapper);
  });

  it.each(CORPUS.map((c) => [c.name, c] as const))('%s: firehose-transform', (_, item) => {
    const transform = compileTransform(config.firehoseTransform as FirehoseTransformConfig, Buffer.from('k'));
    const outcome = transform(item.firehoseData ?? item.bytes.toString('base64'));
    expect(outcome.result === 'ProcessingFailed' ? outcome.reason : outcome.result).toBe(item.firehose);
  });

  it.each(CORPUS.map((c) => [c.name, c] as const))('%s: kinesis-aggregator', async (_, item) => {
    const writes = kinesisWrites();
    const event = loadEvent<TumblingWindowEvent>('kinesis-window-plain.json');
    event.Records = [{ ...(event.Records[0] as (typeof event.Records)[number]) }];
    (event.Records[0] as (typeof event.Records)[number]).kinesis = {
      ...(event.Records[0] as (typeof event.Records)[number]).kinesis,
      data: item.bytes.toString('base64'),
    };
    const response = await aggregateWindow(event, {
      ...prepareAggregator(config),
      kinesis: new KinesisClient({}),
      ...common,
    });
    expect(response.batchItemFailures).toEqual([]);
    expect(dlqReasons(writes)[0] ?? 'folded').toBe(item.aggregator);
  });

  it.each(CORPUS.map((c) => [c.name, c] as const))('%s: event-validator', async (_, item) => {
    const writes = kinesisWrites();
    let published = 0;
    eventBridgeMock.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => {
      published += input.Entries?.length ?? 0;
      return { FailedEntryCount: 0, Entries: (input.Entries ?? []).map(() => ({ EventId: 'e' })) };
    });
    const validator = config.eventValidator as NonNullable<typeof config.eventValidator>;
    const response = await validateEvents(
      sqsEvent('arn:aws:sqs:us-east-1:123456789012:events', item.bytes.toString('utf8')),
      {
        config,
        schemas: compileSchemas(validator, schemaFileReader()),
        eventBridge: new EventBridgeClient({}),
        kinesis: new KinesisClient({}),
        busArn: 'arn:aws:events:us-east-1:123456789012:event-bus/central-local',
        ...common,
      },
    );
    expect(response).toEqual({ batchItemFailures: [] });
    expect(published > 0 ? 'republished' : dlqReasons(writes)[0]).toBe(item.validator);
  });

  it('left no prototype polluted', () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('writes a record of exactly the size limit, and dead-letters one a byte over', async () => {
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
    const writes = kinesisWrites();
    const deps = { ...prepareMapper(config), kinesis: new KinesisClient({}), ...common };
    await processSqsBatch(record(limit), deps);
    await processSqsBatch(record(limit + 1), deps);
    expect(writes.map((w) => (w.stream === DLQ ? parseDlqEnvelope(w.data).reason : w.stream))).toEqual([
      clicks?.target,
      'RECORD_TOO_LARGE',
    ]);
  });
});
