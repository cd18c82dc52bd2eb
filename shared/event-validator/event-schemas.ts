/**
 * The validator's JSON Schemas, compiled once per container (and by check-config, so a
 * schema that does not compile fails the check). Draft 2020-12 and draft-07 are supported,
 * chosen by each schema's `$schema`; formats (date-time, email, uuid, ...) are checked.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { _, Ajv, type Options } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import type { EventValidatorConfig } from '../core/config/schema.js';
import { ConfigError, toError } from '../core/errors.js';
import { formats } from './formats.js';
import { withLengthKeywords } from './length-keywords.js';
import { type AjvValidate, registryOf, type SchemaRegistry } from './schema-registry.js';

export type { DetailValidator, SchemaRegistry, ValidationIssue } from './schema-registry.js';

const DRAFT_2020 = 'https://json-schema.org/draft/2020-12/schema';
const DRAFT_07 = 'http://json-schema.org/draft-07/schema';

const addFormats = ajvFormats as unknown as (ajv: Ajv) => Ajv;

/**
 * Where Ajv's standalone code finds the formats: formats.ts, named from the project root, where
 * the package step's bundler resolves the generated code's imports (infra/bundle-embedding.ts).
 */
const FORMATS_MODULE = './shared/event-validator/formats.js';

/** ajv-formats, with our `date-time` (formats.ts) and length keywords (length-keywords.ts) in place. */
function withChecks(ajv: Ajv): Ajv {
  addFormats(ajv).addFormat('date-time', formats['date-time']);
  return withLengthKeywords(ajv);
}

/** The two engines, with formats; `extra` adds options (the package step's `code.source`). */
function engines(extra: Options = {}) {
  const code = { ...extra.code, formats: _`require(${FORMATS_MODULE}).formats` };
  const options = { allErrors: true, strict: false, ...extra, code } as const;
  return { draft2020: withChecks(new Ajv2020(options)), draft07: withChecks(new Ajv(options)) };
}

/** Reads schema files relative to `root` (the tools' working directory). */
export function schemaFileReader(root = process.cwd()) {
  return (file: string): unknown => JSON.parse(readFileSync(join(root, file), 'utf8'));
}

/** Looks schemas up in the bundle the handler imports (config/event-schemas.bundle.json). */
export function schemaBundleReader(bundle: Readonly<Record<string, unknown>>) {
  return (file: string): unknown => {
    if (!Object.hasOwn(bundle, file))
      throw new ConfigError([`${file} is not in the schema bundle: run npm run config-schema`]);
    return bundle[file];
  };
}

/** Why one schema did not compile, in one line. */
const compileProblem = (error: unknown): string =>
  error instanceof ConfigError ? error.issues.join('; ') : toError(error).message;

/** One configured schema, compiled, with the engine that compiled it. */
export interface CompiledSchema {
  source: string;
  detailType: string;
  validate: AjvValidate;
  engine: Ajv;
}

/**
 * Compiles every configured schema; a ConfigError lists each one that fails, by key.
 * `options` go to Ajv (the package step asks for `code: { source: true }` to generate
 * standalone code from the result).
 */
export function compileEachSchema(
  validator: EventValidatorConfig,
  readSchema: (file: string) => unknown,
  options: Options = {},
): CompiledSchema[] {
  const { draft2020, draft07 } = engines(options);
  const compiled: CompiledSchema[] = [];
  const errors: string[] = [];
  for (const [source, settings] of Object.entries(validator.sources)) {
    for (const [detailType, { schema: file }] of Object.entries(settings.detailTypes)) {
      const at = `eventValidator.sources.${source}.detailTypes.${detailType}.schema`;
      try {
        const schema = readSchema(file) as { $schema?: string };
        const draft = (schema.$schema ?? DRAFT_07).replace(/#$/, '');
        const engine = draft === DRAFT_2020 ? draft2020 : draft === DRAFT_07 ? draft07 : undefined;
        if (!engine) throw new ConfigError([`unsupported $schema ${draft}; use draft 2020-12 or draft-07`]);
        compiled.push({ source, detailType, validate: engine.compile(schema), engine });
      } catch (error) {
        errors.push(`${at}: ${file} does not compile: ${compileProblem(error)}`);
      }
    }
  }
  if (errors.length > 0) throw new ConfigError(errors);
  return compiled;
}

/** Compiles every configured schema into a registry; a ConfigError lists each one that fails, by key. */
export function compileSchemas(
  validator: EventValidatorConfig,
  readSchema: (file: string) => unknown,
): SchemaRegistry {
  return registryOf(
    compileEachSchema(validator, readSchema).map(({ source, detailType, validate }) => [
      source,
      detailType,
      validate,
    ]),
  );
}
