/**
 * Keyed hashing of the configured paths of a document, immune to aliasing.
 *
 * The document is never edited: every container on the way to a hashed value is copied,
 * and each value is hashed from the document as it was read. So a value reachable by two
 * paths (the same array under `recipients` and `details.recipients`), two paths that
 * overlap (`a.*` and `a.0`), or one path through a shared object, still gives
 * HMAC(original) in each place it appears, never HMAC(HMAC(original)).
 *
 * What is hashed, for a document read as a tree: a string at a place some path reaches,
 * and each string element of an array at a place some path reaches. Other values are kept.
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
  return {
    terminal: nodes.some((node) => node.terminal),
    wildcard: wildcards.length > 0,
    empty: nodes.length === 0,
    named: [...names],
    step(key) {
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
    },
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

function rewrite(value: unknown, state: State, hash: Hash): unknown {
  const reached = state.terminal;
  if (typeof value === 'string') return reached ? hash(value) : value;
  if (typeof value !== 'object' || value === null || state.empty) return value;
  const container = value as Record<string, unknown>;
  const array = Array.isArray(value);
  // Every own key under a wildcard, and of an array a path reaches (each string element is
  // hashed; elements may go deeper too); else only the keys some node names, when present
  // (`length` is an array's own property but no element of it). No list of them is built.
  const every = state.wildcard || (array && reached);
  const keys = every ? Object.keys(container) : state.named;
  let copy: Record<string, unknown> | unknown[] | undefined;
  for (const key of keys) {
    if (!every && (!Object.hasOwn(container, key) || (array && key === 'length'))) continue;
    const child = container[key];
    const rewritten =
      array && reached && typeof child === 'string' ? hash(child) : rewrite(child, state.step(key), hash);
    if (rewritten === child) continue;
    copy ??= array ? [...(value as unknown[])] : { ...container };
    if (Array.isArray(copy)) copy[Number(key)] = rewritten;
    else defineOwn(copy, key, rewritten);
  }
  return copy ?? value;
}

/**
 * A function that returns `doc` with every place the `paths` reach hashed once with `hash`,
 * in fresh containers; `doc` itself is left as it was.
 */
export function compileHashing(
  paths: readonly string[],
  hash: Hash,
): (doc: Record<string, unknown>) => Record<string, unknown> {
  const root = compileState([buildTree(paths)]);
  return (doc) => rewrite(doc, root, hash) as Record<string, unknown>;
}
