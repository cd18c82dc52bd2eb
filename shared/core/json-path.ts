/**
 * Dotted paths into parsed JSON (`user.id`, `items.0.sku`), compiled once per route.
 * Only own properties are followed, so `constructor` or `__proto__` never reach a prototype.
 */

/**
 * A path's segments. `plain` is set when no segment names anything an object or an array
 * inherits (`constructor`, `length`, `__proto__`, ...): then a plain property read can only
 * find an own property, and the per-step own-property check is skipped (the hot path).
 */
export type CompiledPath = readonly string[] & { plain?: boolean };

const INHERITED = new Set([
  ...Object.getOwnPropertyNames(Object.prototype),
  ...Object.getOwnPropertyNames(Array.prototype),
]);

export function compilePath(path: string): CompiledPath {
  const segments: string[] & { plain?: boolean } = path.split('.');
  segments.plain = segments.every((segment) => !INHERITED.has(segment));
  return segments;
}

/** The value at `path`, or undefined when any step is missing. */
export function getPath(root: unknown, path: CompiledPath): unknown {
  let current = root;
  if (path.plain) {
    for (let i = 0; i < path.length; i++) {
      if (typeof current !== 'object' || current === null) return undefined;
      current = (current as Record<string, unknown>)[path[i] as string];
    }
    return current;
  }
  for (const segment of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    if (!Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** Sets `value` at `path` in `target`, creating plain objects on the way. */
export function setPath(target: Record<string, unknown>, path: CompiledPath, value: unknown): void {
  let current = target;
  for (let i = 0; i < path.length - 1; i++) {
    const segment = path[i] as string;
    const next = Object.hasOwn(current, segment) ? current[segment] : undefined;
    if (typeof next === 'object' && next !== null && !Array.isArray(next)) {
      current = next as Record<string, unknown>;
    } else {
      const created: Record<string, unknown> = {};
      defineOwn(current, segment, created);
      current = created;
    }
  }
  defineOwn(current, path[path.length - 1] as string, value);
}

/** Removes the value at `path` and returns it; objects left empty on the way are removed too. */
export function takePath(root: Record<string, unknown>, path: CompiledPath): unknown {
  const parents: Record<string, unknown>[] = [root];
  for (const segment of path.slice(0, -1)) {
    const next = getPath(parents[parents.length - 1], [segment]);
    if (typeof next !== 'object' || next === null || Array.isArray(next)) return undefined;
    parents.push(next as Record<string, unknown>);
  }
  const last = path[path.length - 1] as string;
  const parent = parents[parents.length - 1] as Record<string, unknown>;
  if (!Object.hasOwn(parent, last)) return undefined;
  const value = parent[last];
  delete parent[last];
  for (let depth = parents.length - 1; depth > 0; depth--) {
    if (Object.keys(parents[depth] as object).length > 0) break;
    delete (parents[depth - 1] as Record<string, unknown>)[path[depth - 1] as string];
  }
  return value;
}

/**
 * Assignment that treats `__proto__` as an ordinary key. Only that key reaches a prototype
 * through plain assignment on a plain object, so every other key takes the fast path.
 */
export function defineOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/** A JSON-ish key path for messages: `sqsToKinesis.routes[0].queueArn`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

/**
 * Calls `visit(parent, key)` for every place `path` reaches, where a `*` segment stands for
 * every element of an array or every own value of an object. Own properties only.
 */
export function visitPath(
  root: unknown,
  path: CompiledPath,
  visit: (parent: Record<string, unknown> | unknown[], key: string | number) => void,
  depth = 0,
): void {
  if (typeof root !== 'object' || root === null) return;
  const segment = path[depth] as string;
  const last = depth === path.length - 1;
  const keys: (string | number)[] =
    segment === '*'
      ? Array.isArray(root)
        ? root.map((_, i) => i)
        : Object.keys(root)
      : Object.hasOwn(root, segment)
        ? [Array.isArray(root) ? Number(segment) : segment]
        : [];
  for (const key of keys) {
    if (last) visit(root as Record<string, unknown>, key);
    else visitPath((root as Record<string | number, unknown>)[key], path, visit, depth + 1);
  }
}
