/** The Kinesis streams of the template: the declared ones and the DLQ stream, encrypted. */
import type { PipelineConfig, StreamSettings } from '../shared/core/config/schema.js';
import { type Cfn, getAtt, logicalId } from './cfn.js';

export const DLQ_STREAM_ID = 'DLQStream';
const KINESIS_MANAGED_KEY = 'alias/aws/kinesis';

/** Logical ids of the declared streams, by resolved stream name, from the file's own keys. */
export function streamLogicalIds(raw: unknown, config: PipelineConfig): Map<string, string> {
  const rawStreams = (raw as { streams?: Record<string, unknown> }).streams ?? {};
  const rawKeys = Object.keys(rawStreams);
  const ids = new Map<string, string>();
  const used = new Set<string>([DLQ_STREAM_ID]);
  Object.keys(config.streams).forEach((name, i) => {
    const base = `${logicalId(rawKeys[i] ?? name) || 'Target'}Stream`;
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}${n}`;
    used.add(id);
    ids.set(name, id);
  });
  return ids;
}

export function streamResource(name: string, settings: StreamSettings): Cfn {
  const properties: Cfn = {
    Name: name,
    RetentionPeriodHours: settings.retentionHours,
    StreamEncryption: { EncryptionType: 'KMS', KeyId: KINESIS_MANAGED_KEY },
    StreamModeDetails: { StreamMode: settings.capacity.mode },
  };
  if (settings.capacity.mode === 'PROVISIONED') properties.ShardCount = settings.capacity.shards;
  if (settings.maxRecordSizeKiB !== 1024) properties.MaxRecordSizeInKiB = settings.maxRecordSizeKiB;
  return { Type: 'AWS::Kinesis::Stream', Properties: properties };
}

/** A stream's ARN: an ARN as given, else the attribute of the stream this template declares. */
export type StreamArnOf = (name: string) => string | Cfn;

/** Every stream (the DLQ stream first) as a resource, their name outputs, and their ARNs by name. */
export function streamsPart(raw: unknown, config: PipelineConfig) {
  const ids = streamLogicalIds(raw, config);
  const resources: Cfn = { [DLQ_STREAM_ID]: streamResource(config.dlq.stream, config.dlq.settings) };
  const outputs: Cfn = { DLQStreamName: { Value: { Ref: DLQ_STREAM_ID } } };
  for (const [name, settings] of Object.entries(config.streams)) {
    const id = ids.get(name) as string;
    resources[id] = streamResource(name, settings);
    outputs[`${id}Name`] = { Value: { Ref: id } };
  }
  const arnOf: StreamArnOf = (name) => {
    if (name.startsWith('arn:')) return name;
    return getAtt((name === config.dlq.stream ? DLQ_STREAM_ID : ids.get(name)) as string, 'Arn');
  };
  return { resources, outputs, arnOf };
}
