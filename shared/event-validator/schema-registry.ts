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

/** A registry of `[source, detailType, validate]` entries. */
export function registryOf(entries: Iterable<readonly [string, string, AjvValidate]>): SchemaRegistry {
  const compiled = new Map<string, DetailValidator>();
  for (const [source, detailType, validate] of entries) {
    compiled.set(`${source}\u0000${detailType}`, (detail) =>
      validate(detail) ? [] : issues(validate.errors),
    );
  }
  return { get: (source, detailType) => compiled.get(`${source}\u0000${detailType}`) };
}
