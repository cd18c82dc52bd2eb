/** Key paths into plain JSON trees, for oracles that must not share code with the module under test. */

export type KeyPath = readonly string[];

/** Every key path that a dotted path with `*` wildcards reaches in `tree` (own keys only). */
export function keyPaths(tree: unknown, segments: readonly string[], at: KeyPath = []): KeyPath[] {
  if (segments.length === 0) return [at];
  if (typeof tree !== 'object' || tree === null) return [];
  const [head, ...rest] = segments as [string, ...string[]];
  const keys =
    head === '*' ? Object.keys(tree) : Object.hasOwn(tree, head) && head !== 'length' ? [head] : [];
  return keys.flatMap((key) => keyPaths((tree as Record<string, unknown>)[key], rest, [...at, key]));
}

export function readAt(tree: unknown, at: KeyPath): unknown {
  return at.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], tree);
}

/** Sets the value at an existing key path (as an own property, whatever the key). */
export function writeAt(tree: unknown, at: KeyPath, value: unknown): void {
  const parent = readAt(tree, at.slice(0, -1)) as Record<string, unknown>;
  Object.defineProperty(parent, at[at.length - 1] as string, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}
