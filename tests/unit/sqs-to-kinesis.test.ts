import { KinesisClient, ListShardsCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DlqEnvelope } from '../../shared/core/dlq.js';
import { KPL_MAGIC } from '../../shared/core/kpl.js';
import { fifoSequenceKey, processSqsBatch } from '../../shared/sqs-to-kinesis/sqs-to-kinesis.js';
import { jsonLines, realLogger } from '../helpers/captured-output.js';
import { evenShards, landingShard } from '../helpers/faulty-kinesis.js';
import { loadEvent } from '../helpers/fixtures.js';
import { deaggregateWithLibrary } from '../helpers/kpl.js';
import { envelopesIn, type PutEntry, putRecordsDouble } from '../helpers/service-doubles.js';
import { mapperTestDeps } from '../helpers/test-deps.js';

const kinesisMock = mockClient(KinesisClient);
const _kinesis = new KinesisClient({ region: 'us-east-1' });
const DLQ = 'pipeline-dlq-local';

const envelopes = (written: PutEntry[]): DlqEnvelope[] => envelopesIn(written, DLQ);

describe('sqs-to-kinesis core', () => {
  beforeEach(() => kinesisMock.reset());

  it('writes every message of a standard batch to its stream and reports no failures', async () => {
    // Prepare
    const written = putRecordsDouble(kinesisMock);
    const event = loadEvent('sqs-standard.json');
    const d = mapperTestDeps();
    // Act
    const response = await processSqsBatch(event, d);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(written.map((w) => [w.stream, w.partitionKey])).toEqual([
      ['page-visits-local', 'u-1842'],
      ['page-visits-local', 'u-77'],
      ['page-visits-local', '42'],
    ]);
    expect(d.metrics.published.get('route=page-visits')).toEqual({
      received: 3,
      written: 3,
      sentToDlq: 0,
      handedBack: 0,
      retried: 0,
    });
  });

  it('sends each malformed message to the DLQ stream in an envelope with its reason and original body', async () => {
    // Prepare
    const written = putRecordsDouble(kinesisMock);
    const event = loadEvent('sqs-malformed.json');
    const d = mapperTestDeps();
    // Act
    const response = await processSqsBatch(event, d);
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const dlq = envelopes(written);
    expect(dlq.map((e) => e.reason)).toEqual([
      'BODY_NOT_JSON',
      'BODY_NOT_OBJECT',
      'PARTITION_KEY_MISSING',
      'PARTITION_KEY_INVALID',
      'PARTITION_KEY_MISSING',
    ]);
    const first = event.Records[0] as SQSRecord;
    expect(dlq[0]).toEqual({
      version: 1,
      reason: 'BODY_NOT_JSON',
      message: expect.stringContaining('Body is not valid JSON'),
      handler: 'sqs-to-kinesis',
      failedAt: '2026-11-21T10:00:00.000Z',
      source: {
        type: 'sqs',
        arn: first.eventSourceARN,
        id: first.messageId,
        approximateReceiveCount: 1,
        sentTimestamp: first.attributes.SentTimestamp,
        messageAttributes: {},
      },
      target: 'page-visits-local',
      payload: { encoding: 'utf8', data: first.body },
    });
    expect(dlq[4]?.source.messageAttributes).toEqual({});
    expect(written.filter((w) => w.stream === DLQ).map((w) => w.partitionKey)).toEqual(
      event.Records.slice(0, 5).map((r) => r.messageId),
    );
    expect(written.filter((w) => w.stream === 'page-visits-local')).toHaveLength(1);
    expect(d.metrics.published.get('route=page-visits')).toMatchObject({
      received: 5,
      written: 1,
      sentToDlq: 4,
    });
    expect(d.metrics.published.get('route=partner-clicks')).toMatchObject({ received: 1, sentToDlq: 1 });
  });

  it('sends a message from a queue with no route to the DLQ stream, counted as unrouted', async () => {
    // Prepare
    const written = putRecordsDouble(kinesisMock);
    const d = mapperTestDeps();
    // Act
    const response = await processSqsBatch(loadEvent('sqs-no-route.json'), d);
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(envelopes(written).map((e) => [e.reason, e.target])).toEqual([['NO_ROUTE', undefined]]);
    expect(d.metrics.published.get('route=unrouted')).toMatchObject({ received: 1, sentToDlq: 1 });
  });

  it('routes a mixed batch from several queues in one pass', async () => {
    // Prepare
    const written = putRecordsDouble(kinesisMock);
    // Act
    const response = await processSqsBatch(loadEvent('sqs-multi-queue.json'), mapperTestDeps());
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(written.map((w) => w.stream).sort()).toEqual([
      'clicks-local',
      'clicks-local',
      'orders-local',
      'page-visits-local',
    ]);
  });

  it('hands back exactly the messages whose write still fails after the retries', async () => {
    // Prepare: the stream keeps refusing user u-77's record.
    const written = putRecordsDouble(kinesisMock, (put) =>
      put.partitionKey === 'u-77' ? 'ProvisionedThroughputExceededException' : undefined,
    );
    const event = loadEvent('sqs-standard.json');
    const d = mapperTestDeps();
    // Act
    const response = await processSqsBatch(event, d);
    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[1]?.messageId }]);
    expect(written).toHaveLength(2);
    expect(kinesisMock.commandCalls(PutRecordsCommand)).toHaveLength(3); // one call, two retries of one entry
    expect(d.metrics.published.get('route=page-visits')).toMatchObject({
      written: 2,
      handedBack: 1,
      retried: 1,
    });
    const errorLine = d.logger.lines.find((line) => line.level === 'error');
    expect(errorLine?.extra[0]).toMatchObject({
      handedBack: 1,
      errors: { ProvisionedThroughputExceededException: 1 },
    });
  });

  it('hands back a malformed message whose DLQ write fails, instead of acknowledging it', async () => {
    // Prepare
    putRecordsDouble(kinesisMock, (put) => (put.stream === DLQ ? 'InternalFailure' : undefined));
    const event = loadEvent('sqs-malformed.json');
    // Act
    const response = await processSqsBatch(event, mapperTestDeps());
    // Assess
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
      event.Records.slice(0, 5).map((r) => r.messageId),
    );
  });

  it('hands back every later message of a FIFO group once one of them fails', async () => {
    // Prepare: the first write of customer-17's first order fails for good.
    const event = loadEvent('sqs-fifo.json');
    const firstOrder = event.Records[0]?.body as string;
    putRecordsDouble(kinesisMock, (put) =>
      Buffer.from(put.data).toString().includes('"status":"created","total":59.9')
        ? 'InternalFailure'
        : undefined,
    );
    const d = mapperTestDeps();
    // Act
    const response = await processSqsBatch(event, d);
    // Assess: customer-17's three messages come back, never sent after the first; customer-4's is written.
    expect(firstOrder).toContain('59.9');
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
      event.Records[0]?.messageId,
      event.Records[2]?.messageId,
      event.Records[3]?.messageId,
    ]);
    const sentKeys = kinesisMock.commandCalls(PutRecordsCommand).map((c) => c.args[0].input.Records?.length);
    expect(sentKeys).toEqual([2, 1, 1]); // customer-17's head with customer-4's, then its two retries
    const errorLine = d.logger.lines.find((line) => line.level === 'error');
    expect(errorLine?.extra[0]).toMatchObject({
      received: 4,
      written: 1,
      handedBack: 3,
      requests: 3,
      errors: { InternalFailure: 1, FIFO_GROUP_BLOCKED: 2 },
    });
  });

  it('sends a message whose mapping fails unexpectedly to the DLQ as UNEXPECTED_ERROR, and logs the error', async () => {
    // Prepare: a route whose partition-key rule throws something that is not a MappingError.
    const written = putRecordsDouble(kinesisMock);
    const event = loadEvent('sqs-standard.json');
    const d = mapperTestDeps();
    const route = d.router.get(event.Records[0]?.eventSourceARN as string);
    const broken = new TypeError('rule broke');
    const router = new Map(d.router);
    router.set(event.Records[0]?.eventSourceARN as string, {
      ...(route as NonNullable<typeof route>),
      partitionKey: () => {
        throw broken;
      },
    });
    // Act
    const response = await processSqsBatch(event, { ...d, router });
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(envelopes(written).map((e) => [e.reason, e.message, e.target])).toEqual(
      event.Records.map(() => ['UNEXPECTED_ERROR', 'rule broke', 'page-visits-local']),
    );
    const logged = d.logger.lines.filter((line) => line.level === 'error').map((line) => line.extra[0]);
    expect(logged).toEqual(event.Records.map((r) => ({ messageId: r.messageId, error: broken })));
    expect(d.logger.lines.find((line) => line.level === 'info')?.extra[0]).toEqual({
      received: 3,
      written: 0,
      sentToDlq: { UNEXPECTED_ERROR: 3 },
      dlqMessageIds: event.Records.map((r) => r.messageId),
      handedBack: 0,
      requests: 1,
      retriedEntries: 0,
    });
  });

  it('keys FIFO order by queue and message group, and keeps no order for standard queues', () => {
    // Prepare
    const record = (arn: string, group: string | undefined): SQSRecord =>
      ({ eventSourceARN: arn, attributes: group ? { MessageGroupId: group } : {} }) as SQSRecord;
    // Act / Assess
    expect(fifoSequenceKey(record('q.fifo', 'a'))).toBe('q.fifo\u0000a');
    expect(fifoSequenceKey(record('q.fifo', 'a'))).not.toBe(fifoSequenceKey(record('other.fifo', 'a')));
    expect(fifoSequenceKey(record('q.fifo', undefined))).toBeUndefined();
    expect(fifoSequenceKey(record('std', 'a'))).toBeUndefined();
    expect(fifoSequenceKey({ attributes: { MessageGroupId: 'a' } } as unknown as SQSRecord)).toBeUndefined();
  });

  it('sends a record over its stream size to the DLQ stream with the original body', async () => {
    // Prepare
    const written = putRecordsDouble(kinesisMock);
    const event: SQSEvent = loadEvent('sqs-multi-queue.json');
    const big = event.Records[1] as SQSRecord; // a click: the body goes out unchanged
    big.body = JSON.stringify({ button: 'buy', pad: 'x'.repeat(1024 * 1024) });
    // Act
    const response = await processSqsBatch(event, mapperTestDeps());
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const [envelope] = envelopes(written);
    expect(envelope).toMatchObject({ reason: 'RECORD_TOO_LARGE', target: 'clicks-local' });
    expect(envelope?.payload.data).toBe(big.body);
  });

  it('hands back a message whose DLQ envelope would not fit the DLQ stream', async () => {
    // Prepare
    const written = putRecordsDouble(kinesisMock);
    const event: SQSEvent = loadEvent('sqs-multi-queue.json');
    const big = event.Records[1] as SQSRecord;
    big.body = JSON.stringify({ button: 'buy', pad: 'x'.repeat(2 * 1024 * 1024) }); // over the 2 MiB DLQ
    // Act
    const response = await processSqsBatch(event, mapperTestDeps());
    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: big.messageId }]);
    expect(written.filter((w) => w.stream === DLQ)).toEqual([]);
  });

  it('never logs a message body', async () => {
    // Prepare
    putRecordsDouble(kinesisMock, (put) => (put.partitionKey === 'u-ok' ? 'InternalFailure' : undefined));
    const event = loadEvent('sqs-malformed.json');
    const secret = 'body-secret-7f3a';
    for (const record of event.Records) record.body = record.body.replace('"page"', `"${secret}":1,"page"`);
    const d = mapperTestDeps();
    // Act
    await processSqsBatch(event, d);
    // Assess
    expect(d.logger.lines.length).toBeGreaterThan(0);
    expect(JSON.stringify(d.logger.lines)).not.toContain(secret);
  });
});

describe('sqs-to-kinesis logs through the real Powertools Logger', () => {
  beforeEach(() => kinesisMock.reset());
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('puts the reason of each handed-back message in the emitted JSON, with no reserved key dropped', async () => {
    // Prepare: a logger that emits, its output captured; Kinesis refuses u-77's record for good.
    const { logger, output: lines } = realLogger('sqs-to-kinesis');
    putRecordsDouble(kinesisMock, (put) =>
      put.partitionKey === 'u-77' ? 'KMSAccessDeniedException' : undefined,
    );
    const event = loadEvent('sqs-standard.json');
    // Act
    const response = await processSqsBatch(event, { ...mapperTestDeps(), logger });
    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[1]?.messageId }]);
    const emitted = lines.flatMap((line) => line.split('\n')).filter((line) => line.startsWith('{'));
    const logged = emitted.map((line) => JSON.parse(line) as Record<string, unknown>);
    const handedBack = logged.find((entry) => entry.message === 'Messages handed back to SQS for a retry');
    expect(handedBack).toMatchObject({
      level: 'ERROR',
      handedBack: 1,
      errors: { KMSAccessDeniedException: 1 },
      messageIds: [event.Records[1]?.messageId],
    });
    expect(emitted.join('\n')).not.toContain('reserved key');
  });

  it('writes a burst of page visits as KPL records, one per shard, and logs how many', async () => {
    // Prepare: page-visits has aggregation and 2 shards; ListShards answers as Kinesis would.
    const { logger, output: lines } = realLogger('sqs-to-kinesis');
    kinesisMock.on(ListShardsCommand).resolves({ Shards: evenShards(2) });
    const written = putRecordsDouble(kinesisMock);
    const event = loadEvent('sqs-page-visits-burst.json');
    // Act
    const response = await processSqsBatch(event, { ...mapperTestDeps(), logger });
    // Assess: twelve visits in at most two aggregated records, each read back by aws-kinesis-agg.
    expect(response.batchItemFailures).toEqual([]);
    expect(written.length).toBeGreaterThan(0);
    expect(written.length).toBeLessThanOrEqual(2);
    const users = [];
    for (const record of written) {
      expect(record.data.subarray(0, 4)).toEqual(KPL_MAGIC);
      const opened = await deaggregateWithLibrary({
        data: record.data.toString('base64'),
        partitionKey: record.partitionKey,
        sequenceNumber: '1',
      });
      for (const user of opened) {
        // Each visit on the shard of its own user, whatever the aggregated record's key.
        expect(landingShard(evenShards(2), record.partitionKey, record.explicitHashKey)).toBe(
          landingShard(evenShards(2), user.partitionKey),
        );
        users.push(user);
      }
    }
    expect(users.map((u) => JSON.parse(Buffer.from(u.data, 'base64').toString()).userId).sort()).toEqual(
      event.Records.map((r) => JSON.parse(r.body).user.id).sort(),
    );
    const logged = jsonLines(lines).find((entry) => entry.message === 'Batch processed');
    expect(logged).toMatchObject({ level: 'INFO', received: 12, kinesisRecords: written.length });
    expect(lines.join('')).not.toContain('visitor');
  });

  it('writes plain records when ListShards is refused, and warns with the cause', async () => {
    // Prepare
    const { logger, output: lines } = realLogger('sqs-to-kinesis');
    kinesisMock.on(ListShardsCommand).rejects(
      Object.assign(new Error('User is not authorized to perform kinesis:ListShards'), {
        name: 'AccessDeniedException',
      }),
    );
    const written = putRecordsDouble(kinesisMock);
    const event = loadEvent('sqs-page-visits-burst.json');
    // Act
    const response = await processSqsBatch(event, { ...mapperTestDeps(), logger });
    // Assess: nothing lost, each visit its own record, and the reason in the log.
    expect(response.batchItemFailures).toEqual([]);
    expect(written).toHaveLength(12);
    expect(written.every((record) => !record.data.subarray(0, 4).equals(KPL_MAGIC))).toBe(true);
    const warned = jsonLines(lines).find((entry) =>
      String(entry.message).startsWith('Shard map unavailable'),
    );
    expect(warned).toMatchObject({
      level: 'WARN',
      stream: 'page-visits-local',
      error: 'AccessDeniedException: User is not authorized to perform kinesis:ListShards',
    });
    expect(jsonLines(lines).find((entry) => entry.message === 'Batch processed')).toMatchObject({
      kinesisRecords: 12,
    });
  });

  it('refreshes the shard map when a record lands on another shard than predicted', async () => {
    // Prepare: ListShards says 2 shards, but PutRecords puts everything on shard 0 (a merge).
    const { logger, output: lines } = realLogger('sqs-to-kinesis');
    kinesisMock.on(ListShardsCommand).resolves({ Shards: evenShards(2) });
    putRecordsDouble(kinesisMock);
    const deps = { ...mapperTestDeps(), logger };
    // Act: two batches through one container.
    await processSqsBatch(loadEvent('sqs-page-visits-burst.json'), deps);
    await processSqsBatch(loadEvent('sqs-page-visits-burst.json'), deps);
    // Assess: the map was read again for the second batch, and the first said why.
    expect(kinesisMock.commandCalls(ListShardsCommand)).toHaveLength(2);
    const warned = jsonLines(lines).filter((entry) => String(entry.message).includes('shard map refreshed'));
    expect(warned[0]).toMatchObject({ level: 'WARN', streams: ['page-visits-local'] });
  });
});

describe('sqs-to-kinesis DLQ envelope source', () => {
  beforeEach(() => kinesisMock.reset());

  it('says where a dead letter came from: queue, id, receive count, sent time, group and attributes', async () => {
    // Prepare: a FIFO message and a standard one, both not JSON.
    const fifo = structuredClone(loadEvent('sqs-fifo.json').Records[0] as SQSRecord);
    fifo.body = 'not json {';
    fifo.messageAttributes = {
      tenant: { stringValue: 't-1', dataType: 'String' },
    } as SQSRecord['messageAttributes'];
    const standard = structuredClone(loadEvent('sqs-standard.json').Records[0] as SQSRecord);
    standard.body = 'not json either';
    standard.attributes.ApproximateReceiveCount = '3';
    delete (standard as Partial<SQSRecord>).messageAttributes;
    const written = putRecordsDouble(kinesisMock);
    // Act
    const response = await processSqsBatch({ Records: [fifo, standard] }, mapperTestDeps());
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const [fromFifo, fromStandard] = envelopes(written);
    expect(fromFifo?.source).toEqual({
      type: 'sqs',
      arn: fifo.eventSourceARN,
      id: fifo.messageId,
      approximateReceiveCount: 1,
      sentTimestamp: fifo.attributes.SentTimestamp,
      messageGroupId: 'customer-17',
      messageAttributes: fifo.messageAttributes,
    });
    expect(fromStandard?.source).toEqual({
      type: 'sqs',
      arn: standard.eventSourceARN,
      id: standard.messageId,
      approximateReceiveCount: 3,
      sentTimestamp: standard.attributes.SentTimestamp,
      messageAttributes: {},
    });
    expect(fromStandard?.payload).toEqual({ encoding: 'utf8', data: 'not json either' });
  });
});
