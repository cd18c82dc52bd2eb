/**
 * The bundle's typed errors, all of one family: each extends PipelineError, sets `name`,
 * carries a stable `code` and keeps its `cause`. Record-level errors (MappingError and its
 * kinds) use a DLQ reason as their code; it ends up in the DLQ envelope.
 */

/**
 * Why a record could not be delivered (in a DLQ envelope, or a Firehose ProcessingFailed
 * log line). Stable: consumers and the redrive tool filter on it.
 */
export const DLQ_REASONS = [
  'NO_ROUTE',
  'BODY_NOT_JSON',
  'BODY_NOT_OBJECT',
  'PARTITION_KEY_MISSING',
  'PARTITION_KEY_INVALID',
  'RECORD_TOO_LARGE',
  'NOT_BASE64',
  'NOT_UTF8',
  'NOT_AN_SES_EVENT',
  'OUTPUT_TOO_LARGE',
  'REINGEST_FAILED',
  'INVALID_ENVELOPE',
  'INVALID_EVENT',
  'NO_SCHEMA',
  'LOOP',
  'ENTRY_TOO_LARGE',
  'REPUBLISH_REJECTED',
  'KPL_BAD_MD5',
  'KPL_CORRUPT',
  'MISSING_FIELDS',
  'UNEXPECTED_ERROR',
] as const;
export type DlqReason = (typeof DLQ_REASONS)[number];

/** Codes of the errors that fail an invocation or a cold start rather than one record. */
export type FailureCode =
  | 'CONFIG_INVALID'
  | 'SECRET_UNAVAILABLE'
  | 'RESPONSE_TOO_LARGE'
  | 'RETRY_LATER'
  | 'EVENT_SHAPE'
  | 'WRITE_FAILED';

export type ErrorCode = DlqReason | FailureCode;

interface ErrorOptions {
  cause?: unknown;
}

export class PipelineError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The base of an error that fails an invocation or a cold start, with its fixed code. */
function failure(code: FailureCode) {
  return class extends PipelineError {
    constructor(message: string, options?: ErrorOptions) {
      super(code, message, options);
    }
  };
}

/** A config that fails the schema or a cross-field rule. `issues` each name a key path. */
export class ConfigError extends PipelineError {
  readonly issues: readonly string[];
  constructor(issues: readonly string[], options?: ErrorOptions) {
    super('CONFIG_INVALID', `Invalid pipeline config:\n  - ${issues.join('\n  - ')}`, options);
    this.issues = issues;
  }
}

/** A secret the function needs (the hashing key) that it could not read. */
export class SecretUnavailableError extends failure('SECRET_UNAVAILABLE') {}

/** The response would not fit Lambda's limit even after re-ingestion: the invocation must fail. */
export class ResponseTooLargeError extends failure('RESPONSE_TOO_LARGE') {}

/** Records could not be written anywhere yet: the invocation fails so that its source retries. */
export class RetryLaterError extends failure('RETRY_LATER') {}

/** One entry the write engine could not write: the service's error code and message, or its size. */
export class WriteFailedError extends failure('WRITE_FAILED') {}

/** An invocation whose event is not of the kind the handler takes ("expected ..., got ..."). */
export class EventShapeError extends failure('EVENT_SHAPE') {}

/** A record that cannot be mapped to its target. It goes to the DLQ stream with `reason`. */
export class MappingError extends PipelineError {
  declare readonly code: DlqReason;
  constructor(reason: DlqReason, message: string, options?: ErrorOptions) {
    super(reason, message, options);
  }
  /** The DLQ reason: the same as `code`. */
  get reason(): DlqReason {
    return this.code;
  }
}

export class NoRouteError extends MappingError {
  constructor(sourceArn: string) {
    super('NO_ROUTE', `No route is configured for source ${sourceArn}`);
  }
}

export class PartitionKeyError extends MappingError {}

/** A record bigger than its stream accepts (data + partition key). */
export class OversizeRecordError extends MappingError {
  readonly size: number;
  readonly limit: number;
  constructor(size: number, limit: number) {
    super('RECORD_TOO_LARGE', `Record is ${size} bytes; the stream accepts at most ${limit}`);
    this.size = size;
    this.limit = limit;
  }
}

/** A Kinesis record whose KPL aggregation is corrupt (`KPL_CORRUPT`) or fails its MD5 (`KPL_BAD_MD5`). */
export class KplError extends MappingError {}

/** A Firehose record that is not an SES sending event. */
export class SesEventError extends MappingError {
  constructor(message: string, options?: ErrorOptions) {
    super('NOT_AN_SES_EVENT', message, options);
  }
}

/** A record without a usable value at a path the window's metrics or grouping read. */
export class MissingFieldError extends MappingError {
  readonly field: string;
  constructor(field: string, why?: string) {
    super('MISSING_FIELDS', `Record has no usable value at "${field}"${why ? `: ${why}` : ''}`);
    this.field = field;
  }
}

/** Any thrown value as an Error: itself if it is one, else an Error whose message is its text. */
export function toError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown), { cause: thrown });
}
