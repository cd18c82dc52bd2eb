import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cutPartitionKey, MAX_PARTITION_KEY_LENGTH } from '../../shared/core/partition-key.js';

const EMOJI = '\u{1F600}'; // two UTF-16 units

describe('cutPartitionKey', () => {
  it('keeps keys of 1-256 units as they are', () => {
    // Act / Assess
    expect(cutPartitionKey('a')).toBe('a');
    expect(cutPartitionKey('k'.repeat(256))).toBe('k'.repeat(256));
  });

  it('cuts at 256 units: one over loses one unit', () => {
    // Act / Assess
    expect(cutPartitionKey('k'.repeat(257))).toBe('k'.repeat(256));
  });

  it('never splits a surrogate pair at the boundary', () => {
    // Prepare: the pair sits on units 256-257
    const key = `${'k'.repeat(255)}${EMOJI}x`;
    // Act
    const cut = cutPartitionKey(key);
    // Assess
    expect(cut).toBe('k'.repeat(255));
    expect(cut.isWellFormed()).toBe(true);
    // A pair that ends exactly at unit 256 is kept whole.
    expect(cutPartitionKey(`${'k'.repeat(254)}${EMOJI}x`)).toBe(`${'k'.repeat(254)}${EMOJI}`);
    // The first and last high surrogates (U+10000 is D800 DC00, U+10FFFF is DBFF DFFF).
    expect(cutPartitionKey(`${'k'.repeat(255)}\u{10000}`)).toBe('k'.repeat(255));
    expect(cutPartitionKey(`${'k'.repeat(255)}\u{10FFFF}`)).toBe('k'.repeat(255));
    // The unit just past the high surrogates (a low one, or U+E000) is not a reason to cut short.
    expect(cutPartitionKey(`${'k'.repeat(255)}\uE000x`)).toBe(`${'k'.repeat(255)}\uE000`);
    expect(cutPartitionKey(`${'k'.repeat(255)}\uD7FFx`)).toBe(`${'k'.repeat(255)}\uD7FF`);
  });

  it('uses the fallback for an empty key, and replaces lone surrogates', () => {
    // Act / Assess
    expect(cutPartitionKey('', 'arn:x')).toBe('arn:x');
    expect(cutPartitionKey('')).toBe('_');
    expect(cutPartitionKey('a\ud800b')).toBe('a\ufffdb');
  });

  it('gives a well-formed key of 1-256 units, a prefix of the input, for any text', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 600 }),
        fc.string({ minLength: 1 }),
        (key, fallback) => {
          // Act
          const cut = cutPartitionKey(key, fallback);
          // Assess
          expect(cut.length).toBeGreaterThanOrEqual(1);
          expect(cut.length).toBeLessThanOrEqual(MAX_PARTITION_KEY_LENGTH);
          expect(cut.isWellFormed()).toBe(true);
          const source = key.length > 0 ? key.toWellFormed() : fallback.toWellFormed();
          expect(source.startsWith(cut)).toBe(true);
          // Nothing is cut that could have been kept: at most one unit short of the limit.
          if (source.length > MAX_PARTITION_KEY_LENGTH) expect(cut.length).toBeGreaterThanOrEqual(255);
        },
      ),
    );
  });
});
