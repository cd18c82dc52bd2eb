/**
 * The validator's schemas as the package step ships them (Ajv standalone code, bundled with the
 * package step's esbuild plugin, as serverless-esbuild bundles it) against the same schemas
 * compiled at load (what runs from source): the same issues for the same details.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { embeddingPlugin, standaloneSchemas } from '../../infra/bundle-embedding.js';
import { compileSchemas, schemaFileReader } from '../../shared/event-validator/event-schemas.js';
import type { SchemaRegistry } from '../../shared/event-validator/schema-registry.js';
import { loadStageConfig } from '../../tools/lib/config-files.js';
import { anyDateTimeLike } from '../helpers/date-time-strings.js';

const { config } = loadStageConfig('local');
const validator = config.eventValidator;
if (!validator) throw new Error('the local stage has no eventValidator');
const dir = mkdtempSync(join(tmpdir(), 'standalone-schemas-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const generated = standaloneSchemas(config, process.cwd());
// deployed-schemas.ts as the bundle has it: the plugin puts the standalone code in its place,
// and esbuild resolves what that code requires (Ajv's runtime, our formats) into the bundle.
const outfile = join(dir, 'deployed-schemas.cjs');
const bundled = await build({
  entryPoints: ['shared/event-validator/deployed-schemas.ts'],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  outfile,
  metafile: true,
  logLevel: 'silent',
  plugins: [embeddingPlugin({ config, root: process.cwd() })],
});
const shipped = (
  createRequire(import.meta.url)(outfile) as { deployedSchemas: () => SchemaRegistry }
).deployedSchemas();
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

  it('run our date-time format, not the one of ajv-formats', () => {
    // Assess: the standalone code requires the formats module, and the bundle carries it.
    expect(
      generated.some(({ code }) => code.includes('require("./shared/event-validator/formats.js")')),
    ).toBe(true);
    expect(generated.some(({ code }) => code.includes('ajv-formats'))).toBe(false);
    expect(Object.keys(bundled.metafile.inputs)).toEqual(
      expect.arrayContaining(['shared/event-validator/formats.ts', 'shared/event-validator/date-time.ts']),
    );
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
    // Prepare: the valid sample with fields replaced (by anything, date-times or astral text
    // around the name's limit), removed or added.
    const valid = sample('eventbridge-valid.json') as Record<string, unknown>;
    const names = fc
      .tuple(fc.integer({ min: 195, max: 205 }), fc.constantFrom('n', '\u{1f600}'))
      .map(([count, char]) => char.repeat(count) + 'x'.repeat(count % 3));
    const values = fc.oneof(fc.jsonValue({ maxDepth: 2 }), anyDateTimeLike, names);
    const details = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc
        .record({
          set: fc.dictionary(fc.constantFrom(...Object.keys(valid), 'extra'), values),
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
