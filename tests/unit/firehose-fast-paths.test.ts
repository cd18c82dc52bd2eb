/**
 * The Firehose transform's fast paths against the plain code they replace, on generated
 * adversarial inputs (the run's seed, tests/setup/): reading a record's text with `atob`,
 * encoding the output with `btoa`, sizing an entry's metadata without building its JSON, and
 * cutting a recipient's domain without a regex when there is nothing to cut.
 */
import { isUtf8 } from 'node:buffer';
import type { FirehoseTransformationResult } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeBase64Strict,
  encodeOutput,
  type RecordText,
  readRecordText,
  responseEntryBytes,
} from '../../shared/firehose-transform/firehose-transform.js';
import { emailDomain } from '../../shared/firehose-transform/ses.js';

/** The reference: strict base64 (Buffer, checked), then a fatal UTF-8 reading. */
function referenceText(data: string): RecordText {
  const bytes = decodeBase64Strict(data);
  if (!bytes) return { reason: 'NOT_BASE64' };
  return isUtf8(bytes) ? { text: bytes.toString('utf8') } : { reason: 'NOT_UTF8' };
}

/** Any text: ASCII, any code unit (lone surrogates included), whole graphemes. */
const anyText = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({
    unit: fc.constantFrom('a', '"', '\\', '\n', '\u007f', '\u0080', '\u00ff', '\u0100'),
    maxLength: 30,
  }),
);

/** Canonical base64 of bytes that are often not UTF-8, and of text that always is. */
const canonical = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes).toString('base64')),
  anyText.map((text) => Buffer.from(text, 'utf8').toString('base64')),
);

/** Characters that break base64 in every way a decoder might forgive. */
const intruder = fc.constantFrom(
  ...[' ', '\n', '\t', '\r', '\f', '\v', '\u00a0', '=', '==', '-', '_', '*', '.', '%', '\u0000'],
  ...['é', '\u2028', '\ufeff', '\ud800', 'A', 'Q', 'g', 'w', '+', '/', '0', 'AA', 'AAAA'],
);

/** Canonical base64 with one edit: a character inserted, replaced or removed, or padding moved. */
const nearlyBase64 = fc
  .tuple(canonical, fc.nat(), intruder, fc.constantFrom('insert', 'replace', 'remove', 'append', 'repad'))
  .map(([text, at, char, how]) => {
    const i = text.length === 0 ? 0 : at % text.length;
    switch (how) {
      case 'insert':
        return text.slice(0, i) + char + text.slice(i);
      case 'replace':
        return text.slice(0, i) + char + text.slice(i + 1);
      case 'remove':
        return text.slice(0, i) + text.slice(i + 1);
      case 'append':
        return text + char;
      default:
        // Padding bits made non-zero, or padding where none belongs.
        return text.endsWith('=')
          ? `${text.replace(/=+$/, '')}${char}${'='.repeat(4 - ((text.length + 3) % 4))}`
          : `${text}=`;
    }
  });

const anyData = fc.oneof(
  canonical,
  nearlyBase64,
  fc.string({ unit: fc.constantFrom(...'AQgwYWJj09+/= \n-_é'), maxLength: 24 }),
  fc.string({ maxLength: 40 }),
);

describe('firehose transform, fast paths agree with the reference', () => {
  it('reads a record as text exactly when strict base64 and a fatal UTF-8 decoder would', () => {
    fc.assert(
      fc.property(anyData, (data) => {
        expect(readRecordText(data)).toEqual(referenceText(data));
      }),
      { numRuns: 5000 },
    );
  });

  it('refuses the cases a forgiving decoder lets through', () => {
    // Act / Assess: whitespace, URL-safe characters, non-zero padding bits, stray padding.
    for (const data of [
      'YW Jj',
      'YWJj\n',
      ' YWJ',
      'YW-j',
      'YW_j',
      'YR==',
      'YWF=',
      'YQ=',
      'Y===',
      'ab==cd==',
    ]) {
      expect(readRecordText(data), data).toEqual({ reason: 'NOT_BASE64' });
    }
    expect(readRecordText('/w==')).toEqual({ reason: 'NOT_UTF8' }); // 0xff
    expect(readRecordText(Buffer.from('ünï', 'utf8').toString('base64'))).toEqual({ text: 'ünï' });
  });

  it('encodes any output text, with or without a newline, as the base64 of its UTF-8 bytes', () => {
    fc.assert(
      fc.property(anyText, fc.boolean(), (text, newline) => {
        expect(encodeOutput(text, newline)).toBe(
          Buffer.from(newline ? `${text}\n` : text, 'utf8').toString('base64'),
        );
      }),
      { numRuns: 3000 },
    );
  });

  it('sizes any metadata as its JSON, partition keys or not', () => {
    type Entry = FirehoseTransformationResult['records'][number];
    const keys = fc.dictionary(anyText, anyText, { maxKeys: 4 });
    const metadata = fc.oneof(
      keys.map((partitionKeys) => ({ partitionKeys })),
      fc.dictionary(anyText, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
      fc.tuple(keys, anyText, fc.jsonValue({ maxDepth: 1 })).map(([partitionKeys, name, value]) => ({
        partitionKeys,
        [name]: value,
      })),
      fc
        .dictionary(anyText, fc.oneof(anyText, fc.integer(), fc.constant(null)), { maxKeys: 3 })
        .map((partitionKeys) => ({ partitionKeys })),
    );
    fc.assert(
      fc.property(anyText, metadata, (recordId, meta) => {
        const entry = { recordId, result: 'Ok', data: 'YQ==', metadata: meta } as unknown as Entry;
        expect(responseEntryBytes(entry)).toBe(Buffer.byteLength(JSON.stringify(entry)) + ','.length);
      }),
      { numRuns: 3000 },
    );
  });

  it('cuts a recipient domain as the regex does, whatever follows the @', () => {
    const reference = (address: string) => {
      const at = address.lastIndexOf('@');
      if (at < 0) return undefined;
      const domain = address
        .slice(at + 1)
        .replace(/[>\s].*$/, '')
        .toLowerCase();
      return domain.length > 0 ? domain : undefined;
    };
    const part = fc.string({
      unit: fc.constantFrom(...'aZ.-@>< \t\n\r"', '\u00a0', '\u2028', '\ufeff', '\u3000', '\u007f', 'é', 'İ'),
      maxLength: 12,
    });
    fc.assert(
      fc.property(
        fc.oneof(
          part,
          fc.tuple(part, part).map(([a, b]) => `${a}@${b}`),
          fc.string(),
        ),
        (address) => {
          expect(emailDomain(address)).toBe(reference(address));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
