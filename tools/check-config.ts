/**
 * npm run check-config [-- --stage NAME] [--param key=value ...]
 *
 * Validates config/pipeline.json for every stage in config/stages.json (or the one
 * given): the schema, the placeholders, and the cross-field rules. Also checks that
 * config/pipeline.schema.json, the schema bundle and the project's docs/config-reference.md
 * are up to date. Exits non-zero on any error.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../shared/core/errors.js';
import { parseArgs } from './cli-args.js';
import { loadStageConfig, readRawConfig, readStages } from './lib/config-files.js';
import { CONFIG_REFERENCE_FILE, configReferenceText } from './lib/config-reference.js';
import { configJsonSchemaText, JSON_SCHEMA_FILE } from './lib/json-schema.js';
import { SCHEMA_BUNDLE_FILE, schemaBundleText } from './lib/schema-bundle.js';

const args = parseArgs(process.argv.slice(2));
let failed = false;
try {
  const stages = args.stage
    ? [args.stage]
    : [...new Set(['dev', ...Object.keys(readStages()).filter((s) => s !== 'default')])];
  for (const stage of stages) {
    try {
      const { config, warnings } = loadStageConfig(stage, args.params);
      const parts = [
        `${config.sqsToKinesis?.routes.length ?? 0} SQS routes`,
        `${Object.keys(config.streams).length} streams`,
        config.firehoseTransform ? `firehose transform (${config.firehoseTransform.mode})` : undefined,
        config.eventValidator
          ? `${Object.keys(config.eventValidator.sources).length} validated sources`
          : undefined,
      ];
      console.log(`stage ${stage}: ok (${parts.filter(Boolean).join(', ')})`);
      for (const warning of warnings) console.log(`  warning: ${warning}`);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      failed = true;
      console.error(`stage ${stage}: ${error.message}`);
    }
  }
  let committed = '';
  try {
    committed = readFileSync(JSON_SCHEMA_FILE, 'utf8');
  } catch {}
  if (committed !== configJsonSchemaText()) {
    failed = true;
    console.error(`${JSON_SCHEMA_FILE} is out of date: run npm run config-schema`);
  }
  let reference = '';
  try {
    // The reference depends on the code only: it is the project's, wherever the config is.
    const project = join(dirname(fileURLToPath(import.meta.url)), '..');
    reference = readFileSync(join(project, CONFIG_REFERENCE_FILE), 'utf8');
  } catch {}
  if (reference !== configReferenceText()) {
    failed = true;
    console.error(`${CONFIG_REFERENCE_FILE} is out of date: run npm run config-schema`);
  }
  let bundle = '';
  try {
    bundle = readFileSync(SCHEMA_BUNDLE_FILE, 'utf8');
  } catch {}
  if (bundle !== schemaBundleText(readRawConfig())) {
    failed = true;
    console.error(`${SCHEMA_BUNDLE_FILE} is out of date: run npm run config-schema`);
  }
} catch (error) {
  failed = true;
  console.error(error instanceof ConfigError ? error.message : error);
}
process.exit(failed ? 1 : 0);
