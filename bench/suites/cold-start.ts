/**
 * Cold start against its floor. Each function is packaged as `npm run package` does it
 * (`serverless package`, stage dev); its shipped code is what its zip holds apart from source
 * maps, and its load is `node handler.cjs` with the environment the packaged template gives it.
 * Its floor is what it cannot do without: the AWS SDK clients it uses (each constructed with
 * the Smithy HTTP handler) and Powertools Logger and Metrics, bundled alone with the same
 * esbuild settings, in this same run. Loads are timed interleaved with an empty script, and
 * a load's overhead is its median less the empty script's: in wall time, and in CPU time
 * (user + system, read by a preloaded probe when the process exits), which a busy machine
 * disturbs far less.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import type { BenchRow, BenchSuite } from '../harness.js';

const STAGE = 'dev';
/** Timed rounds (the median is reported), after one round that is not: 11, as the machines are shared and noisy. */
const RUNS = 11;
const WARMUP = 1;

/** Each packaged function, its entry, and the SDK clients it uses (tests/deploy/bundles.test.ts pins them). */
const FUNCTIONS = [
  { name: 'sqsToKinesis', dir: 'sqs-to-kinesis', clients: ['Kinesis'] },
  { name: 'firehoseTransform', dir: 'firehose-transform', clients: ['Kinesis', 'Firehose', 'SSM'] },
  { name: 'eventValidator', dir: 'event-validator', clients: ['Kinesis', 'EventBridge'] },
  { name: 'kinesisAggregator', dir: 'kinesis-aggregator', clients: ['Kinesis'] },
] as const;

const SIZE_TARGET = 1.15;
const LOAD_TARGET = 1.2;
const LOAD_SLACK_MS = 8;

/** serverless.yml's `custom.esbuild` scalar settings (flat `key: value` lines). */
function esbuildSetting(name: string): string | undefined {
  const block =
    /\n {2}esbuild:\n((?: {4}.*\n| *#.*\n)+)/.exec(readFileSync('serverless.yml', 'utf8'))?.[1] ?? '';
  return new RegExp(`^ {4}${name}: *(\\S+) *$`, 'm').exec(block)?.[1];
}

/** The floor's source: the clients, each on the Smithy HTTP handler, and Logger and Metrics. */
export function floorSource(clients: readonly string[]): string {
  return [
    "import { Logger } from '@aws-lambda-powertools/logger';",
    "import { Metrics } from '@aws-lambda-powertools/metrics';",
    "import { NodeHttpHandler } from '@smithy/node-http-handler';",
    ...clients.map((c) => `import { ${c}Client } from '@aws-sdk/client-${c.toLowerCase()}';`),
    "const logger = new Logger({ serviceName: 'floor' });",
    "const metrics = new Metrics({ namespace: 'floor', serviceName: 'floor' });",
    `const clients = [${clients.map((c) => `new ${c}Client({ requestHandler: new NodeHttpHandler() })`).join(', ')}];`,
    'export const handler = async (event) => {',
    "  logger.info('event', { event, clients: clients.length });",
    '  metrics.publishStoredMetrics();',
    '};',
  ].join('\n');
}

async function buildFloor(clients: readonly string[], outfile: string): Promise<number> {
  await build({
    stdin: { contents: floorSource(clients), resolveDir: process.cwd(), loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: esbuildSetting('target') ?? 'node22',
    mainFields: ['module', 'main'],
    minify: esbuildSetting('minify') === 'true',
    keepNames: esbuildSetting('keepNames') === 'true',
    outfile,
    logLevel: 'silent',
  });
  return statSync(outfile).size;
}

function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv } = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.status}): ${result.stderr || result.stdout}`,
    );
  }
  return result.stdout;
}

interface Shipped {
  /** Bytes of everything in the zip but source maps. */
  codeBytes: number;
  entry: string;
  env: Record<string, string>;
}

/** Packages the service into `dir` as `npm run package` does. */
function packageService(dir: string): void {
  rmSync('.esbuild', { recursive: true, force: true });
  run('npx', ['serverless', 'package', '--stage', STAGE, '--package', dir], {
    env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
  });
}

/** One function's zip unpacked into `into`, and its environment from the packaged template. */
function unpack(packageDir: string, fn: (typeof FUNCTIONS)[number], into: string): Shipped {
  const zip = join(packageDir, `${fn.name}.zip`);
  let codeBytes = 0;
  for (const entry of run('unzip', ['-Z1', zip]).trim().split('\n')) {
    if (entry.endsWith('/')) continue;
    const bytes = spawnSync('unzip', ['-p', zip, entry], { maxBuffer: 256 * 1024 * 1024 }).stdout;
    mkdirSync(dirname(join(into, entry)), { recursive: true });
    writeFileSync(join(into, entry), bytes);
    if (!entry.endsWith('.map')) codeBytes += bytes.length;
  }
  const template = JSON.parse(
    readFileSync(join(packageDir, 'cloudformation-template-update-stack.json'), 'utf8'),
  ) as {
    Resources: Record<string, { Properties: { Environment?: { Variables?: Record<string, unknown> } } }>;
  };
  const logicalId = `${fn.name[0]?.toUpperCase()}${fn.name.slice(1)}LambdaFunction`;
  const variables = template.Resources[logicalId]?.Properties.Environment?.Variables ?? {};
  const env = Object.fromEntries(
    Object.entries(variables).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
  );
  return { codeBytes, entry: join(into, `functions/${fn.dir}/handler.cjs`), env };
}

/** Preloaded in every timed process (empty, floor, ours alike): prints the process's CPU time as it exits. */
const CPU_PROBE = `process.on('exit', () => { const u = process.cpuUsage(); process.stderr.write('\\ncpu-us=' + (u.user + u.system) + '\\n'); });`;

/** Wall and CPU milliseconds of `node file` with `env` (and only it, as in Lambda), failing if it fails. */
function timeLoad(file: string, env: Record<string, string>, probe: string): { wall: number; cpu: number } {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, ['--require', probe, file], { env, encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  const cpu = /\ncpu-us=(\d+)\n$/.exec(result.stderr)?.[1];
  if (result.status !== 0 || cpu === undefined)
    throw new Error(`node ${file} failed to load: ${result.stderr}`);
  return { wall, cpu: Number(cpu) / 1000 };
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

export const coldStartBench: BenchSuite = {
  name: 'cold-start',
  async run(ctx) {
    const work = mkdtempSync(join(tmpdir(), 'bench-cold-'));
    try {
      ctx.log(`packaging (serverless package --stage ${STAGE})...`);
      const packageDir = join(work, 'package');
      packageService(packageDir);
      const emptyFile = join(work, 'empty.cjs');
      writeFileSync(emptyFile, '');
      const probe = join(work, 'cpu-probe.cjs');
      writeFileSync(probe, CPU_PROBE);
      const region = JSON.parse(readFileSync(join(packageDir, 'serverless-state.json'), 'utf8')).service
        .provider.region as string;
      const cases = await Promise.all(
        FUNCTIONS.map(async (fn) => {
          const shipped = unpack(packageDir, fn, join(work, fn.name));
          const floorFile = join(work, `${fn.name}-floor.cjs`);
          const floorBytes = await buildFloor(fn.clients, floorFile);
          // What Lambda adds to the template's variables (no credentials: loading reads none).
          const env = {
            ...shipped.env,
            AWS_REGION: region,
            AWS_DEFAULT_REGION: region,
            PATH: process.env.PATH ?? '',
          };
          return {
            fn,
            shipped,
            floorFile,
            floorBytes,
            env,
            times: { empty: [], ours: [], floor: [] } as Record<
              'empty' | 'ours' | 'floor',
              { wall: number; cpu: number }[]
            >,
          };
        }),
      );
      ctx.log(`timing loads: ${WARMUP} + ${RUNS} interleaved rounds of empty / floor / bundle per function`);
      for (let round = 0; round < WARMUP + RUNS; round++) {
        for (const c of cases) {
          const empty = timeLoad(emptyFile, c.env, probe);
          const floor = timeLoad(c.floorFile, c.env, probe);
          const ours = timeLoad(c.shipped.entry, c.env, probe);
          if (round < WARMUP) continue;
          c.times.empty.push(empty);
          c.times.floor.push(floor);
          c.times.ours.push(ours);
        }
      }
      return cases.flatMap(({ fn, shipped, floorBytes, times }): BenchRow[] => {
        /** A load's overhead over the empty script, by the median of one measure. */
        const overhead = (of: 'ours' | 'floor', measure: 'wall' | 'cpu') =>
          median(times[of].map((t) => t[measure])) - median(times.empty.map((t) => t[measure]));
        ctx.log(
          `${fn.name}: empty script ${median(times.empty.map((t) => t.wall)).toFixed(1)} ms wall, ${median(times.empty.map((t) => t.cpu)).toFixed(1)} ms CPU; floor = ${fn.clients.map((c) => `${c}Client`).join(' + ')} + Logger + Metrics`,
        );
        const loadRow = (measure: 'wall' | 'cpu', label: string): BenchRow => {
          const ours = overhead('ours', measure);
          const floor = overhead('floor', measure);
          return {
            suite: 'cold-start',
            metric: `${fn.name}: load overhead, ${label} (median of ${RUNS})`,
            unit: 'ms',
            ours,
            baseline: floor,
            target: `<= ${LOAD_TARGET}x its floor or floor + ${LOAD_SLACK_MS} ms`,
            met: ours <= Math.max(LOAD_TARGET * floor, floor + LOAD_SLACK_MS),
          };
        };
        return [
          {
            suite: 'cold-start',
            metric: `${fn.name}: shipped code (zip without source maps)`,
            unit: 'KB',
            ours: shipped.codeBytes / 1024,
            baseline: floorBytes / 1024,
            target: `<= ${SIZE_TARGET}x its floor`,
            met: shipped.codeBytes <= SIZE_TARGET * floorBytes,
          },
          loadRow('wall', 'wall time'),
          loadRow('cpu', 'CPU time'),
        ];
      });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
};
