/**
 * The `ses` index as a CloudFormation custom resource: on Create and Update, the index is
 * made with its explicit mappings (PUT /<index>), or, when it already exists, its mappings
 * are extended (PUT /<index>/_mapping: new fields are added; a changed type is refused by
 * OpenSearch and the stack update fails with OpenSearch's reason). On Delete nothing is
 * removed: the documents stay until the collection goes (with the stack) or their retention
 * ends. CloudFormation always gets an answer, success or failure, so a stack never waits an
 * hour on a silent function.
 */
import type { CloudFormationCustomResourceEvent, CloudFormationCustomResourceResponse } from 'aws-lambda';
import type { LogPort } from '../core/observability.js';

export interface HttpAnswer {
  status: number;
  body: string;
}

export interface IndexRequest {
  method: 'PUT';
  /** `/ses` or `/ses/_mapping`. */
  path: string;
  body: string;
}

export interface SearchIndexDeps {
  /** Sends a signed request to the collection endpoint. */
  send(endpoint: string, request: IndexRequest): Promise<HttpAnswer>;
  /** PUTs CloudFormation's answer to the pre-signed response URL. */
  respond(url: string, body: string): Promise<void>;
  sleep(ms: number): Promise<void>;
  remainingTimeMs(): number;
  logger: LogPort;
}

/** The custom resource's properties, checked. */
export interface IndexProperties {
  endpoint: string;
  index: string;
  mappings: Record<string, unknown>;
  body: string;
}

/** What the template passes is not what this function expects (a defect of the template). */
export class IndexPropertiesError extends Error {
  override name = 'IndexPropertiesError';
}

/** OpenSearch refused the index or its mappings, or never became reachable. */
export class IndexCreationError extends Error {
  override name = 'IndexCreationError';
}

const INDEX_NAME = /^[a-z0-9][a-z0-9._-]{0,254}$/;

export function indexProperties(properties: Record<string, unknown>): IndexProperties {
  const { CollectionEndpoint: endpoint, IndexName: index, IndexBody: body } = properties;
  if (typeof endpoint !== 'string' || !/^https?:\/\/[^/\s]+$/.test(endpoint)) {
    throw new IndexPropertiesError('CollectionEndpoint must be the collection endpoint URL');
  }
  if (typeof index !== 'string' || !INDEX_NAME.test(index)) {
    throw new IndexPropertiesError('IndexName must be a lower-case index name');
  }
  let parsed: unknown;
  try {
    parsed = typeof body === 'string' ? JSON.parse(body) : undefined;
  } catch {
    parsed = undefined;
  }
  const mappings = (parsed as { mappings?: unknown } | undefined)?.mappings;
  if (typeof mappings !== 'object' || mappings === null || Array.isArray(mappings)) {
    throw new IndexPropertiesError('IndexBody must be a JSON object with mappings');
  }
  return { endpoint, index, mappings: mappings as Record<string, unknown>, body: body as string };
}

/** OpenSearch's error type and reason from an error answer, for the stack's event log. */
export function openSearchReason(answer: HttpAnswer): string {
  try {
    const error = (JSON.parse(answer.body) as { error?: { type?: unknown; reason?: unknown } }).error;
    if (error && typeof error.type === 'string') {
      return `${answer.status} ${error.type}: ${String(error.reason ?? '')}`.slice(0, 500);
    }
  } catch {
    // not JSON: the status says enough
  }
  return `HTTP ${answer.status}`;
}

const alreadyExists = (answer: HttpAnswer) =>
  answer.status === 400 && answer.body.includes('resource_already_exists_exception');

/** Answers worth waiting out: a data-access policy not yet applied, throttling, outages. */
const passing = (answer: HttpAnswer) =>
  answer.status === 403 || answer.status === 429 || answer.status >= 500;

/** Leaves this much of the invocation to answer CloudFormation. */
const ANSWER_RESERVE_MS = 15_000;

/** Sends `request` until it gets a final answer or the time left runs out. */
async function sendPatiently(
  props: IndexProperties,
  request: IndexRequest,
  deps: SearchIndexDeps,
): Promise<HttpAnswer> {
  let delay = 2_000;
  for (let attempt = 1; ; attempt++) {
    const answer = await deps.send(props.endpoint, request).catch(
      (error: unknown): HttpAnswer => ({
        status: 0,
        body: error instanceof Error ? error.message : String(error),
      }),
    );
    const retry = answer.status === 0 || passing(answer);
    if (!retry) return answer;
    if (deps.remainingTimeMs() - delay < ANSWER_RESERVE_MS) {
      throw new IndexCreationError(
        `${request.method} ${request.path}: still ${answer.status === 0 ? answer.body : openSearchReason(answer)} after ${attempt} attempts`,
      );
    }
    deps.logger.warn('collection not ready, waiting', { path: request.path, status: answer.status, attempt });
    await deps.sleep(delay);
    delay = Math.min(delay * 2, 30_000);
  }
}

/** Makes the index, or extends its mappings when it exists. Returns what was done. */
export async function ensureIndex(
  props: IndexProperties,
  deps: SearchIndexDeps,
): Promise<'created' | 'updated'> {
  const created = await sendPatiently(
    props,
    { method: 'PUT', path: `/${props.index}`, body: props.body },
    deps,
  );
  if (created.status >= 200 && created.status < 300) return 'created';
  if (!alreadyExists(created)) throw new IndexCreationError(openSearchReason(created));
  const mapping = {
    method: 'PUT' as const,
    path: `/${props.index}/_mapping`,
    body: JSON.stringify(props.mappings),
  };
  const updated = await sendPatiently(props, mapping, deps);
  if (updated.status >= 200 && updated.status < 300) return 'updated';
  throw new IndexCreationError(openSearchReason(updated));
}

/** CloudFormation's answer for `event`. */
export function cfnAnswer(
  event: CloudFormationCustomResourceEvent,
  outcome: { physicalId: string; error?: Error; data?: Record<string, string> },
): CloudFormationCustomResourceResponse {
  const common = {
    PhysicalResourceId: outcome.physicalId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  };
  return outcome.error
    ? {
        Status: 'FAILED',
        Reason: `${outcome.error.name}: ${outcome.error.message}`.slice(0, 1000),
        ...common,
      }
    : { Status: 'SUCCESS', ...common, ...(outcome.data ? { Data: outcome.data } : {}) };
}

/** Handles one custom-resource event and answers CloudFormation, whatever happens. */
export async function handleIndexEvent(
  event: CloudFormationCustomResourceEvent,
  deps: SearchIndexDeps,
): Promise<void> {
  const previous = event.RequestType === 'Create' ? undefined : event.PhysicalResourceId;
  let outcome: { physicalId: string; error?: Error; data?: Record<string, string> };
  if (event.RequestType === 'Delete') {
    deps.logger.info('index kept: its documents go with the collection or their retention', {
      physicalId: previous,
    });
    outcome = { physicalId: previous as string };
  } else {
    try {
      const props = indexProperties(event.ResourceProperties);
      const done = await ensureIndex(props, deps);
      deps.logger.info(`index ${done}`, { index: props.index, requestType: event.RequestType });
      outcome = { physicalId: `${props.endpoint}/${props.index}`, data: { IndexName: props.index } };
    } catch (thrown) {
      const error = thrown instanceof Error ? thrown : new Error(String(thrown));
      deps.logger.error('index not made', { error: error.message, requestType: event.RequestType });
      // A failed Create gets a placeholder id; the Delete that rollback sends for it does nothing.
      outcome = { physicalId: previous ?? `failed-${event.RequestId}`, error };
    }
  }
  await deps.respond(event.ResponseURL, JSON.stringify(cfnAnswer(event, outcome)));
}
