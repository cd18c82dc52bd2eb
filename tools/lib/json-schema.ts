/** The config schema as JSON Schema (draft 2020-12), for editors: config/pipeline.schema.json. */
import * as z from 'zod';
import { configSchema } from '../../shared/core/config/schema.js';

export const JSON_SCHEMA_FILE = 'config/pipeline.schema.json';

/** Strings in the file may hold `${stage}` / `${param:NAME}`, resolved before validation. */
const PLACEHOLDER_PATTERN = String.raw`\$\{(stage|param:[A-Za-z0-9_]+)\}`;

/** Lets every pattern-checked string also be one holding a placeholder. */
function allowPlaceholders(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(allowPlaceholders);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] =
      key === 'pattern' && typeof value === 'string'
        ? `(${value})|${PLACEHOLDER_PATTERN}`
        : allowPlaceholders(value);
  }
  return out;
}

export function configJsonSchemaText(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' });
  const annotated = { ...(allowPlaceholders(schema) as object), title: 'Streaming pipeline bundle config' };
  return `${JSON.stringify(annotated, null, 2)}\n`;
}
