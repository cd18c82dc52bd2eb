/**
 * The validator's schemas as a handler gets them. This file is what runs from source (tests,
 * `npm start`): it compiles the bundled schemas with Ajv at cold start, so a schema that does
 * not compile fails there. The package step replaces this file in the bundle with Ajv's
 * standalone code, generated from the same schemas (infra/bundle-embedding.ts): the deployed
 * bundle carries neither Ajv's compiler nor its cold-start compile, and a schema that does not
 * compile fails the package step instead.
 */
import schemaBundle from '../../config/event-schemas.bundle.json' with { type: 'json' };
import type { EventValidatorConfig } from '../core/config/schema.js';
import { compileSchemas, schemaBundleReader } from './event-schemas.js';
import type { SchemaRegistry } from './schema-registry.js';

export function deployedSchemas(validator: EventValidatorConfig): SchemaRegistry {
  return compileSchemas(validator, schemaBundleReader(schemaBundle));
}
