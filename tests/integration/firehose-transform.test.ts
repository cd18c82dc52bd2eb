/**
 * firehose-transform through the local Firehose stand-in: the real handler module, the
 * SES samples and bad records, the response checked as Firehose checks it, and the output
 * laid out like the bucket.
 */
import { readFileSync } from 'node:fs';
import type { FirehoseTransformationEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { contractErrors, type FirehoseHandler } from '../../local/firehose-stand-in.js';
import { lambdaContext } from '../../local/lambda-context.js';
import { runFirehoseTransform, sesTraffic } from '../../local/scenarios/firehose-transform.js';
import { loadStageConfig } from '../../tools/lib/config-files.js';
import { loadEvent } from '../helpers/fixtures.js';

let handler: FirehoseHandler;
const stage = loadStageConfig('local');

beforeAll(async () => {
  // The deployed function's environment: stage, parameters, and (locally) the hash key.
  process.env.PIPELINE_STAGE = 'local';
  process.env.PIPELINE_PARAMS = JSON.stringify(stage.functionParams);
  process.env.PIPELINE_HASH_KEY = 'integration-test-key';
  ({ handler } = (await import('../../functions/firehose-transform/handler.js')) as {
    handler: FirehoseHandler;
  });
});

describe('firehose-transform behind the Firehose stand-in', () => {
  it('answers every record as the contract asks and writes Ok records under their partitions', async () => {
    // Prepare: 3 copies of the 10 samples, and 3 bad records.
    const payloads = sesTraffic(3);
    // Act
    const counts = await runFirehoseTransform(stage, handler, payloads);
    // Assess
    expect(counts.contractErrors).toEqual([]);
    expect(counts).toMatchObject({ records: 33, ok: 27, dropped: 3, failed: 3 });
    const bounces = counts.files.find((f) => f.includes('eventType=bounce/date=2026-11-21/'));
    const lines = readFileSync(bounces as string, 'utf8')
      .trim()
      .split('\n');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ eventType: 'bounce', bounceSubType: 'General' });
    const everything = counts.files.map((f) => readFileSync(f, 'utf8')).join('');
    expect(everything).not.toMatch(/missing@example\.com|ana@example\.com/);
    const failed = counts.files.find((f) => f.includes('errors/processing-failed/'));
    const originals = readFileSync(failed as string, 'utf8')
      .trim()
      .split('\n')
      .map((line) => Buffer.from(JSON.parse(line).rawData, 'base64'));
    expect(originals).toEqual(payloads.slice(-3));
  });

  it('answers records that are not base64 with canonical base64, as the contract asks', async () => {
    // Prepare: the bad-input sample (two records are not base64), and data that only a lenient
    // decoder reads: non-canonical padding bits, the URL-safe alphabet, a lone character.
    const event = loadEvent<FirehoseTransformationEvent>('firehose-bad-input.json');
    for (const [i, data] of ['QR==', 'YW-_', 'A'].entries()) {
      event.records.push({ recordId: `odd-${i}`, approximateArrivalTimestamp: 0, data });
    }
    // Act
    const response = await handler(event, lambdaContext('firehose-transform', 60));
    // Assess
    expect(contractErrors(event, response)).toEqual([]);
    expect(response.records.filter((r) => r.result === 'ProcessingFailed')).toHaveLength(11);
  });

  it('the stand-in refuses data that is not canonical base64', () => {
    // Prepare
    const event = loadEvent<FirehoseTransformationEvent>('firehose-ses.json');
    const records = event.records.slice(0, 3);
    const answer = (data: (string | undefined)[]) => ({
      records: records.map((r, i) => ({
        recordId: r.recordId,
        result: 'ProcessingFailed' as const,
        data: data[i],
      })),
    });
    // Act
    const bad = contractErrors({ ...event, records }, answer(['QR==', 'not base64!!', undefined]));
    // Assess
    expect(bad).toHaveLength(3);
    expect(contractErrors({ ...event, records }, answer(records.map((r) => r.data)))).toEqual([]);
  });
});
