import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FirehoseTransformConfig, SES_EVENT_TYPES } from '../../shared/core/config/schema.js';
import { compileTransform } from '../../shared/firehose-transform/firehose-transform.js';
import {
  type DocumentField,
  isObjectField,
  KEYWORD_IGNORE_ABOVE,
  SES_DOCUMENT,
} from '../../shared/firehose-transform/ses-document.js';
import { loadEvent, localConfig, type RawConfig } from '../helpers/fixtures.js';
import { conformanceProblems } from '../helpers/ses-conformance.js';
import { allTenTypes } from '../helpers/ses-corpus.js';
import { TEST_HASH_KEY } from '../helpers/test-deps.js';

// Every type kept; once with the sample config's removals and hashing, once keeping all.
const sampleSettings = {
  ...localConfig().firehoseTransform,
  keepEventTypes: undefined,
} as FirehoseTransformConfig;
const TRANSFORMS = {
  'sample config': compileTransform(sampleSettings, TEST_HASH_KEY),
  'nothing removed or hashed': compileTransform({ ...sampleSettings, remove: [], hash: [] }, TEST_HASH_KEY),
};

/** The Ok document the transform makes of `event`, or a thrown error naming what it got. */
function okDocument(
  transform: (data: string) => { result: string; data?: string },
  event: unknown,
): RawConfig {
  const outcome = transform(Buffer.from(JSON.stringify(event)).toString('base64'));
  if (outcome.result !== 'Ok' || outcome.data === undefined)
    throw new Error(`expected Ok, got ${outcome.result}`);
  return JSON.parse(Buffer.from(outcome.data, 'base64').toString('utf8'));
}

/** Every keyword value of `doc`, by path. */
function keywordValues(field: DocumentField, value: unknown, path: string): [string, string][] {
  if (value === undefined || value === null) return [];
  const items = field.list && Array.isArray(value) ? value : [value];
  return items.flatMap((item) => {
    if (isObjectField(field)) {
      return Object.entries(item as RawConfig).flatMap(([name, child]) =>
        field.fields[name] ? keywordValues(field.fields[name], child, `${path}.${name}`) : [],
      );
    }
    return field.kind === 'keyword' && typeof item === 'string' ? [[path, item] as [string, string]] : [];
  });
}

describe('the SES document description', () => {
  const samples = readdirSync('events/ses').map(
    (file) => [file, loadEvent<RawConfig>(`ses/${file}`)] as const,
  );

  it.each(Object.entries(TRANSFORMS))('describes every sample document exactly (%s)', (_, transform) => {
    for (const [file, event] of samples) {
      // Act
      const doc = okDocument(transform, event);
      // Assess: conforms, and every keyword is short enough to be indexed, not just kept.
      expect(conformanceProblems(SES_DOCUMENT, doc), file).toEqual([]);
      const long = keywordValues(SES_DOCUMENT, doc, '').filter(([, v]) => v.length > KEYWORD_IGNORE_ABOVE);
      expect(long, file).toEqual([]);
    }
  });

  it.each(Object.entries(TRANSFORMS))(
    'describes the document of any generated event of all ten types (%s)',
    (_, transform) => {
      let documents = 0;
      fc.assert(
        fc.property(allTenTypes, (events) => {
          events.forEach((event, i) => {
            // Act
            const doc = okDocument(transform, event);
            documents++;
            // Assess
            expect(doc.eventType).toBeTypeOf('string');
            expect(conformanceProblems(SES_DOCUMENT, doc), SES_EVENT_TYPES[i]).toEqual([]);
          });
        }),
        { numRuns: 60 },
      );
      expect(documents).toBe(600);
    },
  );

  it('finds what departs from the description, naming the path', () => {
    // Prepare
    const doc = okDocument(TRANSFORMS['nothing removed or hashed'], loadEvent<RawConfig>('ses/click.json'));
    const broken = (patch: (d: RawConfig) => void) => {
      const copy = structuredClone(doc);
      patch(copy);
      return conformanceProblems(SES_DOCUMENT, copy);
    };
    // Act / Assess
    expect(conformanceProblems(SES_DOCUMENT, doc)).toEqual([]);
    expect(broken((d) => (d.clicked = 1))).toEqual(['clicked: not declared']);
    expect(broken((d) => (d.ipAddress = 'not-an-ip'))).toEqual([
      'ipAddress: not an IP address ("not-an-ip")',
    ]);
    expect(broken((d) => (d['@timestamp'] = 'yesterday'))).toEqual([
      '@timestamp: not an ISO 8601 date ("yesterday")',
    ]);
    expect(broken((d) => (d.mail.destination = 'ana@example.com'))).toEqual(['mail.destination: not a list']);
    expect(broken((d) => (d.details.link = { href: 'x' }))).toEqual([
      'details.link: not a string ({"href":"x"})',
    ]);
    expect(broken((d) => (d.link = 'x'.repeat(40_000)))).toEqual([
      expect.stringMatching(/^link: longer than a term can be/),
    ]);
    expect(broken((d) => (d.mail.headersTruncated = 'false'))).toEqual([
      'mail.headersTruncated: not a boolean ("false")',
    ]);
    expect(broken((d) => (d.mail.tags = ['a']))).toEqual(['mail.tags: not an object (["a"])']);
    expect(broken((d) => (d.details.newField = {}))).toEqual(['details.newField: not declared']);
  });
});
