/** npm run config-schema: regenerates config/pipeline.schema.json from the config schema. */
import { writeFileSync } from 'node:fs';
import { configJsonSchemaText, JSON_SCHEMA_FILE } from '../shared/config/json-schema.js';

writeFileSync(JSON_SCHEMA_FILE, configJsonSchemaText());
console.log(`wrote ${JSON_SCHEMA_FILE}`);
