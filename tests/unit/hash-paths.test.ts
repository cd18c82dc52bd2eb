/**
 * Keyed hashing of configured paths, against an oracle that reads the document as a tree:
 * shared references (one array in two places), overlapping paths and wildcards must not
 * make any value hashed twice, and the input must be left as it was.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileHashing } from '../../shared/firehose-transform/hash-paths.js';
import { type KeyPath, keyPaths, readAt, writeAt } from '../helpers/json-tree.js';

const KEY = Buffer.from('hash-paths-key');
const hmac = (value: string) => createHmac('sha256', KEY).update(value).digest('base64url');
type Json = Record<string, unknown>;

/** The oracle: strings a path reaches, and string elements of arrays a path reaches, hashed once. */
function expectedHashing(tree: Json, paths: readonly string[]): Json {
  const places = new Map<string, KeyPath>();
  for (const path of paths) {
    for (const at of keyPaths(tree, path.split('.'))) {
      const value = readAt(tree, at);
      if (typeof value === 'string') places.set(JSON.stringify(at), at);
      else if (Array.isArray(value))
        value.forEach((item, i) => {
          if (typeof item === 'string') places.set(JSON.stringify([...at, String(i)]), [...at, String(i)]);
        });
    }
  }
  const expected = structuredClone(tree);
  for (const at of places.values()) writeAt(expected, at, hmac(readAt(tree, at) as string));
  return expected;
}

const SHARED = '<shared>';
const KEYS = ['a', 'b', '0', '1', '__proto__'];
/** Trees whose leaves may be the marker that `withAliases` turns into one shared container. */
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('ana@example.com', 'bo@example.org', SHARED),
    fc.integer(),
    fc.array(tie('tree'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('tree'), { maxKeys: 3 }),
  ),
}));

function withAliases(value: unknown, shared: unknown): unknown {
  if (value === SHARED) return shared;
  if (Array.isArray(value)) return value.map((item) => withAliases(item, shared));
  if (typeof value !== 'object' || value === null) return value;
  const out: Json = {};
  for (const [key, child] of Object.entries(value)) writeAt(out, [key], withAliases(child, shared));
  return out;
}

const path = fc.array(fc.constantFrom(...KEYS, '*'), { minLength: 1, maxLength: 4 }).map((s) => s.join('.'));

describe('hashing configured paths', () => {
  it('hashes every place a path reaches exactly once, from the original, whatever the aliasing', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...KEYS), tree, { maxKeys: 4 }),
        fc.oneof(
          fc.array(fc.constantFrom('ana@example.com', 'x'), { maxLength: 3 }),
          fc.dictionary(fc.constantFrom(...KEYS), fc.constant('bo@example.org')),
        ),
        fc.array(path, { minLength: 1, maxLength: 4 }),
        (shape, sharedValue, paths) => {
          // Prepare: one container placed wherever the marker is (so possibly in many places).
          const doc = withAliases(shape, sharedValue) as Json;
          const before = JSON.stringify(doc);
          const asTree = JSON.parse(before) as Json;
          // Act
          const hashed = compileHashing(paths, hmac)(doc);
          // Assess
          expect(JSON.parse(JSON.stringify(hashed))).toEqual(expectedHashing(asTree, paths));
          expect(JSON.stringify(doc)).toBe(before);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('hashes both places of one array shared by two paths once each', () => {
    // Prepare: the Delivery shape: recipients and details.recipients are the same array.
    const recipients = ['ana@example.com'];
    const doc = { recipients, details: { recipients }, mail: { destination: ['ana@example.com'] } };
    // Act
    const out = compileHashing(
      ['recipients.*', 'details.recipients.*', 'mail.destination'],
      hmac,
    )(doc) as Json;
    // Assess
    const once = [hmac('ana@example.com')];
    expect(out).toEqual({ recipients: once, details: { recipients: once }, mail: { destination: once } });
    expect(recipients).toEqual(['ana@example.com']);
  });
});

describe('hashing a tree in place', () => {
  it('gives the document hashing a copy gives, key for key and in order, edited in place', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...KEYS), tree, { maxKeys: 4 }),
        fc.array(path, { minLength: 1, maxLength: 4 }),
        (shape, paths) => {
          // Prepare: a tree (through JSON, so no container is in two places)
          const text = JSON.stringify(withAliases(shape, ['ana@example.com', { a: 'bo@example.org' }]));
          const hashing = compileHashing(paths, hmac);
          const doc = JSON.parse(text) as Json;
          // Act
          const copied = hashing(JSON.parse(text) as Json);
          const edited = hashing(doc, true);
          // Assess
          expect(JSON.stringify(edited)).toBe(JSON.stringify(copied));
          expect(edited).toBe(doc);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('follows the paths that name an index of an array it walks whole', () => {
    // Prepare: `list.*` walks every element; `list.2.x` goes deeper into one of them.
    const doc = { list: ['a', ['b', 'c'], { x: 'd' }], other: ['e'] };
    const hashing = compileHashing(['list.*', 'list.2.x', 'other.length'], (v) => `h(${v})`);
    const expected = { list: ['h(a)', ['h(b)', 'h(c)'], { x: 'h(d)' }], other: ['e'] };
    // Act / Assess
    expect(hashing(structuredClone(doc))).toEqual(expected);
    expect(hashing(structuredClone(doc), true)).toEqual(expected);
  });
});

describe('hashing where paths meet other values', () => {
  const tag = (value: string) => `h(${value})`;

  it('leaves null, numbers and booleans on a path as they are, wildcard or not', () => {
    // Prepare
    const hashing = compileHashing(['a.x', 'b.*', 'c.*.y', 'd'], tag);
    const doc = { a: null, b: 5, c: [null, true, { y: 'v' }], d: 7 };
    // Act
    const out = hashing(doc);
    // Assess
    expect(out).toEqual({ a: null, b: 5, c: [null, true, { y: 'h(v)' }], d: 7 });
  });

  it('gives back the document itself when no path reaches a string', () => {
    // Prepare
    const hashing = compileHashing(['a.b', 'list'], tag);
    const doc = { a: { c: 'kept' }, list: [1, 2], other: 'x' };
    // Act and Assess: nothing to hash, nothing copied
    expect(hashing(doc)).toBe(doc);
  });
});
