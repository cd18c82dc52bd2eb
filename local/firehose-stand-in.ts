/**
 * A local stand-in for a Firehose delivery stream with a Lambda processor and an S3
 * destination: it buffers records up to the processor's buffer size, invokes the
 * transform with an event shaped as Firehose shapes it, checks the response the way
 * Firehose does (every recordId once, a known result, base64 data), and writes what came
 * back into a folder laid out like the bucket: Ok records under the (partitioned) prefix,
 * ProcessingFailed ones under errors/processing-failed/.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import type { Context, FirehoseTransformationEvent, FirehoseTransformationResult } from 'aws-lambda';

export type FirehoseHandler = (
  event: FirehoseTransformationEvent,
  context: Context,
) => Promise<FirehoseTransformationResult>;

export interface StandInOptions {
  deliveryStreamArn: string;
  region: string;
  /** The processor's buffer size, in MiB (Firehose: 0.2-3). */
  bufferMiB: number;
  /** The S3 prefix, with `!{partitionKeyFromLambda:key}` expressions. */
  prefix: string;
  /** Where the "bucket" is. */
  outDir: string;
}

export interface StandInCounts {
  invocations: number;
  records: number;
  ok: number;
  dropped: number;
  failed: number;
  /** Contract breaches found in responses (missing, unknown or repeated recordIds, bad results). */
  contractErrors: string[];
  files: string[];
}

const RESULTS = new Set(['Ok', 'Dropped', 'ProcessingFailed']);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function isCanonicalBase64(data: unknown): boolean {
  return (
    typeof data === 'string' && BASE64.test(data) && Buffer.from(data, 'base64').toString('base64') === data
  );
}

/** Checks a processor response against its request, as Firehose would. */
export function contractErrors(
  event: FirehoseTransformationEvent,
  response: FirehoseTransformationResult,
): string[] {
  const errors: string[] = [];
  const expected = event.records.map((r) => r.recordId);
  const got = (response?.records ?? []).map((r) => r.recordId);
  if (got.length !== expected.length) errors.push(`${got.length} results for ${expected.length} records`);
  const seen = new Set<string>();
  for (const [i, record] of (response?.records ?? []).entries()) {
    if (record.recordId !== expected[i])
      errors.push(`result ${i} has recordId ${record.recordId}, expected ${expected[i]}`);
    if (seen.has(record.recordId)) errors.push(`recordId ${record.recordId} comes back twice`);
    seen.add(record.recordId);
    if (!RESULTS.has(record.result))
      errors.push(`recordId ${record.recordId}: unknown result ${record.result}`);
    // Data is required but for Dropped; when present it must be canonical base64 (it round-trips).
    const data: unknown = record.data;
    if (data === undefined ? record.result !== 'Dropped' : !isCanonicalBase64(data)) {
      errors.push(`recordId ${record.recordId}: data is not base64`);
    }
  }
  return errors;
}

function resolvePrefix(prefix: string, keys: Record<string, string> | undefined): string {
  return prefix.replace(
    /!\{partitionKeyFromLambda:([A-Za-z0-9_]+)\}/g,
    (_, key: string) => keys?.[key] ?? 'unknown',
  );
}

export async function deliver(
  payloads: readonly Buffer[],
  handler: FirehoseHandler,
  context: () => Context,
  options: StandInOptions,
): Promise<StandInCounts> {
  const counts: StandInCounts = {
    invocations: 0,
    records: 0,
    ok: 0,
    dropped: 0,
    failed: 0,
    contractErrors: [],
    files: [],
  };
  const limit = options.bufferMiB * 1024 * 1024;
  const batches: Buffer[][] = [[]];
  let size = 0;
  for (const payload of payloads) {
    if (size + payload.byteLength > limit && (batches.at(-1) as Buffer[]).length > 0) {
      batches.push([]);
      size = 0;
    }
    (batches.at(-1) as Buffer[]).push(payload);
    size += payload.byteLength;
  }
  const files = new Map<string, string[]>();
  let sequence = 0;
  for (const batch of batches.filter((b) => b.length > 0)) {
    const event: FirehoseTransformationEvent = {
      invocationId: randomUUID(),
      deliveryStreamArn: options.deliveryStreamArn,
      region: options.region,
      records: batch.map((payload) => ({
        recordId: `${Date.now()}${String(sequence++).padStart(8, '0')}`,
        approximateArrivalTimestamp: Date.now(),
        data: payload.toString('base64'),
      })),
    };
    const response = await handler(event, context());
    counts.invocations++;
    counts.records += batch.length;
    counts.contractErrors.push(...contractErrors(event, response));
    for (const record of response.records) {
      if (record.result === 'Dropped') {
        counts.dropped++;
        continue;
      }
      const failed = record.result === 'ProcessingFailed';
      if (failed) counts.failed++;
      else counts.ok++;
      const where = failed
        ? 'errors/processing-failed/'
        : resolvePrefix(options.prefix, record.metadata?.partitionKeys as Record<string, string> | undefined);
      // Firehose backs a failed record up as a JSON line holding its original data.
      const line = failed
        ? `${JSON.stringify({ recordId: record.recordId, errorCode: 'Lambda.ProcessingFailed', rawData: record.data })}\n`
        : Buffer.from(record.data ?? '', 'base64').toString('utf8');
      files.set(where, [...(files.get(where) ?? []), line]);
    }
  }
  const streamName = options.deliveryStreamArn.slice(options.deliveryStreamArn.lastIndexOf('/') + 1);
  for (const [where, lines] of files) {
    const file = join(
      options.outDir,
      where,
      `${streamName}-1-${new Date().toISOString().replace(/[:.]/g, '-')}`,
    );
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, lines.join(''));
    counts.files.push(file);
  }
  return counts;
}

/** What the PutRecordBatch stand-in checks, as Firehose does. */
const MAX_BATCH_RECORDS = 500;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
const MAX_RECORD_BYTES = 1000 * 1024;

export interface PutRecordBatchStandIn {
  endpoint: string;
  /** Accepted records' data, by delivery stream, in arrival order. */
  records: Map<string, Buffer[]>;
  stop(): Promise<void>;
}

/**
 * A local stand-in for Firehose's PutRecordBatch on loopback (re-ingestion's target): at most
 * 500 records and 4 MiB per call, 1,000 KiB per record; accepted records are kept.
 */
export async function startPutRecordBatchStandIn(): Promise<PutRecordBatchStandIn> {
  const records = new Map<string, Buffer[]>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(body));
      };
      if (req.headers['x-amz-target'] !== 'Firehose_20150804.PutRecordBatch') {
        reply(400, { __type: 'UnknownOperationException', message: 'Only PutRecordBatch is served here' });
        return;
      }
      const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        DeliveryStreamName?: string;
        Records?: { Data?: string }[];
      };
      const batch = (input.Records ?? []).map((r) => Buffer.from(r.Data ?? '', 'base64'));
      const total = batch.reduce((n, b) => n + b.byteLength, 0);
      if (
        !input.DeliveryStreamName ||
        batch.length === 0 ||
        batch.length > MAX_BATCH_RECORDS ||
        total > MAX_BATCH_BYTES
      ) {
        reply(400, {
          __type: 'InvalidArgumentException',
          message: 'A batch takes 1-500 records and at most 4 MiB',
        });
        return;
      }
      const kept = records.get(input.DeliveryStreamName) ?? [];
      records.set(input.DeliveryStreamName, kept);
      const responses = batch.map((data) => {
        if (data.byteLength > MAX_RECORD_BYTES) {
          return { ErrorCode: 'InvalidArgumentException', ErrorMessage: 'Record over 1,000 KiB' };
        }
        kept.push(data);
        return { RecordId: randomUUID() };
      });
      reply(200, {
        FailedPutCount: responses.filter((r) => 'ErrorCode' in r).length,
        RequestResponses: responses,
        Encrypted: false,
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (typeof address !== 'object' || address === null)
    throw new Error('The PutRecordBatch stand-in did not start');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    records,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
