/**
 * What the validator looks schemas up in, without Ajv's compiler: validate functions (compiled
 * at cold start from source, or generated as standalone code at package time) by source and
 * detail-type, and their errors as the issues the DLQ envelope lists.
 */
import type { ErrorObject } from 'ajv';

export interface ValidationIssue {
  path: string;
  message: string;
}

export type DetailValidator = (detail: unknown) => ValidationIssue[];

export interface SchemaRegistry {
  /** The validator for a source and detail-type, or undefined when none is configured. */
  get(source: string, detailType: string): DetailValidator | undefined;
}

/** An Ajv validate function, compiled or standalone: it returns a verdict and leaves `errors`. */
export interface AjvValidate {
  (detail: unknown): boolean;
  errors?: readonly ErrorObject[] | null | undefined;
}

function issues(errors: readonly ErrorObject[] | null | undefined): ValidationIssue[] {
  return (errors ?? []).map((error) => {
    const extra =
      error.keyword === 'additionalProperties'
        ? ` (${(error.params as { additionalProperty: string }).additionalProperty})`
        : '';
    return { path: `/detail${error.instancePath}`, message: `${error.message ?? error.keyword}${extra}` };
  });
}

/** An Ajv validate function as a DetailValidator: no issues when it passes. */
function detailValidator(validate: AjvValidate): DetailValidator {
  return (detail) => (validate(detail) ? [] : issues(validate.errors));
}

/**
 * A registry of `[source, detailType, validate]` entries: a map of maps, so a look-up per event
 * hashes the event's own two strings and builds no key.
 */
export function registryOf(entries: Iterable<readonly [string, string, AjvValidate]>): SchemaRegistry {
  const bySource = new Map<string, Map<string, DetailValidator>>();
  for (const [source, detailType, validate] of entries) {
    const byDetailType = bySource.get(source) ?? new Map<string, DetailValidator>();
    bySource.set(source, byDetailType.set(detailType, detailValidator(validate)));
  }
  return { get: (source, detailType) => bySource.get(source)?.get(detailType) };
}
