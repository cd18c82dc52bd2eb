/**
 * The check of an EventBridge event's envelope, by hand: the same verdict, issues, messages and
 * output as the zod schema it replaces (tests/unit/envelope.test.ts holds it to that schema on
 * generated events), without zod in the validator's bundle (about 26 KB of its cold start).
 * Its input is JSON, as Lambda delivers it.
 */
import type { ValidationIssue } from './schema-registry.js';

export interface Envelope {
  id: string;
  'detail-type': string;
  source: string;
  account?: string;
  time: string;
  region?: string;
  resources?: string[];
  detail: Record<string, unknown>;
}

export type EnvelopeCheck = { success: true; data: Envelope } | { success: false; issues: ValidationIssue[] };

/** ISO 8601 date-time with seconds and a `Z` or a numeric offset (zod's `iso.datetime({ offset: true })`). */
export const ISO_DATETIME =
  /^(?:(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29|\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|(?:02)-(?:0[1-9]|1\d|2[0-8])))T(?:(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|([+-](?:[01]\d|2[0-3]):[0-5]\d)))$/;

/** How a value's type is named in a message ("received null", "received array", ...). */
function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    return Number.isFinite(value) ? 'number' : String(value);
  }
  if (
    typeof value === 'object' &&
    Object.getPrototypeOf(value) !== Object.prototype &&
    'constructor' in value
  ) {
    const name = (value.constructor as { name?: string } | undefined)?.name;
    if (value.constructor) return name as string;
  }
  return typeof value;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

class Issues {
  readonly list: ValidationIssue[] = [];
  add(path: readonly (string | number)[], message: string): void {
    this.list.push({ path: `/${path.join('/')}`, message });
  }
  type(path: readonly (string | number)[], expected: string, value: unknown): void {
    this.add(path, `Invalid input: expected ${expected}, received ${typeName(value)}`);
  }
}

/** A string's length in code points (a valid surrogate pair counts once), as zod measures strings. */
function codePoints(value: string): number {
  let count = value.length;
  for (let i = 0; i < value.length - 1; i++) {
    if ((value.charCodeAt(i) & 0xfc00) === 0xd800 && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      count--;
      i++;
    }
  }
  return count;
}

/**
 * zod's length checks: they run on anything that has a length, a string or not (after a type
 * issue too), and measure strings in code points.
 */
function lengthIssues(issues: Issues, key: string, value: unknown, min: number, max?: number): void {
  if (value === null || value === undefined) return;
  const units = (value as { length?: unknown }).length as number;
  if (units === undefined) return;
  const origin = Array.isArray(value) ? 'array' : typeof value === 'string' ? 'string' : 'unknown';
  const unit = origin === 'array' ? ' items' : origin === 'string' ? ' characters' : '';
  const has = unit ? 'to have' : 'to be';
  const atLeast = typeof value === 'string' && units >= min && units < min * 2 ? codePoints(value) : units;
  if (!(atLeast >= min)) issues.add([key], `Too small: expected ${origin} ${has} >=${min}${unit}`);
  if (max === undefined) return;
  const atMost = typeof value === 'string' && units > max ? codePoints(value) : units;
  if (!(atMost <= max)) issues.add([key], `Too big: expected ${origin} ${has} <=${max}${unit}`);
}

function text(issues: Issues, key: string, value: unknown, min: number, max?: number): void {
  if (typeof value !== 'string') issues.type([key], 'string', value);
  lengthIssues(issues, key, value, min, max);
}

function optionalText(issues: Issues, input: Record<string, unknown>, key: string): void {
  if (key in input && input[key] !== undefined && typeof input[key] !== 'string') {
    issues.type([key], 'string', input[key]);
  }
}

function time(issues: Issues, value: unknown): void {
  if (typeof value !== 'string') issues.type(['time'], 'string', value);
  else if (!ISO_DATETIME.test(value)) issues.add(['time'], 'Invalid ISO datetime');
}

function resources(issues: Issues, value: unknown): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) {
    issues.type(['resources'], 'array', value);
    return;
  }
  value.forEach((item, i) => {
    if (typeof item !== 'string') issues.type(['resources', i], 'string', item);
  });
}

/** A plain object, as zod's record takes it (its constructor, if any, is Object-like). */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (!isObject(value)) return false;
  const ctor = value.constructor;
  if (ctor === undefined || typeof ctor !== 'function') return true;
  const prototype = ctor.prototype as unknown;
  return isObject(prototype) && Object.hasOwn(prototype, 'isPrototypeOf');
}

/** The detail's own keys, `__proto__` left out (it would set the copy's prototype). */
function detailOf(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) if (key !== '__proto__') out[key] = value[key];
  return out;
}

/** Checks an envelope: every issue found, or the envelope with only its known keys. */
export function checkEnvelope(input: unknown): EnvelopeCheck {
  const issues = new Issues();
  if (!isObject(input)) {
    issues.type([], 'object', input);
    return { success: false, issues: issues.list };
  }
  text(issues, 'id', input.id, 1);
  text(issues, 'detail-type', input['detail-type'], 1, 256);
  text(issues, 'source', input.source, 1, 256);
  optionalText(issues, input, 'account');
  time(issues, input.time);
  optionalText(issues, input, 'region');
  resources(issues, input.resources);
  const detail = input.detail;
  if (!isPlainObject(detail)) issues.type(['detail'], 'record', detail);
  if (issues.list.length > 0) return { success: false, issues: issues.list };
  // Keys in the schema's order, as zod's output had them.
  const data = {
    id: input.id,
    'detail-type': input['detail-type'],
    source: input.source,
    ...(input.account === undefined ? {} : { account: input.account }),
    time: input.time,
    ...(input.region === undefined ? {} : { region: input.region }),
    ...(input.resources === undefined ? {} : { resources: [...(input.resources as string[])] }),
    detail: detailOf(detail as Record<string, unknown>),
  } as Envelope;
  return { success: true, data };
}
