/**
 * The Firehose transform's fast paths against the plain code they replace, on generated
 * adversarial inputs (the run's seed, tests/setup/): reading a record's text with `atob`,
 * encoding the output with `btoa`, sizing an entry's metadata without building its JSON,
 * cutting a recipient's domain without a regex when there is nothing to cut, and normalising
 * and hashing a freshly parsed SES event in place rather than in copies.
 */
import { isUtf8 } from 'node:buffer';
import type { FirehoseTransformationResult } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FirehoseTransformConfig } from '../../shared/core/config/schema.js';
import { MappingError } from '../../shared/core/errors.js';
import { compilePath, getPath, visitPath } from '../../shared/core/json-path.js';
import {
  compileTransform,
  decodeBase64Strict,
  encodeOutput,
  keyedHasher,
  type RecordOutcome,
  type RecordText,
  readRecordText,
  responseEntryBytes,
  toIso,
} from '../../shared/firehose-transform/firehose-transform.js';
import { compileHashing } from '../../shared/firehose-transform/hash-paths.js';
import {
  emailDomain,
  normalizeParsedSesEvent,
  normalizeSesEvent,
  sesEventType,
} from '../../shared/firehose-transform/ses.js';
import { localConfig } from '../helpers/fixtures.js';
import { damagedSesEvent } from '../helpers/ses-corpus.js';
import { TEST_HASH_KEY } from '../helpers/test-deps.js';

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

/** A value's JSON with undefined values kept (as a marker), so that no key goes unseen. */
const exactJson = (value: unknown) =>
  JSON.stringify(value, (_key, item: unknown) => (item === undefined ? '<undefined>' : item));

/** What `fn` returns, or the error it throws (its class and message). */
function attempt<T>(fn: () => T): { value: T } | { error: string } {
  try {
    return { value: fn() };
  } catch (error) {
    return { error: `${(error as Error).constructor.name}: ${(error as Error).message}` };
  }
}

/** Whether no object or array is reachable by two paths of `value`. */
function isTree(value: unknown, seen = new Set<object>()): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (seen.has(value)) return false;
  seen.add(value);
  return Object.values(value).every((child) => isTree(child, seen));
}

describe('SES normalisation of a freshly parsed event, in place', () => {
  it('gives the document the copying normaliser gives, key for key and in order, or the same error', () => {
    fc.assert(
      fc.property(damagedSesEvent, (event) => {
        // Prepare
        const text = JSON.stringify(event);
        // Act
        const copying = attempt(() => exactJson(normalizeSesEvent(JSON.parse(text))));
        const inPlace = attempt(() => {
          const parsed = JSON.parse(text);
          return exactJson(normalizeParsedSesEvent(parsed, sesEventType(parsed)).doc);
        });
        // Assess
        expect(inPlace).toEqual(copying);
      }),
      { numRuns: 1500 },
    );
  });

  it('says the document is a tree exactly when no object or array in it is in two places', () => {
    let trees = 0;
    let shared = 0;
    fc.assert(
      fc.property(damagedSesEvent, (event) => {
        // Prepare
        const parsed = JSON.parse(JSON.stringify(event));
        let type: ReturnType<typeof sesEventType>;
        try {
          type = sesEventType(parsed);
        } catch {
          return;
        }
        // Act
        const normalised = attempt(() => normalizeParsedSesEvent(parsed, type));
        if ('error' in normalised) return;
        // Assess
        const { doc, tree } = normalised.value;
        expect(tree).toBe(isTree(doc));
        if (tree) trees++;
        else shared++;
      }),
      { numRuns: 1500 },
    );
    // Both answers were put to the test.
    expect(trees).toBeGreaterThan(100);
    expect(shared).toBeGreaterThan(10);
  });
});

type SesSettings = Extract<FirehoseTransformConfig, { mode: 'ses' }>;

/** Paths that reach into what the normaliser lifts from the details, and into the details. */
const REACHING = [
  ...['*', '*.*', '*.*.*', 'details.*', 'details.*.*', 'details.bounceType.*', 'bounceType.*'],
  ...['recipients.*.*', 'details.recipients.*.*', 'userAgent', 'details.userAgent.*', 'reason.0'],
  ...['mail.*', 'mail.headers.*', 'mail.destination.0', 'smtpResponse.*', 'details.errorMessage'],
];

/**
 * The SES path of the transform as it was: the copying normaliser, the removals, hashing into
 * fresh containers, the output encoded and its partition keys read from it. For records whose
 * data is the base64 of JSON text of an object (the path the fast paths change).
 */
function copyingTransform(settings: SesSettings, key: Uint8Array): (data: string) => RecordOutcome {
  const keep = settings.keepEventTypes ? new Set<string>(settings.keepEventTypes) : undefined;
  const removals = settings.remove.map(compilePath);
  const hashing = compileHashing(settings.hash, keyedHasher(key));
  const partitions = Object.entries(settings.partitionKeys ?? {});
  return (data) => {
    const event = JSON.parse(Buffer.from(data, 'base64').toString('utf8'));
    let doc: Record<string, unknown>;
    try {
      if (keep && !keep.has(sesEventType(event))) return { result: 'Dropped', reason: 'FILTERED' };
      doc = normalizeSesEvent(event);
    } catch (error) {
      if (!(error instanceof MappingError)) throw error;
      return { result: 'ProcessingFailed', reason: error.reason, message: error.message };
    }
    for (const path of removals) {
      const targets: [Record<string, unknown> | unknown[], string | number][] = [];
      visitPath(doc, path, (parent, at) => targets.push([parent, at]));
      for (const [parent, at] of targets.reverse()) {
        if (Array.isArray(parent)) parent.splice(at as number, 1);
        else delete parent[at as string];
      }
    }
    const hashed = hashing(doc);
    const out = encodeOutput(JSON.stringify(hashed), settings.appendNewline);
    if (partitions.length === 0) return { result: 'Ok', data: out };
    const partitionKeys: Record<string, string> = {};
    for (const [name, { path, as }] of partitions) {
      const value = getPath(hashed, compilePath(path));
      if (as === 'value') {
        partitionKeys[name] = ['string', 'number', 'boolean'].includes(typeof value)
          ? String(value)
          : 'unknown';
      } else {
        const iso = toIso(value);
        const [from, to] = { date: [0, 10], year: [0, 4], month: [5, 7], day: [8, 10], hour: [11, 13] }[as];
        partitionKeys[name] = iso ? iso.slice(from, to) : 'unknown';
      }
    }
    return { result: 'Ok', data: out, partitionKeys };
  };
}

describe('the transform on SES events, against its copying path', () => {
  const project = localConfig().firehoseTransform as SesSettings;
  const settings = fc.record({
    hash: fc.oneof(fc.constant(project.hash), fc.subarray([...project.hash, ...REACHING], { minLength: 1 })),
    remove: fc.oneof(fc.constant(project.remove), fc.subarray(REACHING, { maxLength: 2 })),
    keepEventTypes: fc.constantFrom(project.keepEventTypes, undefined),
  });

  it('gives every record the outcome the copying path gives, whatever the paths reach', () => {
    fc.assert(
      fc.property(settings, fc.array(damagedSesEvent, { minLength: 1, maxLength: 5 }), (edits, events) => {
        // Prepare
        const config = { ...project, ...edits };
        const transform = compileTransform(config, TEST_HASH_KEY);
        const reference = copyingTransform(config, TEST_HASH_KEY);
        for (const event of events) {
          const data = Buffer.from(`${JSON.stringify(event)}\n`).toString('base64');
          // Act / Assess
          expect(transform(data)).toEqual(reference(data));
        }
      }),
      { numRuns: 500 },
    );
  });
});
