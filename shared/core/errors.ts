/**
 * The bundle's typed errors. Each sets `name`, keeps its cause, and (for record-level
 * errors) carries a stable `reason` code that ends up in the DLQ envelope.
 */

export class PipelineError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A config that fails the schema or a cross-field rule. `issues` each name a key path. */
export class ConfigError extends PipelineError {
  readonly issues: readonly string[];
  constructor(issues: readonly string[], options?: { cause?: unknown }) {
    super(`Invalid pipeline config:\n  - ${issues.join('\n  - ')}`, options);
    this.issues = issues;
  }
}

/**
 * Why a record could not be delivered (in a DLQ envelope, or a Firehose ProcessingFailed
 * log line). Stable: consumers and the redrive tool filter on it.
 */
export type DlqReason =
  | 'NO_ROUTE'
  | 'BODY_NOT_JSON'
  | 'BODY_NOT_OBJECT'
  | 'PARTITION_KEY_MISSING'
  | 'PARTITION_KEY_INVALID'
  | 'RECORD_TOO_LARGE'
  | 'NOT_BASE64'
  | 'NOT_UTF8'
  | 'NOT_AN_SES_EVENT'
  | 'OUTPUT_TOO_LARGE'
  | 'REINGEST_FAILED'
  | 'INVALID_ENVELOPE'
  | 'INVALID_EVENT'
  | 'NO_SCHEMA'
  | 'LOOP'
  | 'ENTRY_TOO_LARGE'
  | 'REPUBLISH_REJECTED'
  | 'KPL_BAD_MD5'
  | 'KPL_CORRUPT'
  | 'MISSING_FIELDS'
  | 'UNEXPECTED_ERROR';

/** A record that cannot be mapped to its target. It goes to the DLQ stream with `reason`. */
export class MappingError extends PipelineError {
  readonly reason: DlqReason;
  constructor(reason: DlqReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
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

/** The response would not fit Lambda's limit even after re-ingestion: the invocation must fail. */
export class ResponseTooLargeError extends PipelineError {}

/** Records could not be written anywhere yet: the invocation fails so that its source retries. */
export class RetryLaterError extends PipelineError {}

/** An invocation whose event is not of the kind the handler takes ("expected ..., got ..."). */
export class EventShapeError extends PipelineError {}

/** Any thrown value as an Error: itself if it is one, else an Error whose message is its text. */
export function toError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown), { cause: thrown });
}
