/**
 * Our `date-time` format (shared/event-validator/date-time.ts) against the one it replaces,
 * ajv-formats' full `date-time`, on generated strings (the run's seed, tests/setup/;
 * tests/helpers/date-time-strings.ts) and on each rule's edge cases.
 */

import type { FormatDefinition } from 'ajv';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDateTime } from '../../shared/event-validator/date-time.js';
import { formats } from '../../shared/event-validator/formats.js';
import { anyDateTimeLike } from '../helpers/date-time-strings.js';

const stock = (fullFormats['date-time'] as FormatDefinition<string>).validate as (s: string) => boolean;

describe('the date-time format', () => {
  it('takes and refuses what ajv-formats does, on generated strings', () => {
    fc.assert(
      fc.property(anyDateTimeLike, (text) => {
        // Act / Assess
        expect(isDateTime(text)).toBe(stock(text));
      }),
      { numRuns: 20_000 },
    );
  });

  it('agrees with ajv-formats on both sides of each rule', () => {
    // Prepare: each rule, taken and refused; the expected verdicts are ajv-formats' own.
    const cases: Record<string, boolean> = {
      '2026-11-21T09:00:00Z': true,
      '2026-11-21T09:00:00.000Z': true,
      '2026-11-21t09:00:00z': true,
      '2026-11-21 09:00:00+01:00': true,
      '2026-11-21\u300009:00:00+0100': true,
      '2026-11-21T09:00:00+01': true,
      '2026-11-21T09:00:00': false, // a zone is required
      '2026-11-21T09:00:00.Z': false,
      '2026-11-21T09:00:00+01:': false,
      '2026-11-21T09:00:00+24:00': false,
      '2026-11-21T09:00:00+01:60': false,
      '2026-11-21TT09:00:00Z': false,
      '2026-11-21T09:00:00Z ': false,
      '2026-02-28T00:00:00Z': true,
      '2026-02-29T00:00:00Z': false,
      '2024-02-29T00:00:00Z': true,
      '1900-02-29T00:00:00Z': false,
      '2000-02-29T00:00:00Z': true,
      '2026-02-30T00:00:00Z': false,
      '2026-04-31T00:00:00Z': false,
      '2026-13-01T00:00:00Z': false,
      '2026-00-01T00:00:00Z': false,
      '2026-01-00T00:00:00Z': false,
      '2026-12-31T23:59:60Z': true, // a leap second
      '2026-12-31T23:59:60.999Z': true,
      '2026-12-31T23:59:61Z': false,
      '2026-12-31T22:59:60Z': false,
      '2026-12-31T00:59:60+01:00': true, // 23:59:60 UTC
      '2026-12-31T23:59:60+01:00': false,
      '2026-12-31T24:59:30+01:00': true, // 23:59:30 UTC, which ajv-formats takes
      '2026-12-31T23:59:59.99999999999999999Z': true, // read as 60: a leap second
      '2026-12-31T22:59:59.99999999999999999Z': false,
      '2026-12-31T24:00:00Z': false,
    };
    for (const [text, verdict] of Object.entries(cases)) {
      // Act / Assess
      expect(stock(text), `ajv-formats on ${text}`).toBe(verdict);
      expect(isDateTime(text), text).toBe(verdict);
    }
  });

  it('is what the validator registers, with ajv-formats comparison kept', () => {
    // Assess
    expect(formats['date-time'].validate).toBe(isDateTime);
    expect(formats['date-time'].compare).toBe((fullFormats['date-time'] as FormatDefinition<string>).compare);
    expect(formats.email).toBe(fullFormats.email);
  });
});
