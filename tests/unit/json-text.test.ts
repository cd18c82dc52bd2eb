/**
 * The hot path's JSON text (shared/core/json-text.ts) and ISO times (shared/core/iso-time.ts):
 * each says exactly what JSON.stringify and toISOString say, on the inputs they vouch for.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoTimestamp } from '../../shared/core/iso-time.js';
import { escapeFreeSource, needsNoEscape, stringifyEscapeFree } from '../../shared/core/json-text.js';

/** Characters of any kind but the ones JSON escapes: lone surrogates and astral ones included. */
const cleanText = fc
  .string({
    unit: fc.oneof(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
      fc.constantFrom('\ud800', '\udfff', '\u2028', '\u007f', ' ', 'x'),
    ),
    maxLength: 60,
  })
  .filter(needsNoEscape);

/** JSON values whose strings and keys need no escape (JSON.parse's kinds of numbers too). */
const cleanValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    cleanText,
    fc.double(),
    fc.constantFrom(-0, 1e21, 5e-324, Number.MAX_SAFE_INTEGER + 2, Number.POSITIVE_INFINITY),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 5 }),
    tie('object'),
  ),
  object: fc
    .array(fc.tuple(fc.oneof(cleanText, fc.constantFrom('__proto__', '0', '10', 'toJSON')), tie('value')), {
      maxLength: 5,
    })
    .map((entries) => {
      const out: Record<string, unknown> = {};
      for (const [key, value] of entries)
        Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      return out;
    }),
})).value;

describe('JSON text without the escape scan', () => {
  it('is JSON.stringify for any value whose strings and keys need no escape', () => {
    fc.assert(
      fc.property(cleanValue, (value) => {
        expect(stringifyEscapeFree(value)).toBe(JSON.stringify(value));
      }),
      { numRuns: 2000 },
    );
  });

  it('skips what JSON.stringify skips: undefined members, and undefined in arrays is null', () => {
    expect(stringifyEscapeFree({ a: undefined, b: [undefined, 1], c: 'x' })).toBe('{"b":[null,1],"c":"x"}');
    expect(stringifyEscapeFree({ a: undefined })).toBe('{}');
  });

  it('needsNoEscape says exactly whether JSON.stringify writes a well-formed string as itself in quotes', () => {
    fc.assert(
      fc.property(
        fc
          .string({
            unit: fc.oneof(
              fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
              fc.constantFrom('"', '\\', '\u0000', '\u001f', '\u0020'),
            ),
          })
          .filter((text) => text.isWellFormed()),
        (text) => {
          expect(needsNoEscape(text)).toBe(JSON.stringify(text) === `"${text}"`);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('what JSON text without a backslash holds needs no escape: every string and key', () => {
    const stringsOf = (value: unknown): string[] =>
      typeof value === 'string'
        ? [value]
        : typeof value === 'object' && value !== null
          ? Object.entries(value).flatMap(([key, item]) => [key, ...stringsOf(item)])
          : [];
    let escapeFreeSeen = 0;
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.json({ stringUnit: 'binary' })), (text) => {
        fc.pre(escapeFreeSource(text));
        escapeFreeSeen++;
        for (const found of stringsOf(JSON.parse(text))) expect(needsNoEscape(found)).toBe(true);
      }),
      { numRuns: 2000 },
    );
    expect(escapeFreeSeen).toBeGreaterThan(500);
  });
});

describe('ISO times without a Date per message', () => {
  const reference = (ms: number) => {
    try {
      return new Date(ms).toISOString();
    } catch (error) {
      return error;
    }
  };
  const ours = (ms: number) => {
    try {
      return isoTimestamp(ms);
    } catch (error) {
      return error;
    }
  };
  const DAY = 86_400_000;

  it('is toISOString for any time, in any order of days (errors included)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.integer({ min: 0, max: 253_402_300_799_999 }),
            fc
              .integer({ min: 20_000, max: 20_500 })
              .chain((day) => fc.integer({ min: day * DAY - 2, max: day * DAY + 2 })),
            fc.constantFrom(
              -1,
              -0,
              0,
              253_402_300_799_999,
              253_402_300_800_000,
              8.64e15,
              8.64e15 + 1,
              -8.64e15,
              1e20,
            ),
            fc.double({ min: -9e15, max: 9e15 }),
          ),
          { minLength: 1, maxLength: 20 },
        ),
        (times) => {
          for (const ms of times) expect(ours(ms)).toEqual(reference(ms));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
