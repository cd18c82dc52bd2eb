/**
 * npm run check-config [-- --stage NAME] [--param key=value ...]
 *
 * Validates config/pipeline.json for every stage in config/stages.json (or the one
 * given): the schema, the placeholders, and the cross-field rules. Also checks that
 * config/pipeline.schema.json, the schema bundle and the project's docs/config-reference.md
 * are up to date. Exits non-zero on any error.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../shared/core/errors.js';
import { paramsOf, parseCli, runCli, STAGE_OPTIONS, UsageError } from './cli-args.js';
import { loadStageConfig, readRawConfig, readStages } from './lib/config-files.js';
import { CONFIG_REFERENCE_FILE, configReferenceText } from './lib/config-reference.js';
import { configJsonSchemaText, JSON_SCHEMA_FILE } from './lib/json-schema.js';
import { SCHEMA_BUNDLE_FILE, schemaBundleText } from './lib/schema-bundle.js';

/** A file's text, or '' when it cannot be read. */
function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

const USAGE = 'npm run check-config [-- --stage NAME] [--param key=value ...]';

await runCli('check-config', USAGE, () => {
  const { values } = parseCli(process.argv.slice(2), STAGE_OPTIONS);
  const params = paramsOf(values.param);
  let failed = false;
  const declared = Object.keys(readStages()).filter((s) => s !== 'default');
  if (values.stage !== undefined && !declared.includes(values.stage)) {
    throw new UsageError(
      `--stage ${values.stage}: not in config/stages.json (known stages: ${declared.sort().join(', ')})`,
    );
  }
  const stages = values.stage ? [values.stage] : declared;
  for (const stage of stages) {
    try {
      const { config, warnings } = loadStageConfig(stage, params);
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
  // The reference depends on the code only: it is the project's, wherever the config is.
  const project = join(dirname(fileURLToPath(import.meta.url)), '..');
  const generated: [string, string][] = [
    [JSON_SCHEMA_FILE, configJsonSchemaText()],
    [join(project, CONFIG_REFERENCE_FILE), configReferenceText()],
    [SCHEMA_BUNDLE_FILE, schemaBundleText(readRawConfig())],
  ];
  for (const [file, expected] of generated) {
    if (readOrEmpty(file) === expected) continue;
    failed = true;
    console.error(`${relative(process.cwd(), file)} is out of date: run npm run config-schema`);
  }
  return failed ? 1 : 0;
});
