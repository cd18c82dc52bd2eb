/**
 * What each function ships: its bundle's inputs, from esbuild's metafile (built with the
 * settings and the plugin serverless.yml gives serverless-esbuild, for the local stage). No
 * dev-dependency, no SDK client that only another function uses, and none of what the
 * package step has already done: no config schema, no zod locales, no Ajv compiler.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { embeddingPlugin } from '../../infra/bundle-embedding.js';
import {
  CONFIG_DIGEST_VARIABLE,
  configTextDigest,
  embeddedConfigText,
} from '../../shared/core/config/embedded.js';
import type { ConfigError } from '../../shared/core/errors.js';
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

const stage = loadStageConfig('local');
/** The plugin serverless.yml gives serverless-esbuild (infra/esbuild-plugins.cjs), for the local stage. */
const plugins = [embeddingPlugin({ config: stage.config, root: process.cwd() })];

async function bundleInputs(
  entry: string,
): Promise<{ packages: Set<string>; files: string[]; shipped: string[] }> {
  const result = await build({
    plugins,
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
  // What is in the output: inputs that esbuild read but tree-shook away contribute no bytes.
  const output = Object.values(result.metafile.outputs)[0]?.inputs ?? {};
  const shipped = Object.entries(output).flatMap(([file, { bytesInOutput }]) =>
    bytesInOutput > 0 ? [file] : [],
  );
  return { packages: new Set(files.flatMap((f) => packageOf(f) ?? [])), files, shipped };
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
    // Its own entry, its own core folder, the common core, the config and the validator's
    // generated schemas: no other handler, no tool.
    const own = new RegExp(`^(functions/${name}/|shared/${name}/|shared/core/|config/|embedded-schema:)`);
    expect(files.filter((f) => !f.startsWith('node_modules/') && !own.test(f))).toEqual([]);
    expect(files.filter((f) => f.startsWith(`shared/${name}/`)).length).toBeGreaterThan(0);
  }, 60_000);
});

describe.each([
  ['sqs-to-kinesis', false],
  ['firehose-transform', false],
  ['event-validator', true],
  ['kinesis-aggregator', false],
])('the %s bundle, as packaged', (name, validates) => {
  it('carries the checked config, not the schema that checks it, nor zod or the Ajv compiler', async () => {
    // Act
    const { shipped: files } = await bundleInputs(`functions/${name}/handler.ts`);
    // Assess: the config is embedded (deployed.ts replaced), its schema and loader are not there.
    expect(files).toContain('shared/core/config/deployed.ts');
    expect(files).toContain('shared/core/config/embedded.ts');
    expect(files.filter((f) => /^shared\/core\/config\/(schema|load|rules)\.ts$/.test(f))).toEqual(
      name === 'sqs-to-kinesis' || name === 'event-validator' ? ['shared/core/config/rules.ts'] : [],
    );
    expect(files.filter((f) => f.startsWith('config/'))).toEqual([]);
    // No zod at all: the config is checked at package time, the envelope by hand (envelope.ts).
    expect(files.filter((f) => f.startsWith('node_modules/zod/'))).toEqual([]);
    // Ajv: the validator's schemas are standalone code; neither the compiler nor the schema files ship.
    expect(files.filter((f) => f.startsWith('node_modules/ajv/dist/compile/'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('embedded-schema:')).length > 0).toBe(validates);
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
    plugins,
  });
  return outfile;
}

/** The digest the template gives the functions for the local stage's config. */
const localDigest = configTextDigest(embeddedConfigText(stage.config));

/** Loads a built bundle as Lambda would (the template's variables set; endpoints on a closed port) and returns its handler. */
function loadBundle(
  path: string,
  digest = localDigest,
): (event: unknown, context: Context) => Promise<unknown> {
  const saved = { ...process.env };
  try {
    process.env[CONFIG_DIGEST_VARIABLE] = digest;
    process.env.PIPELINE_STAGE = 'local';
    process.env.PIPELINE_PARAMS = JSON.stringify(stage.functionParams);
    process.env.PIPELINE_HASH_KEY = 'bundle-test-key';
    process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:9';
    const require = createRequire(import.meta.url);
    delete require.cache[path]; // each load is a cold start
    return require(path).handler;
  } finally {
    process.env = saved;
  }
}

const context = {
  getRemainingTimeInMillis: () => 60_000,
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f',
} as Context;

describe('the embedded config at cold start', () => {
  it.each(FUNCTIONS)(
    'the %s bundle refuses to start with a config digest that is not its own',
    async (name) => {
      // Prepare
      const path = await buildBundle(name, esbuildFlag('keepNames'));
      const other = configTextDigest(embeddedConfigText({ ...stage.config, metricsNamespace: 'Other' }));
      // Act
      const error = (() => {
        try {
          loadBundle(path, other);
        } catch (caught) {
          return caught as ConfigError;
        }
      })();
      // Assess: the bundle's own ConfigError, naming the variable, before anything else runs.
      expect(error?.name).toBe('ConfigError');
      expect(error?.code).toBe('CONFIG_INVALID');
      expect(error?.message).toContain(
        `${CONFIG_DIGEST_VARIABLE}: the bundled config (digest ${localDigest}) is not the one this function was deployed with (${other})`,
      );
    },
    60_000,
  );
});

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

  it('keepNames costs each bundle at most 7.5% of its size (measured 6.2-6.8%, mostly the SDK names)', async () => {
    // Prepare
    const sizes: Record<string, { minified: number; names: number; extra: string }> = {};
    // Act / Assess
    for (const name of FUNCTIONS) {
      const minified = statSync(await buildBundle(name, false)).size;
      const names = statSync(await buildBundle(name, true)).size;
      sizes[name] = { minified, names, extra: `${(((names - minified) / minified) * 100).toFixed(1)}%` };
      expect(names).toBeGreaterThan(minified);
      expect(names - minified).toBeLessThan(minified * 0.075);
    }
    console.log('bundle bytes without / with keepNames:', JSON.stringify(sizes));
  }, 120_000);
});
