/**
 * Checks a document against the SES document description, as the index and the table would
 * take it: every field declared (or inside an opaque object), every value of its declared
 * type. Returns the problems found, each naming the path; none means the document conforms.
 */
import { isIP } from 'node:net';
import {
  type DocumentField,
  isObjectField,
  type LeafField,
  type ObjectField,
} from '../../shared/firehose-transform/ses-document.js';

/** Lucene refuses a keyword term longer than this many UTF-8 bytes (the document is rejected). */
export const LUCENE_MAX_TERM_BYTES = 32_766;

/** ISO 8601 as OpenSearch's default date format (strict_date_optional_time) reads it. */
const ISO_DATE = /^\d{4}-\d\d-\d\d(?:T\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?(?:Z|[+-]\d\d(?::?\d\d)?)?)?$/;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function leafProblem(kind: LeafField['kind'], value: unknown): string | undefined {
  if (value === null) return undefined; // a null is no value: indexed as missing
  switch (kind) {
    case 'date':
      return typeof value === 'string' && ISO_DATE.test(value) && !Number.isNaN(Date.parse(value))
        ? undefined
        : 'not an ISO 8601 date';
    case 'keyword':
      if (typeof value !== 'string') return 'not a string';
      return Buffer.byteLength(value) <= LUCENE_MAX_TERM_BYTES ? undefined : 'longer than a term can be';
    case 'text':
      return typeof value === 'string' ? undefined : 'not a string';
    case 'ip':
      return typeof value === 'string' && isIP(value) !== 0 ? undefined : 'not an IP address';
    case 'long':
      return Number.isSafeInteger(value) ? undefined : 'not an integer';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'not a boolean';
    default:
      return isPlainObject(value) ? undefined : 'not an object';
  }
}

function check(field: DocumentField, value: unknown, path: string, problems: string[]): void {
  const items = field.list ? value : [value];
  if (!Array.isArray(items)) {
    problems.push(`${path}: not a list`);
    return;
  }
  for (const item of items) {
    if (isObjectField(field)) checkObject(field, item, path, problems);
    else {
      const problem = leafProblem(field.kind, item);
      if (problem) problems.push(`${path}: ${problem} (${JSON.stringify(item)?.slice(0, 60)})`);
    }
  }
}

function checkObject(field: ObjectField, value: unknown, path: string, problems: string[]): void {
  if (!isPlainObject(value)) {
    problems.push(`${path || '(document)'}: not an object`);
    return;
  }
  for (const [name, child] of Object.entries(value)) {
    const at = path ? `${path}.${name}` : name;
    const declared = Object.hasOwn(field.fields, name) ? field.fields[name] : undefined;
    if (!declared) problems.push(`${at}: not declared`);
    else check(declared, child, at, problems);
  }
}

/** The ways `doc` departs from `description` (empty when it conforms). */
export function conformanceProblems(description: ObjectField, doc: unknown): string[] {
  const problems: string[] = [];
  checkObject(description, doc, '', problems);
  return problems;
}
