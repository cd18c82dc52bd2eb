/**
 * Reshaping a parsed JSON object: keep some paths, rename some to top-level fields, drop
 * others. Compiled once per config entry and shared by every handler that reshapes JSON.
 * Order: keep, then rename, then drop. A renamed value moves; objects it leaves empty go.
 */
import { type CompiledPath, compilePath, defineOwn, getPath, setPath, takePath } from './json-path.js';

export interface ProjectionRule {
  keep?: readonly string[] | undefined;
  rename?: Readonly<Record<string, string>> | undefined;
  drop?: readonly string[] | undefined;
}

/** Reshapes a body as JSON.parse gives it (every own key enumerable). */
export type Projection = (body: Record<string, unknown>) => Record<string, unknown>;

/**
 * From this many distinct top-level names among the kept paths, the body's own keys are
 * walked once to read them all (see `readTopLevel`), rather than each read by its path.
 */
const MANY_TOP_LEVEL_NAMES = 8;

/**
 * Each distinct top-level name of the plain kept paths, with its place in the table that
 * `readTopLevel` fills; none when there are too few of them for the walk to pay.
 */
function topLevelSlots(paths: readonly CompiledPath[]): Map<string, number> | undefined {
  const slots = new Map<string, number>();
  for (const path of paths)
    if (path.plain && !slots.has(path[0] as string)) slots.set(path[0] as string, slots.size);
  return slots.size >= MANY_TOP_LEVEL_NAMES ? slots : undefined;
}

/**
 * The body's values under the slotted names, in one walk over its keys: a lookup per key the
 * body has, where reading each kept path would miss on every name it does not have (an SES
 * event has one of ten detail objects). The body's top level is never written while the
 * kept paths are read, so values read up front are the ones each path would read.
 */
function readTopLevel(body: Record<string, unknown>, slots: Map<string, number>): unknown[] {
  const values = new Array<unknown>(slots.size);
  for (const key in body) {
    const slot = slots.get(key);
    if (slot !== undefined) values[slot] = body[key];
  }
  return values;
}

/** `getPath` of a plain path whose first step is already read. */
function restOfPath(first: unknown, path: CompiledPath): unknown {
  let current = first;
  for (let i = 1; i < path.length; i++) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[path[i] as string];
  }
  return current;
}

/** The projection for `rule`, or null when it changes nothing. */
export function compileProjection(rule: ProjectionRule): Projection | null {
  const { keep, rename = {}, drop = [] } = rule;
  if (!keep && Object.keys(rename).length === 0 && drop.length === 0) return null;
  // A kept path that is also renamed goes straight to its new name: no copy-then-delete,
  // which would also turn the output into a slow dictionary-mode object.
  const keptPaths = keep?.map(compilePath) ?? [];
  const slots = topLevelSlots(keptPaths);
  const kept = keep?.map((path, i) => {
    const compiled = keptPaths[i] as CompiledPath;
    const slot = slots && compiled.plain ? (slots.get(compiled[0] as string) as number) : -1;
    return { path: compiled, renamedTo: rename[path], slot };
  });
  const keptNames = new Set(keep);
  const renames = Object.entries(rename)
    .filter(([from]) => !keptNames.has(from))
    .map(([from, to]) => [compilePath(from), to] as const);
  const drops = drop.map(compilePath);
  return (body) => {
    let out = body;
    if (kept) {
      out = {};
      const topLevel = slots ? readTopLevel(body, slots) : undefined;
      for (const { path, renamedTo, slot } of kept) {
        const value = topLevel && slot >= 0 ? restOfPath(topLevel[slot], path) : getPath(body, path);
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
