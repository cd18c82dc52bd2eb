/**
 * docs/config-reference.md, generated from the config schema (its JSON Schema, with the
 * `.describe()` texts): one row per key, with its type, its default and what it means.
 * `npm run config-schema` writes it; `npm run check-config` and a test fail when it is stale.
 */
import * as z from 'zod';
import { configSchema } from '../../shared/core/config/schema.js';

export const CONFIG_REFERENCE_FILE = 'docs/config-reference.md';

type Node = Record<string, unknown> & {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, Node>;
  required?: string[];
  additionalProperties?: Node | boolean;
  items?: Node;
  oneOf?: Node[];
  anyOf?: Node[];
  enum?: unknown[];
  const?: unknown;
};

interface Row {
  key: string;
  type: string;
  default: string;
  description: string;
}

const code = (value: unknown) => `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;
const options = (node: Node) => node.oneOf ?? node.anyOf;

/** The property whose `const` tells the options of a union of objects apart, if any. */
function discriminatorOf(variants: Node[]): string | undefined {
  const first = variants[0]?.properties ?? {};
  return Object.keys(first).find((key) =>
    variants.every((variant) => variant.properties?.[key]?.const !== undefined),
  );
}

/** A short type: `integer 1-900`, `one of "a", "b"`, `string`, `array of string`. */
function typeOf(node: Node): string {
  const variants = options(node);
  if (variants) {
    const tag = discriminatorOf(variants);
    if (tag)
      return `object, by \`${tag}\`: ${variants.map((v) => code(v.properties?.[tag]?.const)).join(', ')}`;
    return [...new Set(variants.map(typeOf))].join(' or ');
  }
  if (node.const !== undefined) return code(node.const);
  if (node.enum) return `one of ${node.enum.map(code).join(', ')}`;
  if (node.type === 'array') return `array of ${node.items ? typeOf(node.items) : 'any'}`;
  if (node.type === 'object') return node.additionalProperties && !node.properties ? 'map' : 'object';
  const type = Array.isArray(node.type) ? node.type.join(' or ') : String(node.type ?? 'any');
  const bound = (n: unknown) => typeof n === 'number' && Math.abs(n) < 2 ** 53;
  if (bound(node.minimum) && bound(node.maximum)) return `${type}, ${node.minimum} to ${node.maximum}`;
  return bound(node.minimum) ? `${type}, at least ${node.minimum}` : type;
}

function defaultOf(node: Node, required: boolean): string {
  if (node.default !== undefined) {
    const empty = typeof node.default === 'object' && Object.keys(node.default as object).length === 0;
    return empty && !Array.isArray(node.default) ? 'its defaults' : code(node.default);
  }
  return required ? 'required' : '';
}

function walk(node: Node, key: string, required: boolean, rows: Row[]): void {
  if (key !== '') {
    const description = node.description ?? '';
    rows.push({ key, type: typeOf(node), default: defaultOf(node, required), description });
  }
  const variants = options(node);
  if (variants) {
    walkVariants(variants, key, rows);
    return;
  }
  if (node.type === 'array' && node.items?.type === 'object') {
    walk(node.items, `${key}[]`, false, rows);
    return;
  }
  if (node.type !== 'object') return;
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    walk(child, key === '' ? name : `${key}.${name}`, node.required?.includes(name) ?? false, rows);
  }
  const entry = node.additionalProperties;
  if (typeof entry === 'object' && (entry.type === 'object' || options(entry)))
    walk(entry, `${key}.<name>`, false, rows);
}

/** Each option's own keys, noted with the discriminator value they belong to; shared keys once. */
function walkVariants(variants: Node[], key: string, rows: Row[]): void {
  const tag = discriminatorOf(variants);
  if (!tag) return;
  const seen = new Map<string, number>();
  const own: Row[][] = variants.map((variant) => {
    const variantRows: Row[] = [];
    for (const [name, child] of Object.entries(variant.properties ?? {})) {
      if (name === tag) continue;
      walk(child, `${key}.${name}`, variant.required?.includes(name) ?? false, variantRows);
    }
    for (const row of variantRows) seen.set(JSON.stringify(row), (seen.get(JSON.stringify(row)) ?? 0) + 1);
    return variantRows;
  });
  const shared = new Set([...seen].filter(([, n]) => n === variants.length).map(([row]) => row));
  own.forEach((variantRows, i) => {
    const value = variants[i]?.properties?.[tag]?.const;
    for (const row of variantRows) {
      if (shared.has(JSON.stringify(row))) continue;
      rows.push({ ...row, description: `(${tag} ${code(value)}) ${row.description}`.trim() });
    }
  });
  const emitted = new Set<string>();
  for (const variantRows of own) {
    for (const row of variantRows) {
      const text = JSON.stringify(row);
      if (shared.has(text) && !emitted.has(text)) {
        emitted.add(text);
        rows.push(row);
      }
    }
  }
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

export function configReferenceText(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' }) as Node;
  const rows: Row[] = [];
  walk(schema, '', true, rows);
  return [
    '# Config reference (generated)',
    '',
    'Every key of `config/pipeline.json`, generated from the schema in',
    '`shared/core/config/schema.ts` by `npm run config-schema`: do not edit by hand. What the keys',
    'do together, and the rules that span several keys, are in [config.md](config.md).',
    '',
    '| key | type | default | meaning |',
    '|---|---|---|---|',
    ...rows.map((r) => `| \`${r.key}\` | ${cell(r.type)} | ${cell(r.default)} | ${cell(r.description)} |`),
    '',
  ].join('\n');
}
