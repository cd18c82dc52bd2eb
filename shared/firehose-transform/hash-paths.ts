/**
 * Keyed hashing of the configured paths of a document, immune to aliasing.
 *
 * By default the document is never edited: every container on the way to a hashed value is
 * copied, and each value is hashed from the document as it was read. So a value reachable
 * by two paths (the same array under `recipients` and `details.recipients`), two paths that
 * overlap (`a.*` and `a.0`), or one path through a shared object, still gives
 * HMAC(original) in each place it appears, never HMAC(HMAC(original)). A caller that owns a
 * document known to be a tree (no container reachable by two paths) may have it edited in
 * place instead: each place is then still visited once, and read before it is written, so
 * the result is the same document without the copies.
 *
 * What is hashed, for a document read as a tree: a string at a place some path reaches,
 * and each string element of an array at a place some path reaches. Other values are kept.
 * Documents are JSON values (as JSON.parse gives them): arrays are dense and have no keys
 * but their indices.
 */
import { defineOwn } from '../core/json-path.js';

/** The configured paths merged into one tree of segments; `*` matches every key or index. */
interface PathNode {
  terminal: boolean;
  children: Map<string, PathNode>;
}

const WILDCARD = '*';

function buildTree(paths: readonly string[]): PathNode {
  const root: PathNode = { terminal: false, children: new Map() };
  for (const path of paths) {
    let node = root;
    for (const segment of path.split('.')) {
      let child = node.children.get(segment);
      if (!child) {
        child = { terminal: false, children: new Map() };
        node.children.set(segment, child);
      }
      node = child;
    }
    node.terminal = true;
  }
  return root;
}

/**
 * Where the walk stands: the set of tree nodes a key path reached, compiled once. Its next
 * state per key is memoised: a key that no node names leads, for every such key, to the
 * same state (the nodes' wildcards), so there are only as many states as the config has
 * paths' prefixes, whatever the documents hold.
 */
interface State {
  /** Some path ends here. */
  terminal: boolean;
  /** Some node has a `*` child: every own key is visited. */
  wildcard: boolean;
  /** No node at all: nothing below is hashed. */
  empty: boolean;
  /** Without a wildcard, the keys worth visiting: those some node names. */
  named: readonly string[];
  step(key: string): State;
  /** As `step(String(index))`, without writing the index out when no node names any key. */
  stepIndex(index: number): State;
}

function compileState(nodes: readonly PathNode[]): State {
  const names = new Set<string>();
  for (const node of nodes) for (const key of node.children.keys()) if (key !== WILDCARD) names.add(key);
  const wildcards = nodes.flatMap((node) => {
    const any = node.children.get(WILDCARD);
    return any ? [any] : [];
  });
  const next = new Map<string, State>();
  let other: State | undefined;
  const step = (key: string): State => {
    if (!names.has(key)) {
      other ??= compileState(wildcards);
      return other;
    }
    let state = next.get(key);
    if (state === undefined) {
      state = compileState(follow(nodes, key));
      next.set(key, state);
    }
    return state;
  };
  return {
    terminal: nodes.some((node) => node.terminal),
    wildcard: wildcards.length > 0,
    empty: nodes.length === 0,
    named: [...names],
    step,
    stepIndex: (index) => step(names.size === 0 ? '' : String(index)),
  };
}

/** The nodes that a key leads to from `nodes`: its own segment's and the wildcard's. */
function follow(nodes: readonly PathNode[], key: string): PathNode[] {
  const next: PathNode[] = [];
  for (const node of nodes) {
    const named = node.children.get(key);
    if (named) next.push(named);
    const any = node.children.get(WILDCARD);
    if (any) next.push(any);
  }
  return next;
}

type Hash = (value: string) => string;

function rewrite(value: unknown, state: State, hash: Hash, inPlace: boolean): unknown {
  if (typeof value === 'string') return state.terminal ? hash(value) : value;
  if (typeof value !== 'object' || value === null || state.empty) return value;
  return Array.isArray(value)
    ? rewriteArray(value, state, hash, inPlace)
    : rewriteObject(value as Record<string, unknown>, state, hash, inPlace);
}

/**
 * Every own key under a wildcard, else only the keys some node names, when present (no list
 * of them is built). The object is copied (or, in place, edited) once something changes.
 */
function rewriteObject(
  container: Record<string, unknown>,
  state: State,
  hash: Hash,
  inPlace: boolean,
): Record<string, unknown> {
  const every = state.wildcard;
  const keys = every ? Object.keys(container) : state.named;
  let out: Record<string, unknown> | undefined;
  for (const key of keys) {
    if (!every && !Object.hasOwn(container, key)) continue;
    const child = container[key];
    const rewritten = rewrite(child, state.step(key), hash, inPlace);
    if (rewritten === child) continue;
    out ??= inPlace ? container : { ...container };
    defineOwn(out, key, rewritten);
  }
  return out ?? container;
}

/**
 * Every element of an array a path reaches (each string element is hashed; elements may go
 * deeper too) or under a wildcard, walked by index; else only the indices some node names
 * (`length` is an array's own property but no element of it).
 */
function rewriteArray(list: unknown[], state: State, hash: Hash, inPlace: boolean): unknown[] {
  const reached = state.terminal;
  if (!reached && !state.wildcard) return rewriteNamedIndices(list, state, hash, inPlace);
  let out: unknown[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const child = list[i];
    const rewritten =
      reached && typeof child === 'string' ? hash(child) : rewrite(child, state.stepIndex(i), hash, inPlace);
    if (rewritten === child) continue;
    out ??= inPlace ? list : [...list];
    out[i] = rewritten;
  }
  return out ?? list;
}

function rewriteNamedIndices(list: unknown[], state: State, hash: Hash, inPlace: boolean): unknown[] {
  let out: unknown[] | undefined;
  for (const key of state.named) {
    if (key === 'length' || !Object.hasOwn(list, key)) continue;
    const child = (list as unknown as Record<string, unknown>)[key];
    const rewritten = rewrite(child, state.step(key), hash, inPlace);
    if (rewritten === child) continue;
    out ??= inPlace ? list : [...list];
    out[Number(key)] = rewritten;
  }
  return out ?? list;
}

/**
 * `doc` with every place the configured paths reach hashed once. In fresh containers, `doc`
 * itself left as it was; or, with `inPlace` for a tree the caller owns, in `doc` itself.
 */
export type Hashing = (doc: Record<string, unknown>, inPlace?: boolean) => Record<string, unknown>;

/** The hashing of `paths` with `hash`. */
export function compileHashing(paths: readonly string[], hash: Hash): Hashing {
  const root = compileState([buildTree(paths)]);
  return (doc, inPlace = false) => rewrite(doc, root, hash, inPlace) as Record<string, unknown>;
}
