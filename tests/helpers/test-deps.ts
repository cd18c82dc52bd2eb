/**
 * Typed deps for each core, as its unit tests use them: recording logger and metrics, a fixed
 * clock, no real waiting, and SDK clients whose calls the test mocks. `overrides` replaces any
 * of them; the recording logger and metrics stay, so a test can always read what was logged.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import type { PipelineConfig } from '../../shared/core/config/schema.js';
import { compileSchemas, schemaFileReader } from '../../shared/event-validator/event-schemas.js';
import type { ValidatorDeps } from '../../shared/event-validator/event-validator.js';
import {
  compileTransform,
  type RecordTransform,
  type TransformDeps,
} from '../../shared/firehose-transform/firehose-transform.js';
import {
  type AggregatorDeps,
  prepareAggregator,
} from '../../shared/kinesis-aggregator/kinesis-aggregator.js';
import { type MapperDeps, prepareMapper } from '../../shared/sqs-to-kinesis/sqs-to-kinesis.js';
import { fixedNow, noSleep, recordingLogger, recordingMetrics } from './doubles.js';
import { localConfig } from './fixtures.js';

export interface Recorded {
  logger: ReturnType<typeof recordingLogger>;
  metrics: ReturnType<typeof recordingMetrics>;
}

type Overrides<D> = Partial<Omit<D, keyof Recorded>>;

/** The hashing key of the Firehose transform in tests. */
export const TEST_HASH_KEY = Buffer.from('test-hash-key');

const region = { region: 'us-east-1' };
/** The local stage's config, parsed once (parsing takes tens of milliseconds); tests never edit it. */
const LOCAL = localConfig();
const recorded = (): Recorded => ({ logger: recordingLogger(), metrics: recordingMetrics() });

export function mapperTestDeps(
  config: PipelineConfig = LOCAL,
  overrides: Overrides<MapperDeps> = {},
): MapperDeps & Recorded {
  const base: MapperDeps & Recorded = {
    ...prepareMapper(config),
    ...recorded(),
    kinesis: new KinesisClient(region),
    now: fixedNow,
    sleep: noSleep,
    policy: { maxAttempts: 3 },
  };
  return { ...base, ...overrides };
}

export function aggregatorTestDeps(
  overrides: Overrides<AggregatorDeps> = {},
  config: PipelineConfig = LOCAL,
): AggregatorDeps & Recorded {
  const base: AggregatorDeps & Recorded = {
    ...prepareAggregator(config),
    ...recorded(),
    kinesis: new KinesisClient(region),
    now: fixedNow,
    sleep: noSleep,
    policy: { maxAttempts: 2 },
  };
  return { ...base, ...overrides };
}

/** The local config's validator, its schemas compiled from config/schemas once. */
const validatorSchemas = compileSchemas(
  LOCAL.eventValidator as NonNullable<PipelineConfig['eventValidator']>,
  schemaFileReader(),
);

export function validatorTestDeps(overrides: Overrides<ValidatorDeps> = {}): ValidatorDeps & Recorded {
  const base: ValidatorDeps & Recorded = {
    config: LOCAL,
    schemas: validatorSchemas,
    ...recorded(),
    eventBridge: new EventBridgeClient(region),
    kinesis: new KinesisClient(region),
    now: fixedNow,
    busArn: 'arn:aws:events:us-east-1:123456789012:event-bus/central-local',
    traceHeader: () => 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1',
    sleep: noSleep,
    policy: { maxAttempts: 3 },
  };
  return { ...base, ...overrides };
}

const LOCAL_TRANSFORM = LOCAL.firehoseTransform as NonNullable<PipelineConfig['firehoseTransform']>;

/** The local config's Firehose transform, keyed with a test key, unless `transform` is given. */
export function transformTestDeps(
  transform?: RecordTransform,
  overrides: Overrides<TransformDeps> = {},
): TransformDeps & Recorded {
  const base: TransformDeps & Recorded = {
    transform: transform ?? compileTransform(LOCAL_TRANSFORM, TEST_HASH_KEY),
    ...recorded(),
    kinesis: new KinesisClient(region),
    firehose: new FirehoseClient(region),
    sleep: noSleep,
    policy: { maxAttempts: 3 },
  };
  return { ...base, ...overrides };
}
