/**
 * What serverless.yml asks for at package/deploy time: the config checked for the stage
 * (a bad config fails here, with the key named), then the derived functions and resources.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../shared/core/errors.js';
import { loadStageConfig } from '../tools/lib/config-files.js';
import { refreshSchemaBundle, SCHEMA_BUNDLE_FILE } from '../tools/lib/schema-bundle.js';
import { buildInfra } from './template.js';

export { embeddingPlugin } from './bundle-embedding.js';

export interface PackageTimeInput {
  service: string;
  stage: string;
  /** `--param key=value` from the command line. */
  cliParams: readonly string[];
  /** `--region` from the command line, if given. */
  region?: string | undefined;
  root: string;
}

/**
 * The region the stage deploys to. Every ARN the config builds uses the stage's `region`
 * parameter, so a `--region` that differs would deploy resources pointing at another region:
 * refused, with the two ways out.
 */
export function deployRegion(
  stage: string,
  params: Readonly<Record<string, string>>,
  cliRegion?: string,
): string {
  const configured = params.region;
  if (cliRegion && configured && cliRegion !== configured) {
    throw new ConfigError([
      `--region ${cliRegion}: stage "${stage}" deploys to ${configured} (its region parameter, config/stages.json), and the config's ARNs name that region; drop --region, or deploy there with --region ${cliRegion} --param region=${cliRegion}`,
    ]);
  }
  return cliRegion ?? configured ?? 'us-east-1';
}

export function parseCliParams(cliParams: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of cliParams) {
    const eq = item.indexOf('=');
    if (eq < 1) throw new ConfigError([`--param ${item}: takes key=value`]);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

export function packageTime(input: PackageTimeInput) {
  const loaded = loadStageConfig(input.stage, parseCliParams(input.cliParams), input.root);
  const region = deployRegion(input.stage, loaded.ctx.params, input.region);
  // The validator imports its schemas from the bundle file: keep it in step with config/schemas/.
  if (refreshSchemaBundle(loaded.raw, input.root)) process.stderr.write(`updated ${SCHEMA_BUNDLE_FILE}\n`);
  const infra = buildInfra({
    service: input.service,
    stage: input.stage,
    raw: loaded.raw,
    config: loaded.config,
    params: loaded.ctx.params,
    functionParams: loaded.functionParams,
  });
  const digest = configDigest(loaded.config, loaded.ctx.params, region);
  const outputs = infra.resources.Outputs as Record<string, unknown>;
  outputs.ConfigDigest = {
    Description: 'Digest of the config this stack was deployed with (serverless deploy function checks it)',
    Value: digest,
  };
  // config: what the bundles embed (infra/esbuild-plugins.cjs), checked above with the key named.
  return { ...infra, region, warnings: loaded.warnings, digest, config: loaded.config };
}

/** A digest of what the template is derived from: the checked config, the parameters, the region. */
export function configDigest(
  config: unknown,
  params: Readonly<Record<string, string>>,
  region: string,
): string {
  const sorted = Object.fromEntries(Object.entries(params).sort(([a], [b]) => a.localeCompare(b)));
  return createHash('sha256')
    .update(JSON.stringify({ config, params: sorted, region }))
    .digest('hex')
    .slice(0, 32);
}

/**
 * `serverless deploy function` ships a function's code and its bundled config, not the event
 * sources, roles, streams or alarms the config also drives: refused unless the deployed
 * stack was made from this same config. Returns the reason to refuse, or undefined.
 */
export function deployFunctionProblem(
  stage: string,
  current: string,
  outputs: readonly { OutputKey?: string; OutputValue?: string }[] | undefined,
): string | undefined {
  const deployed = outputs?.find((output) => output.OutputKey === 'ConfigDigest')?.OutputValue;
  const fix = `run a full \`serverless deploy --stage ${stage}\`; \`deploy function\` ships only a function's code and bundled config, not its event sources, roles, streams or alarms`;
  if (deployed === undefined)
    return `the deployed stack of stage ${stage} has no ConfigDigest output: ${fix}`;
  if (deployed !== current)
    return `the config (or its parameters) changed since the last full deploy of stage ${stage}: ${fix}`;
  return undefined;
}
