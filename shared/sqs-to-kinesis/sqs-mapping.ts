/**
 * The config-driven mapping from an SQS message to a Kinesis record: which stream,
 * which partition key, which bytes. Routes are compiled once (paths split, limits
 * looked up); mapping a message either returns a record or throws a MappingError
 * whose `reason` says why it belongs in the DLQ stream.
 */
import type { SQSRecord } from 'aws-lambda';
import { isFifoQueue, routeName } from '../core/config/rules.js';
import type { MetadataField, PipelineConfig, Route } from '../core/config/schema.js';
import { MappingError, NoRouteError, OversizeRecordError, PartitionKeyError } from '../core/errors.js';
import { compileSqsFilter } from '../core/filter-pattern.js';
import { isoTimestamp } from '../core/iso-time.js';
import { compilePath, defineOwn, getPath } from '../core/json-path.js';
import { escapeFreeSource, needsNoEscape, stringifyEscapeFree } from '../core/json-text.js';
import { maxRecordBytesOf, type WriteEntry } from '../core/kinesis-writer.js';
import { MAX_PARTITION_KEY_LENGTH } from '../core/partition-key.js';
import { compileProjection } from '../core/projection.js';

export { MAX_PARTITION_KEY_LENGTH } from '../core/partition-key.js';

export interface CompiledRoute {
  name: string;
  queueArn: string;
  fifo: boolean;
  stream: string;
  maxRecordBytes: number;
  format: 'json' | 'raw';
  partitionKey: (record: SQSRecord, body: unknown) => string;
  /** The JSON text written for a parsed body (`text`, as received); null when it is written as received. */
  reshape: ((body: Record<string, unknown>, record: SQSRecord, text: string) => string) | null;
  /** With `filter.where: function`: whether a message is kept (the others are acknowledged, counted as filtered). */
  keep?: (record: SQSRecord) => boolean;
}

export type Router = ReadonlyMap<string, CompiledRoute>;

/**
 * The filter a route applies in the function: as Lambda's, but on a `json` route a body that
 * is not a JSON object always passes, so that malformed input reaches the DLQ
 * (BODY_NOT_JSON, BODY_NOT_OBJECT) rather than vanishing as filtered.
 */
function functionFilter(route: Route): ((record: SQSRecord) => boolean) | undefined {
  if (route.filter?.where !== 'function') return undefined;
  const matches = compileSqsFilter(route.filter.patterns);
  if (route.body.format !== 'json') return matches;
  return (record) => {
    let body: unknown;
    try {
      body = JSON.parse(record.body);
    } catch {
      return true;
    }
    return typeof body !== 'object' || body === null || Array.isArray(body) || matches(record);
  };
}

export function compileRouter(config: PipelineConfig): Router {
  const router = new Map<string, CompiledRoute>();
  for (const route of config.sqsToKinesis?.routes ?? []) {
    const keep = functionFilter(route);
    router.set(route.queueArn, {
      name: routeName(route),
      queueArn: route.queueArn,
      fifo: isFifoQueue(route.queueArn),
      stream: route.target,
      maxRecordBytes: maxRecordBytesOf(config, route.target),
      format: route.body.format,
      partitionKey: compilePartitionKey(route),
      reshape: compileReshape(route),
      ...(keep ? { keep } : {}),
    });
  }
  return router;
}

export function checkPartitionKey(key: string): string {
  if (key.length === 0 || key.length > MAX_PARTITION_KEY_LENGTH) {
    throw new PartitionKeyError(
      'PARTITION_KEY_INVALID',
      `Partition key has ${key.length} characters; Kinesis takes 1-${MAX_PARTITION_KEY_LENGTH}`,
    );
  }
  if (!key.isWellFormed()) {
    throw new PartitionKeyError(
      'PARTITION_KEY_INVALID',
      'Partition key holds a lone surrogate: it is not valid Unicode',
    );
  }
  return key;
}

function keyFromValue(value: unknown, where: string): string {
  if (value === undefined || value === null) {
    throw new PartitionKeyError('PARTITION_KEY_MISSING', `Partition key ${where} is missing`);
  }
  if (typeof value === 'string') return checkPartitionKey(value);
  if (typeof value === 'number' || typeof value === 'boolean') return checkPartitionKey(String(value));
  throw new PartitionKeyError(
    'PARTITION_KEY_INVALID',
    `Partition key ${where} is ${Array.isArray(value) ? 'an array' : 'an object'}; it must be a string or number`,
  );
}

function compilePartitionKey(route: Route): CompiledRoute['partitionKey'] {
  const rule = route.partitionKey;
  switch (rule.from) {
    case 'messageId':
      return (record) => checkPartitionKey(record.messageId);
    case 'messageGroupId':
      return (record) => keyFromValue(record.attributes.MessageGroupId, 'MessageGroupId');
    case 'attribute': {
      const where = `message attribute "${rule.name}"`;
      return (record) => {
        const attribute = Object.hasOwn(record.messageAttributes ?? {}, rule.name)
          ? record.messageAttributes[rule.name]
          : undefined;
        return keyFromValue(attribute?.stringValue, where);
      };
    }
    case 'body': {
      const path = compilePath(rule.path);
      const where = `at body path "${rule.path}"`;
      return (_record, body) => keyFromValue(getPath(body, path), where);
    }
  }
}

const METADATA_VALUES: Record<MetadataField, (record: SQSRecord) => unknown> = {
  queueArn: (record) => record.eventSourceARN,
  messageId: (record) => record.messageId,
  sentTimestamp: (record) => {
    const ms = Number(record.attributes.SentTimestamp);
    return Number.isFinite(ms) ? isoTimestamp(ms) : null;
  },
  approximateReceiveCount: (record) => Number(record.attributes.ApproximateReceiveCount),
  messageGroupId: (record) => record.attributes.MessageGroupId ?? null,
};

/** Every key a reshape can write from the config: kept paths' segments, new names. */
function configKeys(body: Extract<Route['body'], { format: 'json' }>): string[] {
  const { keep = [], rename = {}, addMetadata = {} } = body;
  return [
    ...keep.flatMap((path) => path.split('.')),
    ...Object.values(rename),
    ...Object.values(addMetadata).filter((to) => to !== undefined),
  ];
}

function compileReshape(route: Route): CompiledRoute['reshape'] {
  if (route.body.format !== 'json') return null;
  const project = compileProjection(route.body);
  const metadata = Object.entries(route.body.addMetadata ?? {}).map(
    ([field, to]) => [METADATA_VALUES[field as MetadataField], to as string] as const,
  );
  if (!project && metadata.length === 0) return null;
  // The output's keys come from the body or the config; its strings from the body or the
  // message's metadata. With no backslash in the body, clean config keys and clean
  // metadata strings, nothing in it needs an escape (see json-text.ts).
  const keysNeedNoEscape = configKeys(route.body).every(needsNoEscape);
  return (body, record, text) => {
    const out = project ? project(body) : body;
    let escapeFree = keysNeedNoEscape && escapeFreeSource(text);
    for (const [read, to] of metadata) {
      const value = read(record);
      if (escapeFree && typeof value === 'string' && !needsNoEscape(value)) escapeFree = false;
      defineOwn(out, to, value);
    }
    return escapeFree ? stringifyEscapeFree(out) : JSON.stringify(out);
  };
}

function parseJsonObject(body: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (cause) {
    throw new MappingError('BODY_NOT_JSON', `Body is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    const kind = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`;
    throw new MappingError('BODY_NOT_OBJECT', `Body is JSON but ${kind}, not an object`);
  }
  return parsed as Record<string, unknown>;
}

/** Maps one message through its route. Throws a MappingError for anything unmappable. */
export function mapSqsRecord(record: SQSRecord, router: Router): WriteEntry & { route: CompiledRoute } {
  const route = router.get(record.eventSourceARN);
  if (!route) throw new NoRouteError(record.eventSourceARN);
  const body = record.body ?? '';
  let data: string;
  let partitionKey: string;
  if (route.format === 'raw') {
    partitionKey = route.partitionKey(record, undefined);
    data = body;
  } else {
    const parsed = parseJsonObject(body);
    partitionKey = route.partitionKey(record, parsed);
    // Unchanged bodies are written as received: no re-serialisation, big numbers intact.
    data = route.reshape ? route.reshape(parsed, record, body) : body;
  }
  const size = Buffer.byteLength(data, 'utf8') + Buffer.byteLength(partitionKey, 'utf8');
  if (size > route.maxRecordBytes) throw new OversizeRecordError(size, route.maxRecordBytes);
  return { stream: route.stream, partitionKey, data, size, route };
}
