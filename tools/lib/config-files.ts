/**
 * Reading the config files from disk, for the tools that run outside Lambda (package
 * step, check-config, local runner, tests, bench). Handlers never import this: their
 * config is bundled and their stage comes from the environment.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type CheckedConfig,
  checkConfig,
  referencedParams,
  type StageContext,
  stageParams,
} from '../../shared/core/config/load.js';
import { ConfigError } from '../../shared/core/errors.js';
import { compileSchemas, schemaFileReader } from '../../shared/event-validator/event-schemas.js';

export const CONFIG_FILE = 'config/pipeline.json';
export const STAGES_FILE = 'config/stages.json';

function readJson(root: string, file: string): unknown {
  let text: string;
  try {
    text = readFileSync(join(root, file), 'utf8');
  } catch (cause) {
    throw new ConfigError([`${file}: cannot be read (${(cause as Error).message})`], { cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ConfigError([`${file}: is not valid JSON (${(cause as Error).message})`], { cause });
  }
}

export interface StageConfig extends CheckedConfig {
  raw: unknown;
  ctx: StageContext;
  /** The parameters the config file uses, as the deployed function's PIPELINE_PARAMS. */
  functionParams: Record<string, string>;
}

export function readRawConfig(root = process.cwd()): unknown {
  return readJson(root, CONFIG_FILE);
}

export function readStages(root = process.cwd()): Record<string, unknown> {
  return readJson(root, STAGES_FILE) as Record<string, unknown>;
}

/** Reads and checks the config for `stage`, with command-line parameter overrides on top. */
export function loadStageConfig(
  stage: string,
  overrides: Readonly<Record<string, string>> = {},
  root = process.cwd(),
): StageConfig {
  const raw = readRawConfig(root);
  const params = stageParams(readStages(root), stage, overrides);
  const ctx = { stage, params };
  const checked = checkConfig(raw, ctx);
  // Schemas that do not compile fail here too (check-config, package time), not only at cold start.
  if (checked.config.eventValidator) compileSchemas(checked.config.eventValidator, schemaFileReader(root));
  const functionParams: Record<string, string> = {};
  for (const name of referencedParams(raw)) {
    const value = params[name];
    if (value !== undefined) functionParams[name] = value;
  }
  return { ...checked, raw, ctx, functionParams };
}
