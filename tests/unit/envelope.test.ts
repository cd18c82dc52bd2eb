/**
 * The hand-written envelope check against the zod schema it replaced (kept here as the
 * reference): on generated events, good and bad, the same verdict, the same issues (path and
 * message, in order) and the same output.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { checkEnvelope, ISO_DATETIME } from '../../shared/event-validator/envelope.js';

z.config(en());
const reference = z.object({
  id: z.string().check(z.minLength(1)),
  'detail-type': z.string().check(z.minLength(1), z.maxLength(256)),
  source: z.string().check(z.minLength(1), z.maxLength(256)),
  account: z.optional(z.string()),
  time: z.iso.datetime({ offset: true }),
  region: z.optional(z.string()),
  resources: z.optional(z.array(z.string())),
  detail: z.record(z.string(), z.unknown()),
});

/** What a check returns, or the kind of error it throws (both throw on a `length` that cannot be compared). */
function outcome(check: (input: unknown) => unknown, input: unknown): unknown {
  try {
    return check(input);
  } catch (error) {
    return { threw: (error as Error).name };
  }
}

function viaReference(input: unknown) {
  const parsed = reference.safeParse(input);
  if (parsed.success) return { success: true, data: parsed.data };
  const issues = parsed.error.issues.map((issue) => ({
    path: `/${issue.path.join('/')}`,
    message: issue.message,
  }));
  return { success: false, issues };
}

/** A value for a field: mostly of the right kind, sometimes anything JSON can hold. */
const anyJson = fc.jsonValue({ maxDepth: 2 });
/** Text as zod measures it (code points, surrogate pairs, lone surrogates), or any JSON, or anything with a length. */
const text = (max: number) =>
  fc.oneof(
    fc.string({ maxLength: max }),
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.constantFrom(
      '',
      'x'.repeat(256),
      'x'.repeat(257),
      '\u{1F600}'.repeat(200),
      '\u{1F600}'.repeat(257),
      '\ud800',
    ),
    fc.record({ length: anyJson }),
    anyJson,
  );
const times = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom(
    '2026-11-22T10:00:00Z',
    '2026-11-22T10:00:00+01:00',
    '2026-11-22T10:00:00.123-05:30',
    '2024-02-29T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '2026-11-22T10:00Z',
    '2026-11-22 10:00:00Z',
    '2026-11-22T24:00:00Z',
    '2026-11-22T10:00:00',
  ),
  anyJson,
);
const detail = fc.oneof(
  fc.dictionary(fc.string({ maxLength: 8 }), anyJson, { maxKeys: 4 }),
  fc.constant(JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{}},"a":1}')),
  anyJson,
);

/** Envelopes with each field present or absent, right or wrong. */
const envelopes = fc.record(
  {
    version: fc.constant('0'),
    id: text(40),
    'detail-type': text(300),
    source: text(300),
    account: text(12),
    time: times,
    region: text(12),
    resources: fc.oneof(
      fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
      fc.array(anyJson, { maxLength: 3 }),
      anyJson,
    ),
    detail,
  },
  { requiredKeys: [] },
);

describe('checkEnvelope', () => {
  it('gives the verdict, issues and output of the zod schema it replaced, on any envelope', () => {
    fc.assert(
      fc.property(
        fc.oneof({ weight: 4, arbitrary: envelopes }, { weight: 1, arbitrary: anyJson }),
        (input) => {
          // Act
          const ours = outcome(checkEnvelope, input);
          const theirs = outcome(viaReference, input);
          // Assess: equal, keys in the same order too.
          expect(ours).toEqual(theirs);
          expect(JSON.stringify(ours)).toBe(JSON.stringify(theirs));
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it('takes valid envelopes, and names each problem of a broken one', () => {
    // Prepare
    const good = {
      id: '1',
      'detail-type': 'NEW_WIDGET',
      source: 'cwi.servicea',
      time: '2026-11-22T10:00:00Z',
      resources: [],
      detail: { a: 1 },
    };
    // Act
    const ok = checkEnvelope(good);
    const bad = checkEnvelope({ ...good, id: '', time: 'yesterday', resources: [1], detail: [] });
    // Assess
    expect(ok).toEqual({ success: true, data: good });
    expect(bad).toEqual({
      success: false,
      issues: [
        { path: '/id', message: 'Too small: expected string to have >=1 characters' },
        { path: '/time', message: 'Invalid ISO datetime' },
        { path: '/resources/0', message: 'Invalid input: expected string, received number' },
        { path: '/detail', message: 'Invalid input: expected record, received array' },
      ],
    });
  });

  it("uses zod's date-time pattern", () => {
    // Assess
    expect(ISO_DATETIME.source).toBe(z.iso.datetime({ offset: true })._zod.pattern.source);
  });
});
