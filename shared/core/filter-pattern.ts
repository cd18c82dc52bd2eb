/**
 * Lambda event filtering for SQS routes, in AWS's own pattern syntax: checked (so that
 * check-config refuses what AWS would refuse, naming the key) and compiled into a predicate
 * (the local event source applies it as Lambda would; a route filtering in the function uses
 * it there). A message is kept when any pattern matches; a pattern matches when every field
 * it names matches; a field matches when any of its conditions does (or, for an array value,
 * when any element does).
 *
 * Conditions: a literal (string, number, boolean, null), `prefix`, `suffix`,
 * `equals-ignore-case`, `wildcard`, `anything-but` (values, or a `prefix`/`suffix`),
 * `numeric` (one or two comparisons), `exists`; `$or` lists alternative sub-patterns.
 */
import type { SQSRecord } from 'aws-lambda';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Condition = (value: Json | undefined) => boolean;

/** Lambda's default limit on filter patterns per event source. */
export const MAX_FILTER_PATTERNS = 5;
/** Lambda's limit on one pattern's length, in characters. */
export const MAX_PATTERN_LENGTH = 4096;

const NUMERIC_OPERATORS = new Set(['<', '<=', '=', '>', '>=']);
const OPERATORS = new Set([
  'prefix',
  'suffix',
  'equals-ignore-case',
  'wildcard',
  'anything-but',
  'numeric',
  'exists',
]);

const isObject = (value: unknown): value is Record<string, Json> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A wildcard (`*` for any run of characters) as a whole-string test. */
function wildcardTest(pattern: string): (text: string) => boolean {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const regex = new RegExp(`^${body}$`, 's');
  return (text) => regex.test(text);
}

/** The problems of one condition object (`{ "prefix": "x" }`), at `path`. */
function conditionIssues(condition: Record<string, Json>, path: string): string[] {
  const keys = Object.keys(condition);
  if (keys.length !== 1) return [`${path}: a condition has exactly one operator, got ${keys.length}`];
  const operator = keys[0] as string;
  const operand = condition[operator] as Json;
  if (!OPERATORS.has(operator)) {
    return [`${path}: unknown operator "${operator}" (one of ${[...OPERATORS].join(', ')})`];
  }
  switch (operator) {
    case 'prefix':
    case 'suffix':
    case 'equals-ignore-case':
      return typeof operand === 'string' ? [] : [`${path}.${operator}: takes a string`];
    case 'wildcard':
      return typeof operand === 'string' && !operand.includes('**')
        ? []
        : [`${path}.wildcard: takes a string without consecutive *`];
    case 'exists':
      return typeof operand === 'boolean' ? [] : [`${path}.exists: takes true or false`];
    case 'anything-but': {
      if (isObject(operand)) {
        const [inner, ...more] = Object.keys(operand);
        return more.length === 0 &&
          (inner === 'prefix' || inner === 'suffix') &&
          typeof operand[inner] === 'string'
          ? []
          : [`${path}.anything-but: takes values, or one prefix or suffix string`];
      }
      const values = Array.isArray(operand) ? operand : [operand];
      const literal = (v: Json) => typeof v === 'string' || typeof v === 'number';
      return values.length > 0 && values.every(literal)
        ? []
        : [`${path}.anything-but: takes strings or numbers`];
    }
    default: {
      // numeric: [op, number] or [op, number, op, number], a range that can hold a value.
      if (!Array.isArray(operand) || (operand.length !== 2 && operand.length !== 4)) {
        return [`${path}.numeric: takes [op, number] or [op, number, op, number]`];
      }
      const issues: string[] = [];
      for (let i = 0; i < operand.length; i += 2) {
        const [op, number] = [operand[i], operand[i + 1]];
        if (typeof op !== 'string' || !NUMERIC_OPERATORS.has(op))
          issues.push(`${path}.numeric: "${String(op)}" is not < <= = > >=`);
        if (typeof number !== 'number')
          issues.push(`${path}.numeric: compares numbers, got ${JSON.stringify(number)}`);
      }
      if (issues.length === 0 && operand.length === 4) {
        const [low, lowValue, high, highValue] = operand as [string, number, string, number];
        if (!low.startsWith('>') || !high.startsWith('<') || lowValue > highValue) {
          issues.push(
            `${path}.numeric: a range is a lower bound (> or >=) then a higher upper bound (< or <=)`,
          );
        }
      }
      return issues;
    }
  }
}

/** The problems of a pattern object at `path` (fields, `$or`, conditions), recursively. */
function objectIssues(pattern: Record<string, Json>, path: string): string[] {
  const issues: string[] = [];
  if (Object.keys(pattern).length === 0) issues.push(`${path}: an empty pattern matches nothing useful`);
  for (const [key, spec] of Object.entries(pattern)) {
    const at = `${path}.${key}`;
    if (key === '$or') {
      if (!Array.isArray(spec) || spec.length < 2 || !spec.every(isObject)) {
        issues.push(`${at}: takes a list of at least two patterns`);
      } else {
        spec.forEach((alternative, i) => {
          issues.push(...objectIssues(alternative as Record<string, Json>, `${at}[${i}]`));
        });
      }
    } else if (Array.isArray(spec)) {
      if (spec.length === 0) issues.push(`${at}: an empty list matches nothing`);
      spec.forEach((element, i) => {
        if (isObject(element)) issues.push(...conditionIssues(element, `${at}[${i}]`));
        else if (Array.isArray(element)) issues.push(`${at}[${i}]: a list inside a list is not a condition`);
      });
    } else if (isObject(spec)) issues.push(...objectIssues(spec, at));
    else issues.push(`${at}: must be a list of values or conditions, or an object of fields`);
  }
  return issues;
}

/**
 * What AWS would refuse in a route's patterns, each naming its key. `fields`: the top-level
 * fields a pattern may name (AWS filters an SQS event source on `body` only; filtering in the
 * function can also read `attributes` and `messageAttributes`).
 */
export function filterPatternIssues(
  patterns: readonly unknown[],
  path: string,
  fields: readonly string[],
): string[] {
  const issues: string[] = [];
  if (patterns.length > MAX_FILTER_PATTERNS) {
    issues.push(
      `${path}: at most ${MAX_FILTER_PATTERNS} patterns per event source (Lambda's limit), got ${patterns.length}`,
    );
  }
  patterns.forEach((pattern, i) => {
    const at = `${path}[${i}]`;
    if (!isObject(pattern)) {
      issues.push(`${at}: must be an object`);
      return;
    }
    if (JSON.stringify(pattern).length > MAX_PATTERN_LENGTH) {
      issues.push(`${at}: longer than ${MAX_PATTERN_LENGTH} characters (Lambda's limit)`);
    }
    for (const key of Object.keys(pattern)) {
      if (key !== '$or' && !fields.includes(key)) {
        issues.push(`${at}.${key}: can filter only on ${fields.join(', ')} here`);
      }
    }
    issues.push(...objectIssues(pattern, at));
  });
  return issues;
}

function compileCondition(element: Json): Condition {
  if (!isObject(element)) return (value) => value !== undefined && value === element;
  const [operator] = Object.keys(element) as [string];
  const operand = element[operator] as Json;
  const text =
    (test: (s: string) => boolean): Condition =>
    (value) =>
      typeof value === 'string' && test(value);
  switch (operator) {
    case 'prefix':
      return text((s) => s.startsWith(operand as string));
    case 'suffix':
      return text((s) => s.endsWith(operand as string));
    case 'equals-ignore-case':
      return text((s) => s.toLowerCase() === (operand as string).toLowerCase());
    case 'wildcard':
      return text(wildcardTest(operand as string));
    case 'exists':
      return (value) => (value !== undefined) === operand;
    case 'anything-but': {
      if (isObject(operand)) {
        const [inner] = Object.keys(operand) as ['prefix' | 'suffix'];
        const affix = operand[inner] as string;
        return text((s) => (inner === 'prefix' ? !s.startsWith(affix) : !s.endsWith(affix)));
      }
      const refused = Array.isArray(operand) ? operand : [operand];
      return (value) => value !== undefined && value !== null && !refused.includes(value);
    }
    default: {
      const bounds = operand as (string | number)[];
      const tests: ((n: number) => boolean)[] = [];
      for (let i = 0; i < bounds.length; i += 2) {
        const limit = bounds[i + 1] as number;
        const op = bounds[i] as string;
        tests.push(
          op === '<'
            ? (n) => n < limit
            : op === '<='
              ? (n) => n <= limit
              : op === '='
                ? (n) => n === limit
                : op === '>'
                  ? (n) => n > limit
                  : (n) => n >= limit,
        );
      }
      return (value) => typeof value === 'number' && tests.every((test) => test(value));
    }
  }
}

type Matcher = (value: Json | undefined) => boolean;

function compileObject(pattern: Record<string, Json>): Matcher {
  const fields = Object.entries(pattern).map(([key, spec]): Matcher => {
    if (key === '$or') {
      const alternatives = (spec as Record<string, Json>[]).map(compileObject);
      return (value) => alternatives.some((alternative) => alternative(value));
    }
    const match = Array.isArray(spec) ? compileField(spec) : compileObject(spec as Record<string, Json>);
    const nested = !Array.isArray(spec);
    return (value) => {
      const field = isObject(value) && Object.hasOwn(value, key) ? value[key] : undefined;
      return nested ? isObject(field) && match(field) : match(field);
    };
  });
  return (value) => fields.every((field) => field(value));
}

function compileField(conditions: Json[]): Matcher {
  const tests = conditions.map(compileCondition);
  const any = (value: Json | undefined) => tests.some((test) => test(value));
  return (value) =>
    Array.isArray(value) ? (value.length === 0 ? any(undefined) : value.some(any)) : any(value);
}

/** What a pattern sees of an SQS message: its body (parsed when it is JSON), attributes, message attributes. */
export function sqsFilterView(record: SQSRecord): Record<string, Json> {
  let body: Json = record.body;
  try {
    body = JSON.parse(record.body) as Json;
  } catch {
    // not JSON: patterns on body fields cannot match it; a pattern on the whole body still can
  }
  return {
    body,
    attributes: (record.attributes ?? {}) as unknown as Json,
    messageAttributes: (record.messageAttributes ?? {}) as unknown as Json,
  };
}

/** The patterns as one predicate on SQS messages: kept when any pattern matches. */
export function compileSqsFilter(
  patterns: readonly Record<string, unknown>[],
): (record: SQSRecord) => boolean {
  const matchers = patterns.map((pattern) => compileObject(pattern as Record<string, Json>));
  return (record) => {
    const view = sqsFilterView(record);
    return matchers.some((match) => match(view));
  };
}
