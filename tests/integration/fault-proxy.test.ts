/**
 * The fault proxy itself, in front of kinesalite: entry failures come back in request order
 * with the right count, the same seed makes the same decisions, and an answer delayed past
 * the client's timeout makes the writer retry (a duplicate, as at-least-once allows).
 */
import { type KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startKinesalite } from '../../local/emulators.js';
import { seededDecider, startFaultProxy } from '../../local/fault-proxy.js';
import { createStream } from '../../local/provision.js';
import { readStream } from '../../local/stream-reader.js';
import { createKinesisClient, keepAliveHandler } from '../../shared/core/aws-clients.js';
import { writeRecords } from '../../shared/core/kinesis-writer.js';

const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };
const settings = {
  capacity: { mode: 'PROVISIONED' as const, shards: 1 },
  retentionHours: 24,
  maxRecordSizeKiB: 1024,
};
let kinesalite: Emulator;
let direct: KinesisClient;

beforeAll(async () => {
  kinesalite = await startKinesalite();
  direct = createKinesisClient({ endpoint: kinesalite.endpoint, region: 'us-east-1', credentials });
});

afterAll(async () => {
  await kinesalite?.stop();
});

describe('fault proxy', () => {
  it('fails single entries as Kinesis does: in request order, counted, the rest written', async () => {
    // Prepare
    await createStream(direct, 'fp-entries', settings);
    const proxy = await startFaultProxy(kinesalite.endpoint, 42, { entryFailure: 0.3 });
    const client = createKinesisClient({ endpoint: proxy.endpoint, region: 'us-east-1', credentials });
    // Act
    const response = await client.send(
      new PutRecordsCommand({
        StreamName: 'fp-entries',
        Records: Array.from({ length: 50 }, (_, i) => ({
          PartitionKey: `k${i}`,
          Data: Buffer.from(`r${i}`),
        })),
      }),
    );
    // Assess
    const failed = (response.Records ?? []).filter((r) => r.ErrorCode);
    expect(failed.length).toBe(proxy.counts.failedEntries);
    expect(response.FailedRecordCount).toBe(failed.length);
    expect(failed.length).toBeGreaterThan(5);
    expect(
      failed.every((r) =>
        ['ProvisionedThroughputExceededException', 'InternalFailure'].includes(r.ErrorCode as string),
      ),
    ).toBe(true);
    const written = (await readStream(direct, 'fp-entries')).map((r) => Buffer.from(r.data).toString());
    const expectedWritten = (response.Records ?? []).flatMap((r, i) => (r.ErrorCode ? [] : [`r${i}`]));
    expect(written).toEqual(expectedWritten);
    await proxy.stop();
  });

  it('decides the same way for the same seed, whatever the order', () => {
    // Prepare
    const a = seededDecider(7);
    const b = seededDecider(7);
    // Act
    const first = [a('x')(), a('y')(), a('x')()];
    const second = [b('y')(), b('x')(), b('x')()];
    // Assess
    expect([first[0], first[1], first[2]]).toEqual([second[1], second[0], second[2]]);
    expect(seededDecider(8)('x')()).not.toBe(first[0]);
  });

  it('delays answers past the client timeout, and the writer retries (writing twice)', async () => {
    // Prepare
    await createStream(direct, 'fp-delay', settings);
    const proxy = await startFaultProxy(kinesalite.endpoint, 1, { delay: 1, delayMs: 600 });
    const client = createKinesisClient({
      endpoint: proxy.endpoint,
      region: 'us-east-1',
      credentials,
      requestHandler: keepAliveHandler(200), // the handlers' own settings, with a short timeout
    });
    // Act
    const pending = writeRecords([{ stream: 'fp-delay', partitionKey: 'k', data: 'once' }], {
      kinesis: client,
      sleep: async () => {
        proxy.setRates({ delay: 0 }); // the retry gets a prompt answer
      },
    });
    const result = await pending;
    // Assess
    expect(result.outcomes[0]).toMatchObject({ status: 'written', attempts: 2 });
    expect(proxy.counts.delayed).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 700)); // the delayed answer lands too
    expect((await readStream(direct, 'fp-delay')).map((r) => Buffer.from(r.data).toString())).toEqual([
      'once',
      'once',
    ]);
    await proxy.stop();
  });
});
