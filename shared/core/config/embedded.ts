/**
 * The cold-start side of a config embedded at package time: the bundle carries the checked,
 * resolved config as JSON text, and the function's environment carries that text's digest
 * (PIPELINE_CONFIG_DIGEST, set by the same package step). A bundle whose config is not the
 * one the function was deployed with refuses to start. No zod here: this is all a deployed
 * cold start runs of the config code.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.js';
import type { PipelineConfig } from './schema.js';

export const CONFIG_DIGEST_VARIABLE = 'PIPELINE_CONFIG_DIGEST';

/** The digest of an embedded config's JSON text (hex, 128 bits of SHA-256). */
export function configTextDigest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

/** The embedded config, once its digest matches the one in the environment. */
export function embeddedConfig(text: string, env: NodeJS.ProcessEnv): PipelineConfig {
  const expected = env[CONFIG_DIGEST_VARIABLE];
  if (!expected) throw new ConfigError([`${CONFIG_DIGEST_VARIABLE}: environment variable is not set`]);
  const actual = configTextDigest(text);
  if (actual !== expected) {
    throw new ConfigError([
      `${CONFIG_DIGEST_VARIABLE}: the bundled config (digest ${actual}) is not the one this function was deployed with (${expected}); package and deploy again`,
    ]);
  }
  return JSON.parse(text) as PipelineConfig;
}

/** The text a bundle embeds for a checked config (and whose digest its function's environment holds). */
export function embeddedConfigText(config: PipelineConfig): string {
  return JSON.stringify(config);
}
