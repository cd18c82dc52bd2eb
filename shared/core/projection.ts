/**
 * Reshaping a parsed JSON object: keep some paths, rename some to top-level fields, drop
 * others. Compiled once per config entry and shared by every handler that reshapes JSON.
 * Order: keep, then rename, then drop. A renamed value moves; objects it leaves empty go.
 */
import { compilePath, defineOwn, getPath, setPath, takePath } from './json-path.js';

export interface ProjectionRule {
  keep?: readonly string[] | undefined;
  rename?: Readonly<Record<string, string>> | undefined;
  drop?: readonly string[] | undefined;
}

export type Projection = (body: Record<string, unknown>) => Record<string, unknown>;

/** The projection for `rule`, or null when it changes nothing. */
export function compileProjection(rule: ProjectionRule): Projection | null {
  const { keep, rename = {}, drop = [] } = rule;
  if (!keep && Object.keys(rename).length === 0 && drop.length === 0) return null;
  // A kept path that is also renamed goes straight to its new name: no copy-then-delete,
  // which would also turn the output into a slow dictionary-mode object.
  const kept = keep?.map((path) => ({ path: compilePath(path), renamedTo: rename[path] }));
  const keptNames = new Set(keep);
  const renames = Object.entries(rename)
    .filter(([from]) => !keptNames.has(from))
    .map(([from, to]) => [compilePath(from), to] as const);
  const drops = drop.map(compilePath);
  return (body) => {
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
