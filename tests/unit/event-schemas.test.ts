/**
 * The validator's schema engines (shared/event-validator/event-schemas.ts: our `date-time`
 * format and length keywords in Ajv) against stock Ajv with ajv-formats, the engines they
 * replace, on generated strings, schemas and details (the run's seed, tests/setup/): the same
 * verdict and the same errors (keyword, instancePath, schemaPath, params, message, in order).
 */
import { Ajv, type AnySchema, type Options } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compileEachSchema,
  compileSchemas,
  schemaFileReader,
} from '../../shared/event-validator/event-schemas.js';
import { withLengthKeywords } from '../../shared/event-validator/length-keywords.js';
import { anyDateTimeLike } from '../helpers/date-time-strings.js';
import { loadEvent, localConfig } from '../helpers/fixtures.js';

const addFormats = ajvFormats as unknown as (ajv: Ajv) => Ajv;
const OPTIONS = { allErrors: true, strict: false } as const;

/** Stock Ajv, as the validator compiled its schemas before: ajv-formats, Ajv's own keywords. */
const stockEngines = (extra: Options = {}) => ({
  draft2020: addFormats(new Ajv2020({ ...OPTIONS, ...extra })),
  draft07: addFormats(new Ajv({ ...OPTIONS, ...extra })),
});

/** The same, with only the length keywords replaced. */
const lengthEngines = (extra: Options = {}) => {
  const { draft2020, draft07 } = stockEngines(extra);
  return { draft2020: withLengthKeywords(draft2020), draft07: withLengthKeywords(draft07) };
};

type Validate = ((data: unknown) => boolean) & { errors?: unknown };

/** A validator's verdict and errors, as JSON too, so that key order counts. */
function outcome(validate: Validate, data: unknown) {
  const valid = validate(data);
  const errors = validate.errors ?? null;
  return { valid, errors, json: JSON.stringify(errors) };
}

/** Text of code points of one and two units, and lone halves of a pair, which may meet and pair up. */
const unit = fc.constantFrom('a', ' ', '\u00e9', '\u4e2d', '\u{1f600}', '\u{10ffff}', '\ud83d', '\ude00');
const text = (maxUnits: number) => fc.array(unit, { maxLength: maxUnits }).map((units) => units.join(''));

/** A string schema with length limits, and sometimes a pattern or a format checked beside them. */
const stringSchema = fc.record(
  {
    type: fc.constant('string'),
    maxLength: fc.nat(8),
    minLength: fc.nat(8),
    pattern: fc.constantFrom('^a', '\\u00e9', '^.{0,3}$'),
    format: fc.constant('date-time'),
  },
  { requiredKeys: [] },
);

describe('the length keywords', () => {
  it('give the verdict and errors stock Ajv gives, on generated limits and strings', () => {
    // Prepare: each generated schema is compiled once and checks a handful of values.
    const ours = lengthEngines();
    const stock = stockEngines();
    const values = fc.array(fc.oneof({ weight: 5, arbitrary: text(20) }, fc.jsonValue({ maxDepth: 1 })), {
      minLength: 1,
      maxLength: 10,
    });
    fc.assert(
      fc.property(stringSchema, values, fc.constantFrom('draft2020', 'draft07'), (schema, data, draft) => {
        // Act
        const validate = ours[draft].compile(schema);
        const reference = stock[draft].compile(schema);
        // Assess
        for (const value of data) expect(outcome(validate, value)).toEqual(outcome(reference, value));
      }),
      { numRuns: 1_500 },
    );
  });

  it('give the verdict and errors stock Ajv gives with limits read from the data ($data)', () => {
    // Prepare: limits that are numbers of any kind (fractions, negative, huge) or not numbers.
    const ours = lengthEngines({ $data: true });
    const stock = stockEngines({ $data: true });
    const schema: AnySchema = {
      type: 'object',
      properties: {
        s: { type: 'string', maxLength: { $data: '1/max' }, minLength: { $data: '1/min' } },
      },
    };
    const limit = fc.oneof(
      fc.nat(10),
      fc.double({ min: -2, max: 12, noNaN: true }),
      fc.constantFrom(0.5, 1.5, 2.5, -1, 1e300, '3', null, true),
    );
    const data = fc.record({ s: text(16), max: limit, min: limit }, { requiredKeys: ['s'] });
    fc.assert(
      fc.property(data, fc.constantFrom('draft2020', 'draft07'), (value, draft) => {
        // Act / Assess
        const theirs = outcome(stock[draft].compile(schema), value);
        expect(outcome(ours[draft].compile(schema), value)).toEqual(theirs);
      }),
      { numRuns: 5_000 },
    );
  });

  it('count code points, not UTF-16 units, at the limits', () => {
    // Prepare: 3 code points in 6 units; 2 code points in 3 units (a lone half counts as one).
    const validate = lengthEngines().draft2020.compile({ type: 'string', minLength: 3, maxLength: 3 });
    // Act / Assess
    expect(validate('\u{1f600}\u{1f600}\u{1f600}')).toBe(true);
    expect(validate('\u{1f600}\ud83d')).toBe(false);
    expect(validate.errors?.map((e) => e.message)).toEqual(['must NOT have fewer than 3 characters']);
    expect(validate('\u{1f600}\u{1f600}\u{1f600}a')).toBe(false);
    expect(validate.errors?.map((e) => e.message)).toEqual(['must NOT have more than 3 characters']);
  });
});

const validator = localConfig().eventValidator;
if (!validator) throw new Error('the local stage has no eventValidator');
const valid = loadEvent<{ detail: Record<string, unknown> }>('eventbridge-valid.json').detail;

/** A name-like string of about 200 code points, astral ones included: around NEW_WIDGET's maxLength. */
const nearLimitName = fc
  .tuple(
    fc.integer({ min: 190, max: 205 }),
    fc.array(fc.constantFrom('x', '\u{1f600}', '\u00e9'), { maxLength: 12 }),
  )
  .map(([count, extra]) => 'n'.repeat(Math.max(0, count - extra.length)) + extra.join(''));

/** The valid sample with fields replaced by edge strings or anything, some removed, some added. */
const details = fc
  .record({
    set: fc.dictionary(
      fc.constantFrom(...Object.keys(valid), 'deletedAt', 'reason', 'extra'),
      fc.oneof(nearLimitName, anyDateTimeLike, text(6), fc.jsonValue({ maxDepth: 2 })),
    ),
    drop: fc.subarray(Object.keys(valid)),
  })
  .map(({ set, drop }) => {
    const detail: Record<string, unknown> = { ...valid, ...set };
    for (const key of drop) delete detail[key];
    return detail;
  });

describe('the configured schemas, as the validator compiles them', () => {
  const ours = compileEachSchema(validator, schemaFileReader());
  const stock = stockEngines();
  const theirs = ours.map(({ engine, validate }) => {
    const schema = (validate as unknown as { schema: AnySchema }).schema;
    return stock[engine instanceof Ajv2020 ? 'draft2020' : 'draft07'].compile(schema);
  });

  it('give the verdict and errors of stock Ajv and ajv-formats on generated details', () => {
    fc.assert(
      fc.property(details, fc.nat(ours.length - 1), (detail, i) => {
        // Act / Assess
        const expected = outcome(theirs[i] as Validate, detail);
        expect(outcome(ours[i]?.validate as Validate, detail)).toEqual(expected);
      }),
      { numRuns: 5_000 },
    );
  });

  it('are found by source and detail-type, and nothing else is', () => {
    // Prepare
    const registry = compileSchemas(validator, schemaFileReader());
    // Act / Assess
    expect(registry.get('cwi.servicea', 'NEW_WIDGET')?.(valid)).toEqual([]);
    expect(registry.get('cwi.servicea', 'WIDGET_DELETED')?.(valid).length).toBeGreaterThan(0);
    expect(registry.get('cwi.servicea', 'NOT_CONFIGURED')).toBeUndefined();
    expect(registry.get('cwi.other', 'NEW_WIDGET')).toBeUndefined();
    expect(registry.get('cwi.servicea\u0000NEW_WIDGET', '')).toBeUndefined();
  });
});
