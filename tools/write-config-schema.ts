/**
 * npm run config-schema: regenerates config/pipeline.schema.json, docs/config-reference.md and the
 * validator's schema bundle.
 */
import { writeFileSync } from 'node:fs';
import { checkedArgs, parseCli } from './cli-args.js';
import { readRawConfig } from './lib/config-files.js';
import { CONFIG_REFERENCE_FILE, configReferenceText } from './lib/config-reference.js';
import { configJsonSchemaText, JSON_SCHEMA_FILE } from './lib/json-schema.js';
import { refreshSchemaBundle, SCHEMA_BUNDLE_FILE } from './lib/schema-bundle.js';

checkedArgs('config-schema', 'npm run config-schema (no options)', () => parseCli(process.argv.slice(2), {}));
writeFileSync(JSON_SCHEMA_FILE, configJsonSchemaText());
console.log(`wrote ${JSON_SCHEMA_FILE}`);
writeFileSync(CONFIG_REFERENCE_FILE, configReferenceText());
console.log(`wrote ${CONFIG_REFERENCE_FILE}`);
console.log(
  refreshSchemaBundle(readRawConfig()) ? `wrote ${SCHEMA_BUNDLE_FILE}` : `${SCHEMA_BUNDLE_FILE} is current`,
);
