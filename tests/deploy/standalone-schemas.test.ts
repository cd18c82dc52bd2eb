/**
 * The validator's schemas as the package step ships them (Ajv standalone code) against the
 * same schemas compiled at load (what runs from source): the same issues for the same details.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { standaloneSchemas } from '../../infra/bundle-embedding.js';
import { compileSchemas, schemaFileReader } from '../../shared/event-validator/event-schemas.js';
import { type AjvValidate, registryOf } from '../../shared/event-validator/schema-registry.js';
import { loadStageConfig } from '../../tools/lib/config-files.js';

const { config } = loadStageConfig('local');
const validator = config.eventValidator;
if (!validator) throw new Error('the local stage has no eventValidator');
// Inside node_modules, so that the generated code's require("ajv/dist/runtime/...") resolves.
const dir = mkdtempSync(join(process.cwd(), 'node_modules', '.standalone-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const generated = standaloneSchemas(config, process.cwd());
const shipped = registryOf(
  generated.map(({ source, detailType, code }, i) => {
    const file = join(dir, `schema-${i}.cjs`);
    writeFileSync(file, code);
    return [source, detailType, createRequire(import.meta.url)(file) as AjvValidate] as const;
  }),
);
const compiled = compileSchemas(validator, schemaFileReader());
const keys = Object.entries(validator.sources).flatMap(([source, s]) =>
  Object.keys(s.detailTypes).map((detailType) => [source, detailType] as const),
);
const sample = (file: string) => JSON.parse(readFileSync(join('events', file), 'utf8')).detail as unknown;

describe('the standalone schemas the package step generates', () => {
  it('cover every configured source and detail-type', () => {
    // Assess
    expect(generated.map((g) => [g.source, g.detailType])).toEqual(keys);
  });

  it.each(['eventbridge-valid.json', 'eventbridge-invalid.json'])(
    'judge the detail of %s as Ajv does',
    (file) => {
      // Act / Assess
      for (const [source, detailType] of keys) {
        expect(shipped.get(source, detailType)?.(sample(file))).toEqual(
          compiled.get(source, detailType)?.(sample(file)),
        );
      }
      expect(compiled.get('cwi.servicea', 'NEW_WIDGET')?.(sample('eventbridge-valid.json'))).toEqual([]);
      expect(
        compiled.get('cwi.servicea', 'NEW_WIDGET')?.(sample('eventbridge-invalid.json')).length,
      ).toBeGreaterThan(0);
    },
  );

  it('give the same issues as the compiled schemas on generated details', () => {
    // Prepare: the valid sample with fields replaced, removed or added.
    const valid = sample('eventbridge-valid.json') as Record<string, unknown>;
    const details = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc
        .record({
          set: fc.dictionary(fc.constantFrom(...Object.keys(valid), 'extra'), fc.jsonValue({ maxDepth: 2 })),
          drop: fc.subarray(Object.keys(valid)),
        })
        .map(({ set, drop }) => {
          const detail: Record<string, unknown> = { ...valid, ...set };
          for (const key of drop) delete detail[key];
          return detail;
        }),
    );
    fc.assert(
      fc.property(details, fc.constantFrom(...keys), (detail, [source, detailType]) => {
        // Act / Assess
        expect(shipped.get(source, detailType)?.(detail)).toEqual(compiled.get(source, detailType)?.(detail));
      }),
      { numRuns: 2_000 },
    );
  });
});
