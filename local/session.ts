/**
 * A local session: the config for the `local` stage, the emulators, and the environment
 * a deployed function would have (stage, parameters, and the standard endpoint variables),
 * set before any handler module is imported.
 */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { SQSClient } from '@aws-sdk/client-sqs';
import { keepAliveHandler } from '../shared/core/aws-clients.js';
import { loadStageConfig, type StageConfig } from '../tools/lib/config-files.js';
import { type LocalAws, startLocalAws } from './emulators.js';

export const LOCAL_STAGE = 'local';

export interface LocalSession {
  aws: LocalAws;
  stage: StageConfig;
  kinesis: KinesisClient;
  sqs: SQSClient;
  stop(): Promise<void>;
}

export async function startLocalSession(
  overrides: Record<string, string> = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<LocalSession> {
  const stage = loadStageConfig(LOCAL_STAGE, overrides);
  const region = stage.ctx.params.region ?? 'us-east-1';
  const accountId = stage.ctx.params.accountId ?? '123456789012';
  const aws = await startLocalAws({ region, accountId });
  Object.assign(env, aws.env, {
    PIPELINE_STAGE: LOCAL_STAGE,
    PIPELINE_PARAMS: JSON.stringify(stage.functionParams),
    // Locally the transform's hash key comes from here, not from SSM. Not a secret: local only.
    PIPELINE_HASH_KEY: 'local-only-hash-key',
  });
  const common = { region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  const kinesis = new KinesisClient({
    ...common,
    endpoint: aws.kinesis.endpoint,
    requestHandler: keepAliveHandler(),
  });
  const sqs = new SQSClient({ ...common, endpoint: aws.sqs.endpoint, requestHandler: keepAliveHandler() });
  return {
    aws,
    stage,
    kinesis,
    sqs,
    stop: async () => {
      kinesis.destroy();
      sqs.destroy();
      await aws.stop();
    },
  };
}
