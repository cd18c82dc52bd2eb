/**
 * What each function ships: its bundle's inputs, from esbuild's metafile (built with the
 * settings serverless.yml gives serverless-esbuild). No dev-dependency, and no SDK client
 * that only another function uses.
 */
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

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
])('the %s bundle', (name, clients) => {
  it('holds no dev-dependency, only its own SDK clients, and none of the tools', async () => {
    const { packages, files } = await bundleInputs(`functions/${name}/handler.ts`);
    const dev = [...packages].filter((p) => p in pkg.devDependencies);
    expect(dev).toEqual([]);
    expect(CLIENTS.filter((client) => packages.has(client))).toEqual(clients);
    expect(files.filter((f) => /^(local|bench|tests|scripts|infra)\//.test(f))).toEqual([]);
    expect(files).not.toContain('shared/config/files.ts'); // config is bundled, never read from disk
  }, 60_000);
});
