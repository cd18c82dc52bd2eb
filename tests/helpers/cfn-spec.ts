/**
 * Checks a CloudFormation template against AWS's own resource specifications (the
 * `@aws-cdk/aws-service-spec` database): every resource type exists, every property is known
 * and of the right shape (intrinsic functions accepted where values go), a value is one the
 * schema allows where it lists them, and required ones are set.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

type PropertyType =
  | { type: 'string'; allowedValues?: string[] }
  | { type: 'integer' | 'number' | 'boolean' | 'json' | 'date-time' | 'null' | 'tag' }
  | { type: 'ref'; reference: { $ref: string } }
  | { type: 'array' | 'map'; element: PropertyType }
  | { type: 'union'; types: PropertyType[] };

interface PropertySpec {
  type: PropertyType;
  required?: boolean;
}

interface Spec {
  lookup(
    kind: 'resource',
    index: 'cloudFormationType',
    op: 'equals',
    value: string,
  ): { properties: Record<string, PropertySpec> }[];
  get(kind: 'typeDefinition', id: string): { properties: Record<string, PropertySpec> };
}

let spec: Spec | undefined;
function database(): Spec {
  spec ??= require('@aws-cdk/aws-service-spec').loadAwsServiceSpecSync() as Spec;
  return spec;
}

const INTRINSICS = new Set([
  'Ref',
  'Fn::GetAtt',
  'Fn::Sub',
  'Fn::Join',
  'Fn::If',
  'Fn::Select',
  'Fn::Split',
  'Fn::ImportValue',
  'Fn::FindInMap',
  'Fn::Base64',
  'Fn::GetAZs',
]);

const isIntrinsic = (value: unknown) =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  Object.keys(value).length === 1 &&
  INTRINSICS.has(Object.keys(value)[0] as string);

function check(value: unknown, type: PropertyType, path: string, problems: string[]): void {
  if (isIntrinsic(value)) return;
  const fail = (what: string): void => {
    problems.push(`${path}: expected ${what}, got ${JSON.stringify(value)?.slice(0, 60)}`);
  };
  switch (type.type) {
    case 'string':
      if (typeof value !== 'string') fail(type.type);
      // Where the schema lists the values it takes (an enum), any other is refused.
      else if (type.allowedValues && !type.allowedValues.includes(value))
        fail(`one of ${type.allowedValues.join(' | ')}`);
      return;
    case 'date-time':
      if (typeof value !== 'string') fail(type.type);
      return;
    case 'integer':
    case 'number':
      if (typeof value !== 'number' && !(typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)))
        fail(type.type);
      return;
    case 'boolean':
      if (typeof value !== 'boolean' && value !== 'true' && value !== 'false') fail('boolean');
      return;
    case 'json':
    case 'null':
      return;
    case 'tag':
      if (typeof value !== 'object' || value === null) fail('a tag');
      return;
    case 'array':
      if (!Array.isArray(value)) {
        fail('an array');
        return;
      }
      for (const [i, item] of value.entries()) check(item, type.element, `${path}[${i}]`, problems);
      return;
    case 'map':
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        fail('a map');
        return;
      }
      for (const [key, item] of Object.entries(value)) check(item, type.element, `${path}.${key}`, problems);
      return;
    case 'union': {
      const attempts = type.types.map((candidate) => {
        const found: string[] = [];
        check(value, candidate, path, found);
        return found;
      });
      if (!attempts.some((found) => found.length === 0)) problems.push(...(attempts[0] ?? []));
      return;
    }
    case 'ref': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        fail('an object');
        return;
      }
      checkProperties(
        value as Record<string, unknown>,
        database().get('typeDefinition', type.reference.$ref).properties,
        path,
        problems,
      );
      return;
    }
  }
}

function checkProperties(
  value: Record<string, unknown>,
  properties: Record<string, PropertySpec>,
  path: string,
  problems: string[],
): void {
  for (const [key, item] of Object.entries(value)) {
    const property = properties[key];
    if (!property) problems.push(`${path}.${key}: not a property of this type`);
    else check(item, property.type, `${path}.${key}`, problems);
  }
  for (const [key, property] of Object.entries(properties)) {
    if (property.required && !(key in value)) problems.push(`${path}.${key}: required and missing`);
  }
}

/** Every problem found in the template's resources; empty when it matches the specification. */
export function specProblems(template: {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}): string[] {
  const problems: string[] = [];
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type.startsWith('Custom::')) continue;
    const [definition] = database().lookup('resource', 'cloudFormationType', 'equals', resource.Type);
    if (!definition) {
      problems.push(`${id}: resource type ${resource.Type} does not exist`);
      continue;
    }
    checkProperties(resource.Properties ?? {}, definition.properties, `${id}(${resource.Type})`, problems);
  }
  return problems;
}
