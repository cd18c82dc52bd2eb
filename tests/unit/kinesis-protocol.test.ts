/**
 * The PutRecords fast path (shared/core/kinesis-protocol.ts): the body it builds says what
 * the SDK's own serializer says, for any records; the client the handlers build really uses
 * it (a test that fails if an SDK upgrade stops calling the configured protocol); answers,
 * partial failures and errors come back exactly as through the SDK's own code.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DescribeStreamSummaryCommand,
  type KinesisClient,
  PutRecordsCommand,
  type PutRecordsInput,
  ResourceNotFoundException,
} from '@aws-sdk/client-kinesis';
import { AwsJson1_1Protocol } from '@aws-sdk/core/protocols';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKinesisClient } from '../../shared/core/aws-clients.js';
import { fastPathUse, KinesisWriteProtocol, putRecordsBody } from '../../shared/core/kinesis-protocol.js';

/** What a fake Kinesis endpoint saw, and what it answers next. */
interface Exchange {
  target: string;
  contentType: string;
  body: string;
  authorization: string;
  contentSha256?: string;
}

let server: Server;
let endpoint: string;
const seen: Exchange[] = [];
let answer: (exchange: Exchange) => { status: number; body: string; headers?: Record<string, string> } =
  () => ({
    status: 200,
    body: '{}',
  });

beforeAll(async () => {
  server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const exchange: Exchange = {
      target: String(req.headers['x-amz-target']),
      contentType: String(req.headers['content-type']),
      body: Buffer.concat(chunks).toString('utf8'),
      authorization: String(req.headers.authorization),
    };
    seen.push(exchange);
    const { status, body, headers } = answer(exchange);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': 'req-1',
      ...headers,
    });
    res.end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server?.close();
});

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const ours = () => createKinesisClient({ endpoint, region: 'us-east-1', credentials });
const sdks = () =>
  createKinesisClient({ endpoint, region: 'us-east-1', credentials, protocol: AwsJson1_1Protocol });

const recordArb = fc.record(
  {
    Data: fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.string({ unit: 'grapheme', maxLength: 60 }).map((text) => new TextEncoder().encode(text)),
      // The writer hands text over as a string (its UTF-8 bytes), lone surrogates included.
      fc
        .string({
          unit: fc.oneof(
            fc.constantFrom('\ud800', '\udc00'),
            fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
          ),
          maxLength: 700,
        })
        .map((text) => text as unknown as Uint8Array),
    ),
    PartitionKey: fc.oneof(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
      fc.constantFrom('"quoted"', 'back\\slash', 'line\nbreak', '\u0000\u001f', '\u2028\u2029', '</script>'),
    ),
    ExplicitHashKey: fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }).map(String),
  },
  { requiredKeys: ['Data', 'PartitionKey'] },
);
const inputArb: fc.Arbitrary<PutRecordsInput> = fc.record(
  {
    Records: fc.array(recordArb, { maxLength: 12 }),
    StreamName: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
    StreamARN: fc.constant('arn:aws:kinesis:us-east-1:123456789012:stream/s'),
    StreamId: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
  },
  { requiredKeys: ['Records'] },
);

/** The body a client put on the wire for `input`, and the exchange around it. */
async function wireOf(client: KinesisClient, input: PutRecordsInput): Promise<Exchange> {
  answer = () => ({ status: 200, body: '{"FailedRecordCount":0,"Records":[]}' });
  const before = seen.length;
  await client.send(new PutRecordsCommand(input));
  return seen[before] as Exchange;
}

describe('the PutRecords body', () => {
  it('says what the SDK serializer says, for any records, keys and data', async () => {
    const [fast, sdk] = [ours(), sdks()];
    await fc.assert(
      fc.asyncProperty(inputArb, async (input) => {
        // Act
        const mine = await wireOf(fast, input);
        const theirs = await wireOf(sdk, input);
        // Assess: the same JSON, the same call, a signature over what was sent.
        expect(JSON.parse(mine.body)).toEqual(JSON.parse(theirs.body));
        expect(mine.target).toBe('Kinesis_20131202.PutRecords');
        expect(mine.target).toBe(theirs.target);
        expect(mine.contentType).toBe(theirs.contentType);
        expect(mine.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\//);
      }),
      { numRuns: 100 },
    );
  });

  it('writes records bigger than its reused scratch space whole, growing it as often as needed', async () => {
    // Prepare: text records past 64 KiB and past twice that, with multi-byte characters.
    const [fast, sdk] = [ours(), sdks()];
    const input: PutRecordsInput = {
      StreamName: 's',
      Records: [70_000, 150_000, 10, 400_000].map((length, i) => ({
        Data: `${'é'.repeat(length / 2)}${'x'.repeat(length / 2)}` as unknown as Uint8Array,
        PartitionKey: `k${i}`,
      })),
    };
    // Act
    const mine = await wireOf(fast, input);
    const theirs = await wireOf(sdk, input);
    // Assess
    expect(JSON.parse(mine.body)).toEqual(JSON.parse(theirs.body));
    const written = JSON.parse(mine.body).Records.map((record: { Data: string }) =>
      Buffer.from(record.Data, 'base64').toString('utf8'),
    );
    expect(written).toEqual(input.Records?.map((record) => record.Data));
  });

  it('writes a string as its UTF-8 bytes, as the SDK does', () => {
    // Act
    const body = JSON.parse(
      putRecordsBody({ Records: [{ Data: 'héllo' as unknown as Uint8Array, PartitionKey: 'k' }] }).toString(
        'utf8',
      ),
    );
    // Assess
    expect(Buffer.from(body.Records[0].Data, 'base64').toString('utf8')).toBe('héllo');
  });
});

describe('the client the handlers build', () => {
  it('sends PutRecords through the fast path, and nothing else (fails if the SDK stops calling it)', async () => {
    // Prepare
    const client = ours();
    expect(client.config.protocol).toBeInstanceOf(KinesisWriteProtocol);
    const before = { ...fastPathUse };
    // Act
    answer = (exchange) =>
      exchange.target.endsWith('.PutRecords')
        ? { status: 200, body: '{"FailedRecordCount":0,"Records":[{"SequenceNumber":"1","ShardId":"s-0"}]}' }
        : {
            status: 200,
            body: '{"StreamDescriptionSummary":{"StreamName":"s","StreamStatus":"ACTIVE","OpenShardCount":1}}',
          };
    await client.send(
      new PutRecordsCommand({ StreamName: 's', Records: [{ Data: Buffer.from('x'), PartitionKey: 'k' }] }),
    );
    const afterPut = { ...fastPathUse };
    const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: 's' }));
    // Assess: the PutRecords request and answer through our code; the other call through the SDK's.
    expect(afterPut.requests - before.requests).toBe(1);
    expect(afterPut.responses - before.responses).toBe(1);
    expect(fastPathUse).toEqual(afterPut);
    expect(summary.StreamDescriptionSummary?.StreamStatus).toBe('ACTIVE');
  });

  it('reads a partial failure as the SDK does: every field of every entry', async () => {
    // Prepare
    const reply = {
      FailedRecordCount: 1,
      EncryptionType: 'KMS',
      Records: [
        { SequenceNumber: '4959', ShardId: 'shardId-000000000001' },
        { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' },
      ],
    };
    answer = () => ({ status: 200, body: JSON.stringify(reply) });
    const input = {
      StreamName: 's',
      Records: [
        { Data: Buffer.from('a'), PartitionKey: 'a' },
        { Data: Buffer.from('b'), PartitionKey: 'b' },
      ],
    };
    // Act
    const mine = await ours().send(new PutRecordsCommand(input));
    const theirs = await sdks().send(new PutRecordsCommand(input));
    // Assess
    expect(mine).toEqual(theirs);
    expect(mine).toMatchObject({ ...reply, $metadata: { httpStatusCode: 200, requestId: 'req-1' } });
  });

  it('leaves errors to the SDK: the same typed exception, status and request id', async () => {
    // Prepare
    answer = () => ({
      status: 400,
      body: '{"__type":"ResourceNotFoundException","message":"Stream s under account 123456789012 not found."}',
    });
    const input = { StreamName: 's', Records: [{ Data: Buffer.from('a'), PartitionKey: 'a' }] };
    // Act
    const mine = await ours()
      .send(new PutRecordsCommand(input))
      .catch((error: unknown) => error);
    const theirs = await sdks()
      .send(new PutRecordsCommand(input))
      .catch((error: unknown) => error);
    // Assess
    expect(mine).toBeInstanceOf(ResourceNotFoundException);
    expect(theirs).toBeInstanceOf(ResourceNotFoundException);
    const fields = (e: unknown) => {
      const { name, message, $metadata } = e as ResourceNotFoundException;
      return { name, message, status: $metadata.httpStatusCode, requestId: $metadata.requestId };
    };
    expect(fields(mine)).toEqual(fields(theirs));
    expect(fields(mine).status).toBe(400);
  });

  it('reads an empty success answer as the SDK does: no fields, no crash', async () => {
    answer = () => ({ status: 200, body: '' });
    const mine = await ours().send(new PutRecordsCommand({ StreamName: 's', Records: [] }));
    const theirs = await sdks().send(new PutRecordsCommand({ StreamName: 's', Records: [] }));
    expect(mine).toEqual(theirs);
    expect(mine.Records).toBeUndefined();
  });
});
