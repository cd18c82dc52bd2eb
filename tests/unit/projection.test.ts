/**
 * The compiled projection (keep, rename, drop) against the one it replaced, which read every
 * kept path from the body in turn: same output and same body afterwards, key for key and in
 * order, for generated bodies and rules (many top-level names, nested and overlapping paths,
 * renames onto kept names, odd keys), with the run's seed (tests/setup/).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePath, defineOwn, getPath, setPath, takePath } from '../../shared/core/json-path.js';
import { compileProjection, type ProjectionRule } from '../../shared/core/projection.js';

type Json = Record<string, unknown>;

/** The projection as it was: each kept path read from the body by `getPath`. */
function previousProjection({ keep, rename = {}, drop = [] }: ProjectionRule) {
  const kept = keep?.map((path) => ({ path: compilePath(path), renamedTo: rename[path] }));
  const keptNames = new Set(keep);
  const renames = Object.entries(rename)
    .filter(([from]) => !keptNames.has(from))
    .map(([from, to]) => [compilePath(from), to] as const);
  const drops = drop.map(compilePath);
  return (body: Json): Json => {
    let out = body;
    if (kept) {
      out = {};
      for (const { path, renamedTo } of kept) {
        const value = getPath(body, path);
        if (value === undefined) continue;
        if (renamedTo === undefined) setPath(out, path, value);
        else defineOwn(out, renamedTo, value);
      }
    }
    for (const [from, to] of renames) {
      const value = takePath(out, from);
      if (value !== undefined) defineOwn(out, to, value);
    }
    for (const path of drops) takePath(out, path);
    return out;
  };
}

/** Top-level names: more than enough for the walk over the body's keys, and odd ones. */
const TOP = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'mail', 'bounce', ''];
const ODD = ['__proto__', 'constructor', 'toString', 'length', '0', '1'];
const NAMES = [...TOP, ...ODD];

const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ unit: 'binary', maxLength: 6 }),
    fc.integer(),
    fc.constantFrom(null, true),
    fc.array(tie('tree'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...NAMES), tie('tree'), { maxKeys: 4 }),
  ),
}));
const body = fc.dictionary(fc.constantFrom(...NAMES), tree, { maxKeys: 12 });

const path = fc
  .tuple(fc.constantFrom(...NAMES), fc.array(fc.constantFrom(...NAMES), { maxLength: 2 }))
  .map(([head, rest]) => [head, ...rest].join('.'));
/** Kept paths: usually eight or more top-level names, and nested, repeated or prefix paths. */
const keep = fc
  .tuple(fc.shuffledSubarray(TOP, { minLength: 6 }), fc.array(path, { maxLength: 6 }), fc.nat())
  .map(([tops, paths, at]) => {
    const all = [...tops, ...paths];
    const cut = at % (all.length + 1);
    return [...all.slice(cut), ...all.slice(0, cut)];
  });

const rule: fc.Arbitrary<ProjectionRule> = keep.chain((kept) =>
  fc.record(
    {
      keep: fc.constant(kept),
      rename: fc.dictionary(fc.oneof(fc.constantFrom(...kept), path), fc.constantFrom(...NAMES), {
        maxKeys: 3,
      }),
      drop: fc.array(path, { maxLength: 2 }),
    },
    { requiredKeys: ['keep'] },
  ),
);

/** A value's JSON with undefined values kept (as a marker), so that no key goes unseen. */
const exactJson = (value: unknown) =>
  JSON.stringify(value, (_key, item: unknown) => (item === undefined ? '<undefined>' : item));

describe('projection', () => {
  it('gives the output and leaves the body as the projection reading each path did', () => {
    fc.assert(
      fc.property(rule, body, (projection, shape) => {
        // Prepare: bodies as JSON.parse gives them
        const text = JSON.stringify(shape);
        const before = JSON.parse(text) as Json;
        const after = JSON.parse(text) as Json;
        // Act
        const expected = previousProjection(projection)(before);
        const actual = (compileProjection(projection) ?? ((b: Json) => b))(after);
        // Assess
        expect(exactJson(actual)).toBe(exactJson(expected));
        expect(exactJson(after)).toBe(exactJson(before));
      }),
      { numRuns: 3000 },
    );
  });
});
