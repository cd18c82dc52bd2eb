/**
 * Just enough of EventBridge to judge a template offline: its event-pattern matching (for the
 * pattern features our templates use, and a few common ones), CloudFormation's Ref/Fn::Sub/
 * Fn::GetAtt resolved for one account, and a bus policy's verdict on a PutEvents request.
 * Anything it does not know throws, so a template that grows a new feature fails loudly
 * instead of matching by accident.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Whether one event value matches one pattern element (a literal, or an operator object). */
function matchesElement(element: Json, value: Json | undefined): boolean {
  if (element === null || typeof element !== 'object' || Array.isArray(element)) {
    return value !== undefined && element === value;
  }
  const [operator, ...others] = Object.keys(element);
  if (operator === undefined || others.length > 0)
    throw new Error(`unsupported pattern element ${JSON.stringify(element)}`);
  const operand = element[operator] as Json;
  switch (operator) {
    case 'prefix':
      return typeof value === 'string' && typeof operand === 'string' && value.startsWith(operand);
    case 'exists':
      return operand === (value !== undefined);
    case 'anything-but': {
      const refused = Array.isArray(operand) ? operand : [operand];
      return value !== undefined && !refused.includes(value as Json);
    }
    default:
      throw new Error(`unsupported pattern operator ${operator}`);
  }
}

/** One field: the event value (or any element of it, when it is an array) matches any element. */
function matchesField(elements: Json[], value: Json | undefined): boolean {
  if (Array.isArray(value)) {
    if (value.length === 0) return elements.some((e) => matchesElement(e, undefined));
    return value.some((v) => elements.some((e) => matchesElement(e, v)));
  }
  return elements.some((e) => matchesElement(e, value));
}

/** EventBridge's rule: every field the pattern names must match; fields it does not name are free. */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  if (typeof pattern !== 'object' || pattern === null || Array.isArray(pattern)) {
    throw new Error(`a pattern is an object, got ${JSON.stringify(pattern)}`);
  }
  const fields = (typeof event === 'object' && event !== null ? event : {}) as Record<string, Json>;
  return Object.entries(pattern as Record<string, Json>).every(([key, spec]) => {
    const value = Object.hasOwn(fields, key) ? fields[key] : undefined;
    if (Array.isArray(spec)) return matchesField(spec, value);
    if (typeof spec === 'object' && spec !== null) {
      return (
        typeof value === 'object' && value !== null && !Array.isArray(value) && matchesPattern(spec, value)
      );
    }
    throw new Error(`pattern field ${key} must be an array or an object, got ${JSON.stringify(spec)}`);
  });
}

export interface Pseudo {
  AccountId: string;
  Region: string;
  Partition: string;
}

/** Resolves Ref (pseudo parameters and resources), Fn::Sub and Fn::GetAtt ...Arn for one account. */
export function resolveCfn(value: unknown, pseudo: Pseudo): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveCfn(v, pseudo));
  if (typeof value !== 'object' || value === null) return value;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  if (keys.length === 1 && keys[0] === 'Ref') {
    const name = String(object.Ref);
    return name.startsWith('AWS::') ? pseudo[name.slice(5) as keyof Pseudo] : `ref:${name}`;
  }
  if (keys.length === 1 && keys[0] === 'Fn::Sub') {
    return String(object['Fn::Sub']).replace(
      /\$\{AWS::(\w+)\}/g,
      (_, key: string) => pseudo[key as keyof Pseudo],
    );
  }
  if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
    const [id] = object['Fn::GetAtt'] as [string, string];
    return `arn:${pseudo.Partition}:getatt:${pseudo.Region}:${pseudo.AccountId}:${id}`;
  }
  return Object.fromEntries(keys.map((k) => [k, resolveCfn(object[k], pseudo)]));
}

export interface PolicyStatement {
  Effect: string;
  Principal: { AWS: string | string[] } | string;
  Action: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PutEventsRequest {
  account: string;
  /** The sources of every entry of the call. */
  sources: string[];
}

const asList = (value: string | string[]) => (Array.isArray(value) ? value : [value]);

function principalAllows(statement: PolicyStatement, account: string): boolean {
  if (statement.Principal === '*') return true;
  if (typeof statement.Principal === 'string')
    throw new Error(`unsupported principal ${statement.Principal}`);
  return asList(statement.Principal.AWS).some((p) => p === account || p === `arn:aws:iam::${account}:root`);
}

/** IAM condition operators the bus policies use, over the request's multi-valued `events:source`. */
function conditionHolds(
  operator: string,
  key: string,
  expected: string[],
  request: PutEventsRequest,
): boolean {
  if (key !== 'events:source') throw new Error(`unsupported condition key ${key}`);
  const present = request.sources.length > 0;
  switch (operator) {
    case 'ForAllValues:StringEquals':
      return request.sources.every((s) => expected.includes(s)); // true for no value at all, as IAM does
    case 'StringEquals':
      return present && request.sources.every((s) => expected.includes(s));
    case 'Null':
      return expected[0] === 'true' ? !present : present;
    default:
      throw new Error(`unsupported condition operator ${operator}`);
  }
}

/** Whether a bus policy (Allow statements only, as ours are) lets `request` put its events. */
export function policyAllowsPutEvents(
  statements: readonly PolicyStatement[],
  request: PutEventsRequest,
): boolean {
  return statements.some((statement) => {
    if (statement.Effect !== 'Allow') throw new Error('only Allow statements are modelled');
    const actions = asList(statement.Action);
    if (!actions.includes('events:PutEvents') && !actions.includes('events:*')) return false;
    if (!principalAllows(statement, request.account)) return false;
    return Object.entries(statement.Condition ?? {}).every(([operator, keys]) =>
      Object.entries(keys).every(([key, expected]) =>
        conditionHolds(operator, key, asList(expected), request),
      ),
    );
  });
}
