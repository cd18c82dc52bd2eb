/**
 * Clients only the Firehose transform needs, kept apart so that other functions' bundles
 * do not carry them: Firehose for re-ingestion, SSM for the hash key.
 */
import { FirehoseClient, type FirehoseClientConfig } from '@aws-sdk/client-firehose';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { keepAliveHandler } from './aws-clients.js';
import { SecretUnavailableError, toError } from './errors.js';

/** A Firehose client for re-ingestion; retries are the writer's, as for Kinesis. */
export function createFirehoseClient(overrides: FirehoseClientConfig = {}): FirehoseClient {
  const client = new FirehoseClient({ requestHandler: keepAliveHandler(), maxAttempts: 1, ...overrides });
  client.middlewareStack.remove('loggerMiddleware');
  return client;
}

/**
 * A secret for the handler, read once per container: from `envName` when set (local runs,
 * tests), else from the SSM SecureString `parameter`. Never logged.
 */
export function secretLoader(envName: string, parameter: string | undefined, env: NodeJS.ProcessEnv) {
  let loading: Promise<Buffer> | undefined;
  return (): Promise<Buffer> => {
    loading ??= (async () => {
      const fromEnv = env[envName];
      if (fromEnv) return Buffer.from(fromEnv, 'utf8');
      if (!parameter)
        throw new SecretUnavailableError(`No ${envName} and no SSM parameter configured for the secret`);
      const ssm = new SSMClient({ requestHandler: keepAliveHandler() });
      const response = await ssm
        .send(new GetParameterCommand({ Name: parameter, WithDecryption: true }))
        .catch((error: unknown) => {
          const why = toError(error).message;
          throw new SecretUnavailableError(`Cannot read SSM parameter ${parameter}: ${why}`, {
            cause: error,
          });
        })
        .finally(() => ssm.destroy());
      const value = response.Parameter?.Value;
      if (!value) throw new SecretUnavailableError(`SSM parameter ${parameter} is empty`);
      return Buffer.from(value, 'utf8');
    })().catch((error) => {
      loading = undefined; // let the next invocation try again
      throw error;
    });
    return loading;
  };
}
