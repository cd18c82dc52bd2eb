/** The generated config reference and the editors' JSON Schema are never stale. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_REFERENCE_FILE, configReferenceText } from '../../tools/lib/config-reference.js';
import { configJsonSchemaText, JSON_SCHEMA_FILE } from '../../tools/lib/json-schema.js';

describe('generated from the config schema', () => {
  it('docs/config-reference.md is what npm run config-schema writes today', () => {
    // Act / Assess: a schema change without `npm run config-schema` fails here.
    expect(readFileSync(CONFIG_REFERENCE_FILE, 'utf8')).toBe(configReferenceText());
  });

  it('config/pipeline.schema.json is what npm run config-schema writes today', () => {
    // Act / Assess
    expect(readFileSync(JSON_SCHEMA_FILE, 'utf8')).toBe(configJsonSchemaText());
  });

  it('has one row per key, with the schema’s own description', () => {
    // Prepare
    const text = configReferenceText();
    // Assess: a key from each handler, with its default and the text of its .describe().
    expect(text).toContain('| `sqsToKinesis.routes[].partitionKey` |');
    expect(text).toContain('| `firehoseTransform.keepEventTypes` |');
    expect(text).toMatch(
      /\| `eventValidator\.sources\.<name>\.unknownDetailType` \| [^|]+ \| `reject` \| An event whose/,
    );
    expect(text).toMatch(
      /\| `kinesisAggregator\.state\.maxBytes` \| integer, 10000 to 1000000 \| `900000` \|/,
    );
    expect(text.split('\n').filter((line) => line.startsWith('| `')).length).toBeGreaterThan(100);
  });
});
