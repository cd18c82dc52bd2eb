import { describe, expect, it } from 'vitest';
import { packageTime } from '../../infra/package-time.js';
import {
  CONFIG_DIGEST_VARIABLE,
  configTextDigest,
  embeddedConfig,
  embeddedConfigText,
} from '../../shared/core/config/embedded.js';
import { ConfigError } from '../../shared/core/errors.js';
import { loadStageConfig } from '../../tools/lib/config-files.js';

describe.each(['dev', 'prod', 'local'])('the config embedded for stage %s', (stage) => {
  const { config } = loadStageConfig(stage);
  const text = embeddedConfigText(config);

  it('is the checked config, unchanged by going through JSON', () => {
    // Act
    const loaded = embeddedConfig(text, { [CONFIG_DIGEST_VARIABLE]: configTextDigest(text) });
    // Assess
    expect(loaded).toStrictEqual(config);
  });

  it('is refused without its digest, or with another', () => {
    // Act / Assess
    expect(() => embeddedConfig(text, {})).toThrow(ConfigError);
    expect(() => embeddedConfig(text, {})).toThrow(
      `${CONFIG_DIGEST_VARIABLE}: environment variable is not set`,
    );
    expect(() => embeddedConfig(`${text} `, { [CONFIG_DIGEST_VARIABLE]: configTextDigest(text) })).toThrow(
      `${CONFIG_DIGEST_VARIABLE}: the bundled config`,
    );
  });

  it("has its digest in every function's environment in the template", () => {
    // Act
    const { functions } = packageTime({
      service: 'streaming-pipeline',
      stage,
      cliParams: [],
      root: process.cwd(),
    });
    // Assess
    const digests = Object.values(
      functions as Record<string, { environment?: Record<string, string> }>,
    ).flatMap((fn) => (fn.environment ? [fn.environment[CONFIG_DIGEST_VARIABLE]] : []));
    expect(digests.length).toBeGreaterThanOrEqual(4);
    expect(new Set(digests)).toEqual(new Set([configTextDigest(text)]));
  });
});
