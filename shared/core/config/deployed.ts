/**
 * The config a handler runs with. This file is what runs from source (tests, `npm start`):
 * it checks config/pipeline.json for the stage named by PIPELINE_STAGE / PIPELINE_PARAMS, so
 * a bad config fails the cold start with the key named. The package step replaces this file
 * in each bundle with the config it has already checked and resolved for the stage
 * (infra/bundle-embedding.ts), so a deployed cold start neither loads the schema nor checks
 * the config again: it only verifies the embedded config's digest (embedded.ts).
 */
import rawConfig from '../../../config/pipeline.json' with { type: 'json' };
import { configFromEnvironment } from './load.js';
import type { PipelineConfig } from './schema.js';

export function deployedConfig(env: NodeJS.ProcessEnv): PipelineConfig {
  return configFromEnvironment(rawConfig, env);
}
