/**
 * Cross-field rules the schema alone cannot express: AWS's event-source constraints,
 * the queue visibility timeout against the function timeout, and partition-key rules
 * that could never produce a valid 1-256 character key.
 */
import { formatPath } from '../json-path.js';
import type { PipelineConfig, Route } from './schema.js';

/** AWS's advice: a queue's visibility timeout of at least 6x the function timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
/** Event-source limits (AWS Lambda, SQS event source mapping). */
export const MAX_BATCH_WITHOUT_WINDOW = 10;
export const MAX_FIFO_BATCH_SIZE = 10;

export interface RuleIssues {
  errors: string[];
  warnings: string[];
}

export function isFifoQueue(queueArn: string): boolean {
  return queueArn.endsWith('.fifo');
}

export function queueNameOf(queueArn: string): string {
  return queueArn.slice(queueArn.lastIndexOf(':') + 1);
}

/** The route's name in metrics and logs: its own name, or its queue's name. */
export function routeName(route: Route): string {
  return route.name ?? queueNameOf(route.queueArn).replace(/\.fifo$/, '-fifo');
}

/**
 * An aggregated record must fit the stream it is written to, and only the mapper aggregates:
 * aggregation on a stream no route writes to would be a setting that does nothing.
 */
function aggregationIssues(config: PipelineConfig): string[] {
  const targets = new Set((config.sqsToKinesis?.routes ?? []).map((route) => route.target));
  return Object.entries(config.streams).flatMap(([name, stream]) => {
    if (!stream.aggregation) return [];
    const issues: string[] = [];
    const limit = stream.maxRecordSizeKiB * 1024;
    const max = stream.aggregation.maxRecordBytes;
    if (max > limit) {
      issues.push(
        `streams.${name}.aggregation.maxRecordBytes: ${max} is more than the stream's largest record (maxRecordSizeKiB ${stream.maxRecordSizeKiB} = ${limit} bytes)`,
      );
    }
    if (!targets.has(name)) {
      issues.push(
        `streams.${name}.aggregation: only sqs-to-kinesis aggregates its writes, and no route targets this stream`,
      );
    }
    return issues;
  });
}

export function crossFieldIssues(config: PipelineConfig): RuleIssues {
  const errors: string[] = [];
  const warnings: string[] = [];
  const dlqName = config.dlq.stream;
  if (dlqName in config.streams) {
    errors.push(`streams.${dlqName}: is the DLQ stream; it is configured under dlq, not streams`);
  }
  errors.push(
    ...firehoseIssues(config),
    ...validatorIssues(config),
    ...aggregatorIssues(config),
    ...aggregationIssues(config),
  );
  const mapper = config.sqsToKinesis;
  if (!mapper) return { errors, warnings };
  const duplicates = duplicateRouteIssues(mapper.routes);
  mapper.routes.forEach((route, i) => {
    const at = (...keys: PropertyKey[]) => formatPath(['sqsToKinesis', 'routes', i, ...keys]);
    const visibility = visibilityIssue(route, mapper.timeoutSeconds, at);
    if (visibility && !visibility.error) warnings.push(visibility.text);
    if (
      route.filter?.where === 'source' &&
      route.filter.patterns.some((p) => typeof p.body === 'object' && !Array.isArray(p.body))
    ) {
      warnings.push(
        `${at('filter', 'where')}: at the source, Lambda deletes a message whose body is not JSON without invoking the function (its patterns read body fields): it reaches neither the stream nor the DLQ; "function" sends it to the DLQ instead`,
      );
    }
    errors.push(
      ...(duplicates[i] ?? []),
      ...eventSourceIssues(route, at),
      ...(visibility?.error ? [visibility.text] : []),
      ...bodyIssues(route, at),
      ...targetIssues(config, route, at),
    );
  });
  return { errors, warnings };
}

type At = (...keys: PropertyKey[]) => string;

/** Per route: it is on the queue, or has the name, of an earlier route. */
function duplicateRouteIssues(routes: readonly Route[]): string[][] {
  const seenQueues = new Map<string, number>();
  const seenNames = new Map<string, number>();
  return routes.map((route, i) => {
    const errors: string[] = [];
    const at = (key: string) => formatPath(['sqsToKinesis', 'routes', i, key]);
    const firstQueue = seenQueues.get(route.queueArn);
    if (firstQueue !== undefined)
      errors.push(`${at('queueArn')}: same queue as sqsToKinesis.routes[${firstQueue}]`);
    else seenQueues.set(route.queueArn, i);
    const name = routeName(route);
    const firstName = seenNames.get(name);
    if (firstName !== undefined)
      errors.push(`${at('name')}: route name "${name}" is used by routes[${firstName}] too`);
    else seenNames.set(name, i);
    return errors;
  });
}

/** Batch size and batching window as AWS allows them for the queue's kind. */
function eventSourceIssues(route: Route, at: At): string[] {
  const { batchSize, maximumBatchingWindowInSeconds: window } = route.eventSource;
  if (isFifoQueue(route.queueArn)) {
    return [
      ...(batchSize > MAX_FIFO_BATCH_SIZE
        ? [`${at('eventSource', 'batchSize')}: a FIFO queue takes at most ${MAX_FIFO_BATCH_SIZE}`]
        : []),
      ...(window !== undefined
        ? [`${at('eventSource', 'maximumBatchingWindowInSeconds')}: not allowed on a FIFO queue`]
        : []),
    ];
  }
  if (batchSize > MAX_BATCH_WITHOUT_WINDOW && !window) {
    return [
      `${at('eventSource', 'maximumBatchingWindowInSeconds')}: a batch size over ${MAX_BATCH_WITHOUT_WINDOW} needs a batching window of at least 1 second`,
    ];
  }
  return [];
}

/** The queue's visibility timeout against the function timeout: an error below it, a warning under 6x. */
function visibilityIssue(
  route: Route,
  timeout: number,
  at: At,
): { error: boolean; text: string } | undefined {
  const visibility = route.visibilityTimeoutSeconds;
  if (visibility < timeout) {
    return {
      error: true,
      text: `${at('visibilityTimeoutSeconds')}: ${visibility}s is below the function timeout (sqsToKinesis.timeoutSeconds = ${timeout}s); AWS rejects such an event source`,
    };
  }
  if (visibility < VISIBILITY_TIMEOUT_FACTOR * timeout) {
    return {
      error: false,
      text: `${at('visibilityTimeoutSeconds')}: ${visibility}s is under ${VISIBILITY_TIMEOUT_FACTOR}x the function timeout (${VISIBILITY_TIMEOUT_FACTOR * timeout}s), as AWS advises; retried batches may be delivered twice`,
    };
  }
  return undefined;
}

/** Partition key and body rules that need a FIFO queue or a JSON body. */
function bodyIssues(route: Route, at: At): string[] {
  const errors: string[] = [];
  const fifo = isFifoQueue(route.queueArn);
  const key = route.partitionKey;
  if (key.from === 'messageGroupId' && !fifo) {
    errors.push(
      `${at('partitionKey', 'from')}: messageGroupId exists only on FIFO queues; this queue is standard`,
    );
  }
  if (key.from === 'body' && route.body.format !== 'json') {
    errors.push(`${at('partitionKey', 'path')}: a path into the body needs body.format "json"`);
  }
  if (route.body.format !== 'json') return errors;
  if (route.body.addMetadata?.messageGroupId !== undefined && !fifo) {
    errors.push(`${at('body', 'addMetadata', 'messageGroupId')}: a standard queue has no message group id`);
  }
  const outputs = [...Object.values(route.body.rename ?? {}), ...Object.values(route.body.addMetadata ?? {})];
  const dup = outputs.find((field, j) => outputs.indexOf(field) !== j);
  if (dup !== undefined) errors.push(`${at('body')}: output field "${dup}" is written twice`);
  return errors;
}

/** A target is an ARN or a declared stream, and never the DLQ stream. */
function targetIssues(config: PipelineConfig, route: Route, at: At): string[] {
  if (route.target.startsWith('arn:')) return [];
  if (route.target === config.dlq.stream)
    return [`${at('target')}: is the DLQ stream; a route cannot target it`];
  if (route.target in config.streams) return [];
  return [
    `${at('target')}: stream "${route.target}" is not declared under streams; declare it there or give an existing stream's ARN`,
  ];
}

/** Firehose needs at least 64 MiB of S3 buffering when dynamic partitioning is on. */
export const MIN_S3_BUFFER_MIB_WITH_PARTITIONING = 64;

function firehoseIssues(config: PipelineConfig): string[] {
  const transform = config.firehoseTransform;
  if (!transform) return [];
  const errors: string[] = [];
  const at = (...keys: PropertyKey[]) => formatPath(['firehoseTransform', ...keys]);
  if (transform.hash.length > 0 && !transform.hashKeyParameter) {
    errors.push(`${at('hashKeyParameter')}: hash paths need a key; name the SSM SecureString that holds it`);
  }
  if (
    transform.partitionKeys &&
    transform.deliveryStream.s3Buffer.sizeMiB < MIN_S3_BUFFER_MIB_WITH_PARTITIONING
  ) {
    errors.push(
      `${at('deliveryStream', 's3Buffer', 'sizeMiB')}: dynamic partitioning needs at least ${MIN_S3_BUFFER_MIB_WITH_PARTITIONING}`,
    );
  }
  return errors;
}

/** The source a validated event is republished under. */
export function outputSourceOf(
  validator: NonNullable<PipelineConfig['eventValidator']>,
  source: string,
): string {
  return validator.sources[source]?.outputSource ?? `${validator.outputPrefix}${source}`;
}

/** Each producer account with the input sources it may put on the central bus (all of them unless listed). */
export function producerSources(
  validator: NonNullable<PipelineConfig['eventValidator']>,
): Map<string, string[]> {
  const all = Object.keys(validator.sources);
  const grants = new Map<string, string[]>();
  for (const producer of validator.centralBus.producerAccounts) {
    const [account, sources] =
      typeof producer === 'string' ? [producer, all] : [producer.account, producer.sources];
    grants.set(account, [...new Set([...(grants.get(account) ?? []), ...sources])]);
  }
  return grants;
}

/**
 * The loop guard at config time: an input source must never be, or look like, an output
 * source, or a republished event would match the input rule again. Sources are exact
 * matches by construction (the schema refuses wildcards).
 */
function validatorIssues(config: PipelineConfig): string[] {
  const validator = config.eventValidator;
  if (!validator) return [];
  const errors: string[] = [];
  const inputs = Object.keys(validator.sources);
  const outputs = new Map(inputs.map((source) => [outputSourceOf(validator, source), source]));
  for (const source of inputs) {
    const at = formatPath(['eventValidator', 'sources', source]);
    if (source.startsWith(validator.outputPrefix)) {
      errors.push(
        `${at}: starts with the output prefix "${validator.outputPrefix}"; republished events would loop`,
      );
    }
    const loopsFrom = outputs.get(source);
    if (loopsFrom !== undefined) {
      errors.push(`${at}: is the output source of sources.${loopsFrom}; republished events would loop`);
    }
    for (const name of [source, outputSourceOf(validator, source)]) {
      if (name.startsWith('aws.')) errors.push(`${at}: custom sources must not start with "aws."`);
    }
  }
  validator.centralBus.producerAccounts.forEach((producer, i) => {
    if (typeof producer === 'string') return;
    for (const source of producer.sources) {
      if (!Object.hasOwn(validator.sources, source)) {
        errors.push(
          `${formatPath(['eventValidator', 'centralBus', 'producerAccounts', i, 'sources'])}: "${source}" is not a configured input source`,
        );
      }
    }
  });
  validator.consumers.forEach((consumer, i) => {
    for (const source of consumer.sources) {
      if (!outputs.has(source)) {
        errors.push(
          `${formatPath(['eventValidator', 'consumers', i, 'sources'])}: "${source}" is not an output source of any configured source`,
        );
      }
    }
  });
  return errors;
}

function aggregatorIssues(config: PipelineConfig): string[] {
  const aggregator = config.kinesisAggregator;
  if (!aggregator) return [];
  const errors: string[] = [];
  for (const side of ['input', 'output'] as const) {
    const stream = aggregator[side].stream;
    if (!stream.startsWith('arn:') && !(stream in config.streams)) {
      errors.push(
        `${formatPath(['kinesisAggregator', side, 'stream'])}: stream "${stream}" is not declared under streams; declare it there or give an existing stream's ARN`,
      );
    }
  }
  if (aggregator.input.stream === aggregator.output.stream) {
    errors.push('kinesisAggregator.output.stream: is the input stream; results would be aggregated again');
  }
  const keepBy = aggregator.state.keepBy;
  if (keepBy !== undefined && !(keepBy in aggregator.metrics)) {
    errors.push(`kinesisAggregator.state.keepBy: "${keepBy}" is not one of the metrics`);
  }
  return errors;
}
