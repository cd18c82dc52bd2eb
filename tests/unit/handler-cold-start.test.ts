import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../shared/core/errors.js';

const saved = { ...process.env };

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
    await expect(loading).rejects.toThrow(
      'sqsToKinesis.routes[1].queueArn: uses ${param:partnerAccountId}, which stage "dev" does not define',
    );
  });
});
