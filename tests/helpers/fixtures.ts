/** Sample events from events/, and configs built the way the tools build them. */
import { readFileSync } from 'node:fs';
import type { SQSEvent } from 'aws-lambda';
import { parseConfig } from '../../shared/core/config/load.js';
import type { PipelineConfig } from '../../shared/core/config/schema.js';
import { loadStageConfig } from '../../tools/lib/config-files.js';

const cache = new Map<string, unknown>();

/** A fresh copy of a sample event, so a test may change it freely. */
export function loadEvent<T = SQSEvent>(name: string): T {
  if (!cache.has(name)) cache.set(name, JSON.parse(readFileSync(`events/${name}`, 'utf8')));
  return structuredClone(cache.get(name)) as T;
}

/** The project's own config, for the local stage (the ARNs the sample events carry). */
export function localConfig(): PipelineConfig {
  return loadStageConfig('local').config;
}

export const ACCOUNT = '123456789012';
export const queueArn = (name: string, account = ACCOUNT) => `arn:aws:sqs:us-east-1:${account}:${name}`;

/** A raw config as a test edits it, before validation gives it types. */
// biome-ignore lint/suspicious/noExplicitAny: tests reach into raw configs freely; the schema checks them after.
export type RawConfig = Record<string, any>;

/** A small valid raw config; `patch` edits it before parsing. */
export function rawTestConfig(patch: (raw: RawConfig) => void = () => {}): RawConfig {
  const raw: RawConfig = {
    streams: { 'events-${stage}': {} },
    dlq: { stream: 'dlq-${stage}' },
    sqsToKinesis: {
      timeoutSeconds: 30,
      routes: [
        {
          queueArn: queueArn('events'),
          visibilityTimeoutSeconds: 180,
          target: 'events-${stage}',
          partitionKey: { from: 'body', path: 'user.id' },
        },
      ],
    },
  };
  patch(raw);
  return raw;
}

export function testConfig(patch?: (raw: RawConfig) => void): PipelineConfig {
  return parseConfig(rawTestConfig(patch), { stage: 'test', params: {} });
}
