/**
 * What kind of event a Lambda was invoked with, and one check per handler. A handler
 * checks its event before anything else reads it, so that a wrong trigger or a wrong
 * `invoke local -p` file fails with an EventShapeError that names what was expected and
 * what came ("expected an SQS event (Records[].eventSource = aws:sqs), got an EventBridge
 * event"), never with a TypeError from deep inside a core, nor with a silent empty success.
 *
 * Only the event's kind is refused here, never one record: a record with a missing field
 * inside an event of the right kind is the core's to dead-letter (the checks fill in the
 * text fields the cores would otherwise trip on), so one bad record does not fail its batch.
 */
import type {
  EventBridgeEvent,
  FirehoseTransformationEvent,
  KinesisStreamTumblingWindowEvent,
  SQSEvent,
} from 'aws-lambda';
import { EventShapeError } from './errors.js';

export type EventKind =
  | 'undefined'
  | 'null'
  | 'primitive'
  | 'array'
  | 'empty-object'
  | 'object'
  | 'records' // Records[] of one kind: see `source`
  | 'records-mixed'
  | 'records-empty'
  | 'firehose'
  | 'eventbridge'
  | 'http'
  | 'cloudwatch-logs'
  | 'other-source'; // a top-level eventSource: Kafka, Amazon MQ, ...

/** What an event is: its kind, the eventSource of its records (when it has some) and a phrase for messages. */
export interface EventShape {
  kind: EventKind;
  /** `aws:sqs`, `aws:kinesis`, ... for `records`; the service of `eventSourceARN` for `records-empty`. */
  source?: string;
  windowed: boolean;
  description: string;
}

/** How much of a producer's string (a key, an eventSource) an error message quotes. */
const MAX_QUOTED_CHARS = 40;
/** How many keys of an unknown object an error message lists. */
const MAX_LISTED_KEYS = 5;

const RECORD_SOURCES: Readonly<Record<string, string>> = {
  'aws:sqs': 'an SQS event',
  'aws:kinesis': 'a Kinesis stream event',
  'aws:dynamodb': 'a DynamoDB stream event',
  'aws:sns': 'an SNS event',
  'aws:s3': 'an S3 event',
  'aws:ses': 'an SES receipt event',
};

type Dict = Record<string, unknown>;

const isDict = (value: unknown): value is Dict =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** An own property only: an event's keys never reach a prototype. */
const own = (value: Dict, key: string): unknown => (Object.hasOwn(value, key) ? value[key] : undefined);

const quote = (text: string): string => {
  const cut = text.length > MAX_QUOTED_CHARS ? `${text.slice(0, MAX_QUOTED_CHARS)}...` : text;
  return JSON.stringify(cut);
};

/** A tumbling window as Lambda sends it: `window: { start, end }`, both strings. */
export function hasWindow(event: Dict): boolean {
  const window = own(event, 'window');
  return isDict(window) && typeof own(window, 'start') === 'string' && typeof own(window, 'end') === 'string';
}

/** `eventSource` of a record (SNS spells it `EventSource`), or undefined. */
function recordSource(record: unknown): string | undefined {
  if (!isDict(record)) return undefined;
  const source = own(record, 'eventSource') ?? own(record, 'EventSource');
  return typeof source === 'string' ? source : undefined;
}

/** `aws:kinesis` from `arn:aws:kinesis:...`: the service a windowed event with no records came from. */
function arnSource(arn: unknown): string | undefined {
  if (typeof arn !== 'string') return undefined;
  const service = arn.split(':')[2];
  return service ? `aws:${service}` : undefined;
}

function describeSource(source: string | undefined, windowed: boolean): string {
  const known = source === undefined ? undefined : RECORD_SOURCES[source];
  const base =
    known ??
    (source === undefined
      ? 'an event whose Records carry no eventSource'
      : `an event whose Records[].eventSource is ${quote(source)}`);
  return windowed ? `${base} with a tumbling window` : base;
}

function recordsShape(event: Dict, records: readonly unknown[]): EventShape {
  const windowed = hasWindow(event);
  if (records.length === 0) {
    const source = arnSource(own(event, 'eventSourceARN'));
    const what = source
      ? describeSource(source, windowed)
      : windowed
        ? 'an event with a tumbling window'
        : 'an event';
    return {
      kind: 'records-empty',
      windowed,
      description: `${what} and an empty Records list`,
      ...(source ? { source } : {}),
    };
  }
  const sources = [...new Set(records.map(recordSource))];
  if (sources.length > 1) {
    const names = sources.map((s) => (s === undefined ? 'no eventSource' : quote(s)));
    return { kind: 'records-mixed', windowed, description: `a Records list that mixes ${names.join(', ')}` };
  }
  const source = sources[0];
  return {
    kind: 'records',
    windowed,
    description: describeSource(source, windowed),
    ...(source === undefined ? {} : { source }),
  };
}

function objectShape(event: Dict): EventShape {
  const records = own(event, 'Records');
  if (Array.isArray(records)) return recordsShape(event, records);
  const shape = (kind: EventKind, description: string): EventShape => ({
    kind,
    windowed: false,
    description,
  });
  if (
    Array.isArray(own(event, 'records')) &&
    (own(event, 'invocationId') ?? own(event, 'deliveryStreamArn')) !== undefined
  )
    return shape('firehose', 'a Firehose transformation event');
  if (own(event, 'detail-type') !== undefined) return shape('eventbridge', 'an EventBridge event');
  if (['httpMethod', 'routeKey', 'requestContext'].some((key) => own(event, key) !== undefined))
    return shape('http', 'an API Gateway (HTTP) event');
  if (own(event, 'awslogs') !== undefined)
    return shape('cloudwatch-logs', 'a CloudWatch Logs subscription event');
  const source = own(event, 'eventSource');
  if (typeof source === 'string') return shape('other-source', `an event from ${quote(source)}`);
  const keys = Object.keys(event);
  if (keys.length === 0) return shape('empty-object', 'an empty object');
  const listed = keys.slice(0, MAX_LISTED_KEYS).map(quote).join(', ');
  return shape('object', `an object with keys ${listed}${keys.length > MAX_LISTED_KEYS ? ', ...' : ''}`);
}

/** What `event` is, in a phrase an error message can end with. */
export function describeEvent(event: unknown): EventShape {
  if (event === undefined) return { kind: 'undefined', windowed: false, description: 'no event (undefined)' };
  if (event === null) return { kind: 'null', windowed: false, description: 'null' };
  if (Array.isArray(event))
    return { kind: 'array', windowed: false, description: `an array of ${event.length} item(s)` };
  if (typeof event !== 'object')
    return { kind: 'primitive', windowed: false, description: `a ${typeof event}` };
  return objectShape(event as Dict);
}

/**
 * Stands in for an id or ARN that a hand-made record left out: the cores quote both in the
 * DLQ envelope and key it by them, and a Kinesis partition key cannot be empty.
 */
export const MISSING = '(missing)';

const textOr = (value: unknown, fallback: string): string => (typeof value === 'string' ? value : fallback);

/** A non-string SQS body as the JSON text it was sent as (none: empty), so the DLQ keeps it. */
function bodyText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body === undefined || body === null) return '';
  try {
    return JSON.stringify(body) ?? '';
  } catch {
    return ''; // a value JSON cannot hold (a BigInt, a cycle) cannot have come from SQS
  }
}

/** Records with every field the core reads as text; the same array when nothing was missing. */
function filled(records: readonly Dict[], fill: (record: Dict) => Dict | undefined): Dict[] | undefined {
  let copy: Dict[] | undefined;
  records.forEach((record, i) => {
    const fixed = fill(record);
    if (fixed) {
      copy ??= [...records];
      copy[i] = fixed;
    }
  });
  return copy;
}

function fillSqsRecord(record: Dict): Dict | undefined {
  const [id, body, arn] = [own(record, 'messageId'), own(record, 'body'), own(record, 'eventSourceARN')];
  if (typeof id === 'string' && typeof body === 'string' && typeof arn === 'string') return undefined;
  return {
    ...record,
    messageId: textOr(id, MISSING),
    body: bodyText(body),
    eventSourceARN: textOr(arn, MISSING),
  };
}

function fillKinesisRecord(record: Dict): Dict | undefined {
  const inner = own(record, 'kinesis');
  const kinesis = isDict(inner) ? inner : {};
  const fields = [own(kinesis, 'data'), own(kinesis, 'sequenceNumber'), own(kinesis, 'partitionKey')];
  if (fields.every((f) => typeof f === 'string') && typeof own(record, 'eventSourceARN') === 'string')
    return undefined;
  return {
    ...record,
    eventSourceARN: textOr(own(record, 'eventSourceARN'), MISSING),
    kinesis: {
      ...kinesis,
      data: textOr(fields[0], ''), // no data: dead-lettered by the core as an empty record
      sequenceNumber: textOr(fields[1], MISSING),
      partitionKey: textOr(fields[2], MISSING),
    },
  };
}

/** `event` with its records' missing text fields filled in (a copy, only when one was missing). */
function withFilledRecords(event: unknown, fill: (record: Dict) => Dict | undefined): unknown {
  const records = own(event as Dict, 'Records') as Dict[];
  const copy = filled(records, fill);
  return copy ? { ...(event as Dict), Records: copy } : event;
}

function refuse(expected: string, got: string): never {
  throw new EventShapeError(`expected ${expected}, got ${got}`);
}

export const SQS_EXPECTED = 'an SQS event (Records[].eventSource = aws:sqs)';
export const FIREHOSE_EXPECTED =
  'a Firehose transformation event (invocationId, records[] with recordId and data)';
export const WINDOW_EXPECTED =
  'a Kinesis stream event with a tumbling window (Records[].eventSource = aws:kinesis, window {start, end})';
export const VALIDATOR_EXPECTED = 'an EventBridge event, an array of them (Pipes) or an SQS event';

/** Records[] all from `aws:sqs`, or an empty Records list that names no other source. */
function isSqs(shape: EventShape): boolean {
  if (shape.kind === 'records') return shape.source === 'aws:sqs';
  return shape.kind === 'records-empty' && !shape.windowed && (shape.source ?? 'aws:sqs') === 'aws:sqs';
}

/**
 * The mapper's input: Records[] all from `aws:sqs`. An empty Records list passes (there is
 * nothing to route, so nothing to lose). A record without a string messageId, body or
 * eventSourceARN (never from SQS itself; a hand-made event) gets `(missing)` / its body as
 * JSON text, so that the core dead-letters it instead of failing the batch.
 */
export function expectSqsEvent(event: unknown): SQSEvent {
  const shape = describeEvent(event);
  if (!isSqs(shape)) refuse(SQS_EXPECTED, shape.description);
  return withFilledRecords(event, fillSqsRecord) as SQSEvent;
}

/** The first record that Firehose could not have sent: no string recordId, or no string data. */
function badFirehoseRecord(records: readonly unknown[]): string | undefined {
  for (const [i, record] of records.entries()) {
    if (!isDict(record)) return `records[${i}] is not an object`;
    if (typeof own(record, 'recordId') !== 'string') return `records[${i}] has no recordId`;
    if (typeof own(record, 'data') !== 'string') return `records[${i}] has no base64 data`;
  }
  return undefined;
}

/**
 * The transform's input: `invocationId` and `records[]`, each with a string `recordId` and
 * `data`. A record without them cannot be answered (the response is keyed by recordId), so
 * the invocation fails and Firehose retries it, then backs the batch up as processing-failed.
 */
export function expectFirehoseEvent(event: unknown): FirehoseTransformationEvent {
  const shape = describeEvent(event);
  if (shape.kind !== 'firehose') refuse(FIREHOSE_EXPECTED, shape.description);
  const firehose = event as Dict;
  if (typeof own(firehose, 'invocationId') !== 'string')
    refuse(FIREHOSE_EXPECTED, 'a Firehose transformation event with no invocationId');
  const bad = badFirehoseRecord(own(firehose, 'records') as unknown[]);
  if (bad) refuse(FIREHOSE_EXPECTED, `a Firehose transformation event whose ${bad}`);
  return event as FirehoseTransformationEvent;
}

/**
 * The aggregator's input: a Kinesis event with a tumbling window. A Kinesis event with no
 * window (the mapping has no TumblingWindowInSeconds) is refused: there would be no state
 * to carry and no window to close, so results would never be written. A windowed event with
 * no records is Lambda's usual final invocation, and passes unless its eventSourceARN names
 * another service. A record without its `kinesis.data`, sequence number or partition key
 * (never from Kinesis itself) gets empty data and `(missing)`, so that the core
 * dead-letters it instead of failing the batch.
 */
/** Lambda's tumbling-window event: @types/aws-lambda leaves out `shardId` and `eventSourceARN`. */
export type TumblingWindowEvent = KinesisStreamTumblingWindowEvent & {
  shardId: string;
  eventSourceARN: string;
};

export function expectTumblingWindowEvent(event: unknown): TumblingWindowEvent {
  const shape = describeEvent(event);
  const kinesis =
    (shape.kind === 'records' && shape.source === 'aws:kinesis') ||
    (shape.kind === 'records-empty' && (shape.source === undefined || shape.source === 'aws:kinesis'));
  if (!kinesis || !shape.windowed) refuse(WINDOW_EXPECTED, shape.description);
  return withFilledRecords(event, fillKinesisRecord) as TumblingWindowEvent;
}

export type ValidatorInput =
  | EventBridgeEvent<string, unknown>
  | EventBridgeEvent<string, unknown>[]
  | SQSEvent;

/** Kinds the validator hands to its core: a malformed EventBridge event is dead-lettered there (INVALID_ENVELOPE). */
const VALIDATOR_KINDS: ReadonlySet<EventKind> = new Set<EventKind>([
  'eventbridge',
  'array',
  'empty-object',
  'object',
]);

/**
 * The validator's input: one EventBridge event (a rule target), an array (Pipes) or an SQS
 * batch. Any other object goes on to the core as a malformed EventBridge event, which
 * dead-letters it as INVALID_ENVELOPE; what is clearly of another kind is refused here.
 */
export function expectValidatorInput(event: unknown): ValidatorInput {
  const shape = describeEvent(event);
  if (!isSqs(shape) && !VALIDATOR_KINDS.has(shape.kind)) refuse(VALIDATOR_EXPECTED, shape.description);
  return event as ValidatorInput;
}
