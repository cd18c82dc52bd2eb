/**
 * What each function ships: its bundle's inputs, from esbuild's metafile (built with the
 * settings serverless.yml gives serverless-esbuild). No dev-dependency, and no SDK client
 * that only another function uses.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { loadStageConfig } from '../../tools/lib/config-files.js';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** The npm package an input path belongs to (`node_modules/@scope/name/...` or `node_modules/name/...`). */
function packageOf(input: string): string | undefined {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input.slice(input.lastIndexOf('node_modules/')));
  return match?.[1];
}

async function bundleInputs(entry: string): Promise<{ packages: Set<string>; files: string[] }> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    mainFields: ['module', 'main'],
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const files = Object.keys(result.metafile.inputs);
  return { packages: new Set(files.flatMap((f) => packageOf(f) ?? [])), files };
}

const CLIENTS = [
  '@aws-sdk/client-kinesis',
  '@aws-sdk/client-firehose',
  '@aws-sdk/client-eventbridge',
  '@aws-sdk/client-ssm',
];

describe.each([
  ['sqs-to-kinesis', ['@aws-sdk/client-kinesis']],
  ['firehose-transform', ['@aws-sdk/client-kinesis', '@aws-sdk/client-firehose', '@aws-sdk/client-ssm']],
  ['event-validator', ['@aws-sdk/client-kinesis', '@aws-sdk/client-eventbridge']],
  ['kinesis-aggregator', ['@aws-sdk/client-kinesis']],
  ['search-index', []],
])('the %s bundle', (name, clients) => {
  it('holds no dev-dependency, only its own SDK clients, and none of the tools', async () => {
    // Act
    const { packages, files } = await bundleInputs(`functions/${name}/handler.ts`);
    // Assess
    const dev = [...packages].filter((p) => p in pkg.devDependencies);
    expect(dev).toEqual([]);
    expect(CLIENTS.filter((client) => packages.has(client))).toEqual(clients);
    // Its own entry, its own core folder, the common core and the config: no other handler, no tool.
    const own = new RegExp(`^(functions/${name}|shared/${name}|shared/core|config)/`);
    expect(files.filter((f) => !f.startsWith('node_modules/') && !own.test(f))).toEqual([]);
    expect(files.filter((f) => f.startsWith(`shared/${name}/`)).length).toBeGreaterThan(0);
  }, 60_000);
});

/** A boolean of serverless.yml's `custom.esbuild` block (read as text: it is flat `key: value` lines). */
function esbuildFlag(name: string): boolean {
  const block =
    /\n {2}esbuild:\n((?: {4}.*\n| *#.*\n)+)/.exec(readFileSync('serverless.yml', 'utf8'))?.[1] ?? '';
  return new RegExp(`^ {4}${name}: *true *$`, 'm').test(block);
}

const FUNCTIONS = ['sqs-to-kinesis', 'firehose-transform', 'event-validator', 'kinesis-aggregator'];
const workDir = mkdtempSync(join(tmpdir(), 'bundles-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const built = new Map<string, Promise<string>>();

/** Builds one function as serverless-esbuild does (once per test file), to `<workDir>/<name>-<tag>.cjs`; returns its path. */
function buildBundle(name: string, keepNames: boolean): Promise<string> {
  const outfile = join(workDir, `${name}-${keepNames ? 'names' : 'minified'}.cjs`);
  if (!built.has(outfile)) built.set(outfile, buildTo(outfile, name, keepNames));
  return built.get(outfile) as Promise<string>;
}

async function buildTo(outfile: string, name: string, keepNames: boolean): Promise<string> {
  await build({
    entryPoints: [`functions/${name}/handler.ts`],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    mainFields: ['module', 'main'],
    minify: true,
    keepNames,
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

/** Loads a built bundle as Lambda would (stage and parameters set; endpoints on a closed port) and returns its handler. */
function loadBundle(path: string): (event: unknown, context: Context) => Promise<unknown> {
  const saved = { ...process.env };
  try {
    process.env.PIPELINE_STAGE = 'local';
    process.env.PIPELINE_PARAMS = JSON.stringify(loadStageConfig('local').functionParams);
    process.env.PIPELINE_HASH_KEY = 'bundle-test-key';
    process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:9';
    return createRequire(import.meta.url)(path).handler;
  } finally {
    process.env = saved;
  }
}

const context = {
  getRemainingTimeInMillis: () => 60_000,
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f',
} as Context;

describe('names in the bundles (errorType)', () => {
  it('serverless.yml tells esbuild to keep names', () => {
    // Act / Assess
    expect(esbuildFlag('keepNames')).toBe(true);
    expect(esbuildFlag('minify')).toBe(true);
  });

  it.each(FUNCTIONS)(
    'the %s bundle refuses a null event with an error named EventShapeError',
    async (name) => {
      // Prepare
      const handler = loadBundle(await buildBundle(name, esbuildFlag('keepNames')));
      // Act
      const error = (await handler(null, context).catch((caught: unknown) => caught)) as Error;
      // Assess: the name Lambda reports as errorType, and the message naming both kinds.
      expect(error.name).toBe('EventShapeError');
      expect(error.constructor.name).toBe('EventShapeError');
      expect(error.message).toMatch(/^expected .+, got null$/);
    },
    60_000,
  );

  it('without keepNames the same error is minified: the check above can fail', async () => {
    // Prepare
    const handler = loadBundle(await buildBundle('sqs-to-kinesis', false));
    // Act
    const error = (await handler(null, context).catch((caught: unknown) => caught)) as Error;
    // Assess
    expect(error.message).toMatch(/^expected an SQS event/);
    expect(error.name).not.toBe('EventShapeError');
  }, 60_000);

  it('keepNames costs each bundle at most 6% of its size (measured 4.7-5.1%)', async () => {
    // Prepare
    const sizes: Record<string, { minified: number; names: number; extra: string }> = {};
    // Act / Assess
    for (const name of FUNCTIONS) {
      const minified = statSync(await buildBundle(name, false)).size;
      const names = statSync(await buildBundle(name, true)).size;
      sizes[name] = { minified, names, extra: `${(((names - minified) / minified) * 100).toFixed(1)}%` };
      expect(names).toBeGreaterThan(minified);
      expect(names - minified).toBeLessThan(minified * 0.06);
    }
    console.log('bundle bytes without / with keepNames:', JSON.stringify(sizes));
  }, 120_000);
});
