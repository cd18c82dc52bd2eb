import {
  KinesisClient,
  PutRecordsCommand,
  type PutRecordsCommandInput,
  ResourceNotFoundException,
} from '@aws-sdk/client-kinesis';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  entrySize,
  isRetryableCallError,
  MAX_PUT_RECORDS_BYTES,
  type WriteEntry,
  writeRecords,
} from '../../shared/core/kinesis-writer.js';
import { noSleep } from '../helpers/doubles.js';
import { putRecordsDouble } from '../helpers/service-doubles.js';

const kinesisMock = mockClient(KinesisClient);
const kinesis = new KinesisClient({ region: 'us-east-1' });

const entry = (i: number, stream = 'events', size = 10, partitionKey = `pk-${i}`): WriteEntry => ({
  stream,
  partitionKey,
  data: Buffer.alloc(size, i % 256),
});

const sentInputs = () => kinesisMock.commandCalls(PutRecordsCommand).map((call) => call.args[0].input);
const requestBytes = (input: PutRecordsCommandInput) =>
  (input.Records ?? []).reduce(
    (sum, r) => sum + (r.Data?.byteLength ?? 0) + Buffer.byteLength(r.PartitionKey ?? ''),
    0,
  );

describe('kinesis writer', () => {
  beforeEach(() => {
    kinesisMock.reset();
  });

  it('splits entries into requests of at most 500, per stream, keeping input order in the outcomes', async () => {
    // Prepare
    putRecordsDouble(kinesisMock);
    const entries = [
      ...Array.from({ length: 1201 }, (_, i) => entry(i)),
      ...Array.from({ length: 3 }, (_, i) => entry(i, 'arn:aws:kinesis:us-east-1:123456789012:stream/other')),
    ];
    // Act
    const result = await writeRecords(entries, { kinesis, sleep: noSleep });
    // Assess
    const inputs = sentInputs();
    expect(inputs.map((input) => input.Records?.length)).toEqual([500, 500, 201, 3]);
    expect(inputs[0]?.StreamName).toBe('events');
    expect(inputs[3]).toMatchObject({ StreamARN: 'arn:aws:kinesis:us-east-1:123456789012:stream/other' });
    expect(inputs[3]?.StreamName).toBeUndefined();
    expect(result.requests).toBe(4);
    expect(result.outcomes).toHaveLength(1204);
    expect(result.outcomes.every((o) => o.status === 'written')).toBe(true);
    expect(result.outcomes[501]).toMatchObject({ status: 'written', sequenceNumber: '502', attempts: 1 });
    expect(inputs[1]?.Records?.[0]?.PartitionKey).toBe('pk-500');
  });

  it('keeps every request under 5 MiB, partition-key bytes included', async () => {
    // Prepare: ten entries whose data alone is exactly 5 MiB; the keys push it over.
    putRecordsDouble(kinesisMock);
    const size = MAX_PUT_RECORDS_BYTES / 10;
    const entries = Array.from({ length: 10 }, (_, i) => entry(i, 'events', size, `key-${i}`));
    // Act
    await writeRecords(entries, { kinesis, sleep: noSleep, maxRecordBytes: () => 1024 * 1024 });
    // Assess
    const inputs = sentInputs();
    expect(inputs.map((input) => input.Records?.length)).toEqual([9, 1]);
    for (const input of inputs) expect(requestBytes(input)).toBeLessThanOrEqual(MAX_PUT_RECORDS_BYTES);
  });

  it('never sends an entry over its stream max record size and reports it as oversize', async () => {
    // Prepare
    putRecordsDouble(kinesisMock);
    const entries = [
      entry(0, 'events', 1024 * 1024 - 4, 'abcd'), // exactly 1 MiB with its key: fits
      entry(1, 'events', 1024 * 1024 - 4, 'abcde'), // one byte over
      entry(2, 'big', 2 * 1024 * 1024 - 10, 'k'), // fits a 2 MiB stream
    ];
    // Act
    const result = await writeRecords(entries, {
      kinesis,
      sleep: noSleep,
      maxRecordBytes: (stream) => (stream === 'big' ? 2 * 1024 * 1024 : 1024 * 1024),
    });
    // Assess
    expect(result.outcomes[0]?.status).toBe('written');
    expect(result.outcomes[1]).toEqual({ status: 'oversize', size: 1024 * 1024 + 1, limit: 1024 * 1024 });
    expect(result.outcomes[2]?.status).toBe('written');
    const sentKeys = sentInputs().flatMap((input) => input.Records?.map((r) => r.PartitionKey));
    expect(sentKeys).not.toContain('abcde');
  });

  it('counts text data in UTF-8 bytes, not characters', async () => {
    // Prepare
    putRecordsDouble(kinesisMock);
    const half = 512 * 1024; // 'é' is two bytes: half a MiB of characters fills 1 MiB
    const fits = { stream: 'events', partitionKey: 'k', data: `${'é'.repeat(half - 1)}a` }; // 1 MiB - 1 + key
    const over = { stream: 'events', partitionKey: 'kk', data: 'é'.repeat(half) };
    // Act
    const result = await writeRecords([fits, over], { kinesis, sleep: noSleep });
    // Assess
    expect(result.outcomes[0]?.status).toBe('written');
    expect(result.outcomes[1]).toEqual({ status: 'oversize', size: 1024 * 1024 + 2, limit: 1024 * 1024 });
  });

  it('retries only the failed entries, and reports every entry written in the end', async () => {
    // Prepare: the first call fails entries 1 and 3; the retry succeeds.
    kinesisMock
      .on(PutRecordsCommand)
      .resolvesOnce({
        FailedRecordCount: 2,
        Records: [
          { SequenceNumber: 's0', ShardId: 'shard-0' },
          { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' },
          { SequenceNumber: 's2', ShardId: 'shard-0' },
          { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal service failure.' },
        ],
      })
      .resolvesOnce({
        FailedRecordCount: 0,
        Records: [
          { SequenceNumber: 's1', ShardId: 'shard-1' },
          { SequenceNumber: 's3', ShardId: 'shard-1' },
        ],
      });
    const delays: number[] = [];
    // Act
    const result = await writeRecords(
      [0, 1, 2, 3].map((i) => entry(i)),
      {
        kinesis,
        sleep: async (ms) => {
          delays.push(ms);
        },
        random: () => 0.5,
      },
    );
    // Assess
    const inputs = sentInputs();
    expect(inputs[1]?.Records?.map((r) => r.PartitionKey)).toEqual(['pk-1', 'pk-3']);
    expect(result.outcomes.map((o) => (o.status === 'written' ? o.sequenceNumber : o.status))).toEqual([
      's0',
      's1',
      's2',
      's3',
    ]);
    expect(result.outcomes[1]).toMatchObject({ attempts: 2 });
    expect(result.retriedEntries).toBe(2);
    expect(result.requests).toBe(2);
    expect(delays).toEqual([25]); // full jitter: 0.5 * min(cap, 50 * 2^0)
  });

  it('does not retry an entry that failed with a non-retryable code', async () => {
    // Prepare
    kinesisMock.on(PutRecordsCommand).resolves({
      FailedRecordCount: 1,
      Records: [{ ErrorCode: 'KMSAccessDeniedException', ErrorMessage: 'denied' }],
    });
    // Act
    const result = await writeRecords([entry(0)], { kinesis, sleep: noSleep });
    // Assess
    expect(result.outcomes[0]).toEqual({
      status: 'failed',
      errorCode: 'KMSAccessDeniedException',
      errorMessage: 'denied',
      attempts: 1,
    });
    expect(result.requests).toBe(1);
  });

  it('retries a whole call that failed with a 5xx or a dropped connection', async () => {
    // Prepare
    const unavailable = Object.assign(new Error('Service Unavailable'), {
      name: 'ServiceUnavailable',
      $metadata: { httpStatusCode: 503 },
    });
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    kinesisMock
      .on(PutRecordsCommand)
      .rejectsOnce(unavailable)
      .rejectsOnce(reset)
      .resolves({ FailedRecordCount: 0, Records: [{ SequenceNumber: 's', ShardId: 'shard-0' }] });
    // Act
    const result = await writeRecords([entry(0)], { kinesis, sleep: noSleep });
    // Assess
    expect(result.outcomes[0]).toMatchObject({ status: 'written', attempts: 3 });
    expect(result.requests).toBe(3);
  });

  it('fails at once, without retrying, when the call itself is refused (4xx)', async () => {
    // Prepare
    kinesisMock.on(PutRecordsCommand).rejects(
      new ResourceNotFoundException({
        message: 'Stream events not found',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    // Act
    const result = await writeRecords([entry(0), entry(1)], { kinesis, sleep: noSleep });
    // Assess
    expect(result.outcomes).toEqual([
      {
        status: 'failed',
        errorCode: 'ResourceNotFoundException',
        errorMessage: 'Stream events not found',
        attempts: 1,
      },
      {
        status: 'failed',
        errorCode: 'ResourceNotFoundException',
        errorMessage: 'Stream events not found',
        attempts: 1,
      },
    ]);
    expect(result.requests).toBe(1);
  });

  it('gives up after the configured number of attempts', async () => {
    // Prepare
    kinesisMock.on(PutRecordsCommand).resolves({
      FailedRecordCount: 1,
      Records: [{ ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded' }],
    });
    // Act
    const result = await writeRecords([entry(0)], { kinesis, sleep: noSleep, policy: { maxAttempts: 4 } });
    // Assess
    expect(result.requests).toBe(4);
    expect(result.outcomes[0]).toMatchObject({
      status: 'failed',
      errorCode: 'ProvisionedThroughputExceededException',
      attempts: 4,
    });
    expect(result.outcomes[0]?.status === 'failed' && result.outcomes[0].errorMessage).toContain(
      'after 4 attempts',
    );
  });

  it('stops retrying when the invocation has no time left for another attempt', async () => {
    // Prepare
    kinesisMock.on(PutRecordsCommand).resolves({
      FailedRecordCount: 1,
      Records: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'Internal service failure.' }],
    });
    let remaining = 10_000;
    // Act
    const result = await writeRecords([entry(0)], {
      kinesis,
      remainingTimeMs: () => remaining,
      sleep: async (ms) => {
        remaining -= 4_000 + ms; // each attempt and its wait use up time
      },
      random: () => 1,
    });
    // Assess
    // 10 s: attempt 1 and its wait use 4.05 s (5.95 s left); attempt 2 and its wait 4.1 s
    // (1.85 s left); after attempt 3 the next wait would end inside the 3 s reserve: stop.
    expect(result.requests).toBe(3);
    expect(remaining).toBe(1_850);
    expect(result.outcomes[0]?.status === 'failed' && result.outcomes[0].errorMessage).toContain(
      'no time left',
    );
  });

  it('draws backoff delays with full jitter under an exponential, capped ceiling', () => {
    // Prepare
    const policy = DEFAULT_RETRY_POLICY;
    // Act / Assess
    expect(backoffDelay(1, policy, () => 0)).toBe(0);
    expect(backoffDelay(1, policy, () => 0.999)).toBeLessThan(policy.baseDelayMs);
    expect(backoffDelay(4, policy, () => 0.999)).toBe(Math.floor(0.999 * policy.baseDelayMs * 8));
    expect(backoffDelay(20, policy, () => 0.999)).toBe(Math.floor(0.999 * policy.maxDelayMs));
  });

  it('classifies call errors: throttling and 5xx retry, other 4xx do not', () => {
    // Act / Assess
    expect(isRetryableCallError({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } })).toBe(
      true,
    );
    expect(isRetryableCallError({ name: 'InternalFailure', $metadata: { httpStatusCode: 500 } })).toBe(true);
    expect(isRetryableCallError(new Error('socket hang up'))).toBe(true);
    expect(isRetryableCallError({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } })).toBe(
      false,
    );
    expect(isRetryableCallError({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } })).toBe(
      false,
    );
  });
});

describe('kinesis writer, request and response details', () => {
  beforeEach(() => {
    kinesisMock.reset();
  });

  it('sends the explicit hash key when an entry has one, and only then', async () => {
    // Prepare
    putRecordsDouble(kinesisMock);
    const entries: WriteEntry[] = [
      {
        stream: 'events',
        partitionKey: 'a',
        data: 'x',
        explicitHashKey: '340282366920938463463374607431768211455',
      },
      { stream: 'events', partitionKey: 'b', data: 'y' },
    ];
    // Act
    await writeRecords(entries, { kinesis, sleep: noSleep });
    // Assess
    const records = sentInputs()[0]?.Records ?? [];
    expect(records[0]?.ExplicitHashKey).toBe('340282366920938463463374607431768211455');
    expect(records[1]).not.toHaveProperty('ExplicitHashKey');
  });

  it('counts text data in UTF-8 bytes and binary data in bytes, partition key included', () => {
    // Act / Assess
    expect(entrySize({ stream: 's', partitionKey: 'é', data: '✓✓' })).toBe(2 + 6);
    expect(entrySize({ stream: 's', partitionKey: 'k', data: new Uint8Array(5) })).toBe(1 + 5);
  });

  it('takes a result as written only with a sequence number, a shard and no error code', async () => {
    // Prepare: one entry each way a result can fall short, then a plain success.
    kinesisMock.on(PutRecordsCommand).resolvesOnce({
      FailedRecordCount: 3,
      Records: [
        { SequenceNumber: '1', ErrorCode: 'InvalidArgumentException', ErrorMessage: 'bad' },
        { ShardId: 'shardId-000000000000' },
        { SequenceNumber: '3', ShardId: 'shardId-000000000000', ErrorCode: 'Refused' },
        { SequenceNumber: '4', ShardId: 'shardId-000000000001' },
      ],
    });
    // Act
    const result = await writeRecords([entry(1), entry(2), entry(3), entry(4)], {
      kinesis,
      sleep: noSleep,
      policy: { maxAttempts: 1 },
    });
    // Assess
    expect(result.outcomes.map((o) => (o.status === 'failed' ? o.errorCode : o.status))).toEqual([
      'InvalidArgumentException',
      'MissingResult',
      'Refused',
      'written',
    ]);
    expect(result.outcomes[1]).toMatchObject({ errorMessage: expect.stringContaining('returned no result') });
    expect(result.outcomes[3]).toMatchObject({ sequenceNumber: '4', shardId: 'shardId-000000000001' });
  });

  it('retries every entry of a response that lists no records, as missing results', async () => {
    // Prepare
    let calls = 0;
    kinesisMock.on(PutRecordsCommand).callsFake((input: PutRecordsCommandInput) =>
      calls++ === 0
        ? { FailedRecordCount: 0 }
        : {
            FailedRecordCount: 0,
            Records: (input.Records ?? []).map(() => ({ SequenceNumber: 's', ShardId: 'x' })),
          },
    );
    // Act
    const result = await writeRecords([entry(1), entry(2)], { kinesis, sleep: noSleep });
    // Assess
    expect(result.requests).toBe(2);
    expect(result.outcomes.every((o) => o.status === 'written' && o.attempts === 2)).toBe(true);
  });
});
