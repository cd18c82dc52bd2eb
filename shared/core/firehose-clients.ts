/**
 * Clients only the Firehose transform needs, kept apart so that other functions' bundles
 * do not carry them: Firehose for re-ingestion, SSM (through Powertools Parameters) for the
 * hash key.
 */

import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { FirehoseClient, type FirehoseClientConfig } from '@aws-sdk/client-firehose';
import { SSMClient } from '@aws-sdk/client-ssm';
import { keepAliveHandler } from './aws-clients.js';
import { SecretUnavailableError, toError } from './errors.js';

/** A Firehose client for re-ingestion; retries are the writer's, as for Kinesis. */
export function createFirehoseClient(overrides: FirehoseClientConfig = {}): FirehoseClient {
  const client = new FirehoseClient({ requestHandler: keepAliveHandler(), maxAttempts: 1, ...overrides });
  client.middlewareStack.remove('loggerMiddleware');
  return client;
}

/** What a secret is read through: Powertools Parameters' SSM provider, or a stand-in in tests. */
export interface ParameterSource {
  get(name: string, options: { decrypt: true; maxAge: number }): Promise<string | undefined>;
}

/**
 * Powertools Parameters over SSM, on the keep-alive HTTP handler; made on the first read of the
 * secret (secretLoader), not at cold start. The modules are imported statically: behind a
 * dynamic import, esbuild keeps every export of the SSM client in the single-file bundle
 * (measured: 650 KB instead of 518 KB for the Firehose transform).
 */
export function ssmParameters(): ParameterSource {
  const provider = new SSMProvider({ awsSdkV3Client: new SSMClient({ requestHandler: keepAliveHandler() }) });
  return { get: (name, options) => provider.get(name, options) };
}

export interface SecretSettings {
  /** The environment variable that holds the secret in local runs and tests. */
  envName: string;
  /** The SSM SecureString that holds it in AWS, and the config key that names it. */
  parameter: string | undefined;
  configKey: string;
  /** How long a value read from SSM is used before it is read again (rotation). */
  maxAgeSeconds: number;
}

/**
 * A secret for the handler: from `envName` when set (local runs, tests), else from the SSM
 * SecureString, decrypted, through Powertools Parameters, which keeps it for
 * `maxAgeSeconds` and then reads it again, so a rotated key is picked up without a cold
 * start. Never logged. A secret that cannot be had names both places it could come from.
 */
export function secretLoader(
  settings: SecretSettings,
  env: NodeJS.ProcessEnv,
  source?: () => ParameterSource,
) {
  const { envName, parameter, configKey, maxAgeSeconds } = settings;
  const where = `set ${envName} (local runs), or ${parameter ? `create the SSM SecureString ${parameter}` : `name an SSM SecureString in ${configKey}`}`;
  let parameters: ParameterSource | undefined;
  return async (): Promise<Buffer> => {
    const fromEnv = env[envName];
    if (fromEnv) return Buffer.from(fromEnv, 'utf8');
    if (!parameter) throw new SecretUnavailableError(`No hash key: ${where}`);
    parameters ??= (source ?? ssmParameters)();
    const value = await parameters
      .get(parameter, { decrypt: true, maxAge: maxAgeSeconds })
      .catch((error: unknown) => {
        throw new SecretUnavailableError(
          `Cannot read the hash key from SSM parameter ${parameter} (${toError(error).message}): ${where}`,
          {
            cause: error,
          },
        );
      });
    if (!value) throw new SecretUnavailableError(`SSM parameter ${parameter} is empty: ${where}`);
    return Buffer.from(value, 'utf8');
  };
}
