/**
 * What serverless.yml asks for at package/deploy time: the config checked for the stage
 * (a bad config fails here, with the key named), then the derived functions and resources.
 */
import { loadStageConfig } from '../tools/lib/config-files.js';
import { refreshSchemaBundle, SCHEMA_BUNDLE_FILE } from '../tools/lib/schema-bundle.js';
import { buildInfra } from './template.js';

export interface PackageTimeInput {
  service: string;
  stage: string;
  /** `--param key=value` from the command line. */
  cliParams: readonly string[];
  root: string;
}

export function parseCliParams(cliParams: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of cliParams) {
    const eq = item.indexOf('=');
    if (eq > 0) out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

export function packageTime(input: PackageTimeInput) {
  const loaded = loadStageConfig(input.stage, parseCliParams(input.cliParams), input.root);
  // The validator imports its schemas from the bundle file: keep it in step with config/schemas/.
  if (refreshSchemaBundle(loaded.raw, input.root)) process.stderr.write(`updated ${SCHEMA_BUNDLE_FILE}\n`);
  for (const warning of loaded.warnings) process.stderr.write(`config warning: ${warning}\n`);
  const infra = buildInfra({
    service: input.service,
    stage: input.stage,
    raw: loaded.raw,
    config: loaded.config,
    params: loaded.ctx.params,
    functionParams: loaded.functionParams,
  });
  return { ...infra, region: loaded.ctx.params.region ?? 'us-east-1' };
}
