/**
 * firehose-transform through the local Firehose stand-in: the real handler module, the
 * SES samples and bad records, the response checked as Firehose checks it, and the output
 * laid out like the bucket.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FirehoseHandler } from '../../local/firehose-stand-in.js';
import { runFirehoseTransform, sesTraffic } from '../../local/scenarios/firehose-transform.js';
import { loadStageConfig } from '../../shared/config/files.js';

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
});
