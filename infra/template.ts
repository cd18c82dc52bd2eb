/**
 * The parts of serverless.yml derived from the config: functions with their event sources
 * and environment, and the CloudFormation resources (streams, DLQ stream, alarms, one
 * least-privilege role per function). serverless.yml pulls them in through
 * infra/serverless.cjs, so adding a queue or a stream is one config edit and one deploy.
 * Each handler's part is in its own file; this one puts the parts together.
 */
import {
  CONFIG_DIGEST_VARIABLE,
  configTextDigest,
  embeddedConfigText,
} from '../shared/core/config/embedded.js';
import type { PipelineConfig } from '../shared/core/config/schema.js';
import { alarmsPart } from './alarms.js';
import type { Cfn, InfraPart } from './cfn.js';
import { eventBridgeInfra } from './eventbridge.js';
import { firehoseInfra } from './firehose.js';
import { aggregatorInfra } from './kinesis-aggregator.js';
import { mapperInfra } from './sqs-to-kinesis.js';
import { streamsPart } from './streams.js';
import { watchPart } from './watch.js';

export interface InfraInput {
  service: string;
  stage: string;
  /** The config file as written (its keys give stable logical ids). */
  raw: unknown;
  config: PipelineConfig;
  /** Stage parameters (alarmEmail, region, ...). */
  params: Readonly<Record<string, string>>;
  /** The parameters the config uses, as the deployed functions' PIPELINE_PARAMS (for reading only). */
  functionParams: Readonly<Record<string, string>>;
}

/** Each configured handler's part of the template. */
function handlerParts(input: InfraInput, streamArn: ReturnType<typeof streamsPart>['arnOf']) {
  const { config, service, stage } = input;
  // The bundles carry the checked config (infra/bundle-embedding.ts) and start only when its
  // digest is this one. The stage and its parameters are there to read: the bundles do not
  // resolve the config again.
  const environment = {
    [CONFIG_DIGEST_VARIABLE]: configTextDigest(embeddedConfigText(config)),
    PIPELINE_STAGE: stage,
    PIPELINE_PARAMS: JSON.stringify(input.functionParams),
    POWERTOOLS_LOG_LEVEL: 'INFO',
  };
  const dlqStreamArn = streamArn(config.dlq.stream);
  const { sqsToKinesis: mapper, firehoseTransform: transform, eventValidator: validator } = config;
  const aggregator = config.kinesisAggregator;
  const openSearch = input.params.openSearch === 'true';
  return [
    mapper &&
      mapperInfra({
        service,
        stage,
        mapper,
        dlq: config.dlq,
        streams: config.streams,
        streamArn,
        environment,
        params: input.params,
      }),
    transform && firehoseInfra({ service, stage, transform, openSearch, environment }),
    validator &&
      eventBridgeInfra({ service, stage, validator, dlqStreamArn: dlqStreamArn as Cfn, environment }),
    aggregator && aggregatorInfra({ service, stage, aggregator, streamArn, dlqStreamArn, environment }),
  ].filter((part): part is InfraPart => Boolean(part));
}

export function buildInfra(input: InfraInput): { functions: Cfn; resources: Cfn } {
  const streams = streamsPart(input.raw, input.config);
  const alarms = alarmsPart({ ...input, alarmEmail: input.params.alarmEmail });
  const functions: Cfn = {};
  const resources: Cfn = { ...streams.resources, ...alarms.resources };
  const outputs: Cfn = { ...streams.outputs, ...alarms.outputs };
  for (const part of handlerParts(input, streams.arnOf)) {
    Object.assign(functions, part.functions);
    Object.assign(resources, part.resources);
    Object.assign(outputs, part.outputs);
  }
  // Last: alarms and the dashboard are derived from everything the parts created.
  const watch = watchPart({
    service: input.service,
    stage: input.stage,
    config: input.config,
    resources,
    functions,
  });
  Object.assign(resources, watch.resources);
  Object.assign(outputs, watch.outputs);
  return { functions, resources: { Resources: resources, Outputs: outputs } };
}
