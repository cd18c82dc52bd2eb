/** `serverless deploy function` refused when the config differs from the deployed stack's. */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { configDigest, deployFunctionProblem, packageTime } from '../../infra/package-time.js';

const require = createRequire(import.meta.url);
const DeployGuard = require('../../infra/deploy-guard.cjs') as new (
  serverless: unknown,
  options: Record<string, unknown>,
) => { hooks: Record<string, () => Promise<void>> };

class ServerlessError extends Error {}

/** A stand-in for the Serverless instance: the service name, and a provider whose stack has `outputs`. */
function fakeServerless(outputs: { OutputKey: string; OutputValue: string }[] | undefined) {
  const requests: unknown[][] = [];
  return {
    requests,
    serverless: {
      service: { service: 'streaming-pipeline' },
      classes: { Error: ServerlessError },
      getProvider: () => ({
        naming: { getStackName: () => 'streaming-pipeline-dev' },
        request: async (...args: unknown[]) => {
          requests.push(args);
          return { Stacks: [{ Outputs: outputs }] };
        },
      }),
    },
  };
}

describe('the deploy function guard', () => {
  const current = packageTime({
    service: 'streaming-pipeline',
    stage: 'dev',
    cliParams: [],
    root: process.cwd(),
  }).digest;

  it('lets a function deploy when the stack was made from this config', async () => {
    // Prepare
    const { serverless, requests } = fakeServerless([{ OutputKey: 'ConfigDigest', OutputValue: current }]);
    const guard = new DeployGuard(serverless, { stage: 'dev', function: 'sqsToKinesis' });
    // Act / Assess
    await expect(guard.hooks['before:deploy:function:initialize']?.()).resolves.toBeUndefined();
    expect(requests).toEqual([['CloudFormation', 'describeStacks', { StackName: 'streaming-pipeline-dev' }]]);
  });

  it('refuses when the config changed since the last full deploy, saying what to run', async () => {
    // Prepare
    const { serverless } = fakeServerless([{ OutputKey: 'ConfigDigest', OutputValue: 'an-older-config' }]);
    const guard = new DeployGuard(serverless, { stage: 'dev', function: 'sqsToKinesis' });
    // Act / Assess
    await expect(guard.hooks['before:deploy:function:initialize']?.()).rejects.toThrow(
      'Refusing deploy function: the config (or its parameters) changed since the last full deploy of stage dev: run a full `serverless deploy --stage dev`',
    );
  });

  it('refuses a stack deployed before the digest existed', () => {
    // Act / Assess
    expect(deployFunctionProblem('prod', current, [])).toMatch(
      /^the deployed stack of stage prod has no ConfigDigest output/,
    );
    expect(deployFunctionProblem('prod', current, undefined)).toMatch(/no ConfigDigest output/);
  });

  it('changes the digest with the config, the parameters or the region, and not with their order', () => {
    // Prepare
    const base = configDigest({ a: 1 }, { x: '1', y: '2' }, 'eu-west-1');
    // Act / Assess
    expect(configDigest({ a: 1 }, { y: '2', x: '1' }, 'eu-west-1')).toBe(base);
    expect(configDigest({ a: 2 }, { x: '1', y: '2' }, 'eu-west-1')).not.toBe(base);
    expect(configDigest({ a: 1 }, { x: '1', y: '3' }, 'eu-west-1')).not.toBe(base);
    expect(configDigest({ a: 1 }, { x: '1', y: '2' }, 'us-east-1')).not.toBe(base);
    expect(base).toMatch(/^[0-9a-f]{32}$/);
  });

  it('puts the digest in the stack outputs', () => {
    // Act
    const built = packageTime({
      service: 'streaming-pipeline',
      stage: 'prod',
      cliParams: ['openSearch=true'],
      root: process.cwd(),
    });
    // Assess
    expect((built.resources.Outputs as Record<string, { Value: string }>).ConfigDigest?.Value).toBe(
      built.digest,
    );
    expect(built.digest).not.toBe(current);
  });
});
