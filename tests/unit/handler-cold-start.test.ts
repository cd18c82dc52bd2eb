import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { packageTime } from '../../infra/package-time.js';
import { ConfigError } from '../../shared/core/errors.js';

const saved = { ...process.env };
const MISSING_PARAM =
  'sqsToKinesis.routes[1].queueArn: uses ${param:partnerAccountId}, which stage "dev" does not define';

afterEach(() => {
  process.env = { ...saved };
  vi.resetModules();
});

describe('sqs-to-kinesis cold start', () => {
  it('fails at import when the stage lacks a parameter the config uses, naming the key', async () => {
    // Prepare
    process.env.PIPELINE_STAGE = 'dev';
    process.env.PIPELINE_PARAMS = JSON.stringify({ region: 'eu-west-1', accountId: '111111111111' });
    // Act
    const loading = import('../../functions/sqs-to-kinesis/handler.js');
    // Assess
    await expect(loading).rejects.toBeInstanceOf(ConfigError);
    await expect(loading).rejects.toThrow(MISSING_PARAM);
  });
});

describe('the same config at package time (what a deployed bundle is built from)', () => {
  it('fails before anything is bundled, naming the same key', () => {
    // Prepare: the config folder with the parameter gone from the stages file.
    const root = mkdtempSync(join(tmpdir(), 'package-time-'));
    try {
      cpSync('config', join(root, 'config'), { recursive: true });
      const stages = JSON.parse(readFileSync(join(root, 'config/stages.json'), 'utf8'));
      delete stages.default.partnerAccountId;
      writeFileSync(join(root, 'config/stages.json'), JSON.stringify(stages));
      // Act
      const packaging = () =>
        packageTime({ service: 'streaming-pipeline', stage: 'dev', cliParams: [], root });
      // Assess
      expect(packaging).toThrow(ConfigError);
      expect(packaging).toThrow(MISSING_PARAM);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
