/**
 * The error family: every error the bundle throws is a PipelineError with a stable code and
 * its cause kept, and nothing turns a failure into a silent success.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { outcomeError } from '../../shared/core/batch-writer.js';
import * as errors from '../../shared/core/errors.js';
import { secretLoader } from '../../shared/core/firehose-clients.js';
import { schemaBundleText } from '../../tools/lib/schema-bundle.js';

const { PipelineError, ConfigError, MappingError, toError } = errors;

/** One instance of every error class the module exports, built as the code builds it. */
function everyError(cause: unknown): [string, errors.PipelineError][] {
  return [
    ['ConfigError', new ConfigError(['a.b: bad'], { cause })],
    ['SecretUnavailableError', new errors.SecretUnavailableError('no key', { cause })],
    ['ResponseTooLargeError', new errors.ResponseTooLargeError('too big', { cause })],
    ['RetryLaterError', new errors.RetryLaterError('later', { cause })],
    ['WriteFailedError', new errors.WriteFailedError('refused', { cause })],
    ['EventShapeError', new errors.EventShapeError('expected x, got y', { cause })],
    ['MappingError', new MappingError('NO_ROUTE', 'no route', { cause })],
    ['PartitionKeyError', new errors.PartitionKeyError('PARTITION_KEY_MISSING', 'no key', { cause })],
    ['KplError', new errors.KplError('KPL_CORRUPT', 'corrupt', { cause })],
    ['SesEventError', new errors.SesEventError('not SES', { cause })],
  ];
}

describe('the error family', () => {
  it('gives every exported error class one base, a name, a code and its cause', () => {
    // Prepare: every class the module exports, found by reflection, so a new one is covered.
    const classes = (Object.entries(errors) as [string, unknown][]).filter(
      (entry): entry is [string, abstract new (...args: never[]) => Error] =>
        typeof entry[1] === 'function' && entry[1].prototype instanceof Error,
    );
    const built = everyError(new Error('root'));
    const direct = ['NoRouteError', 'OversizeRecordError', 'MissingFieldError'];
    // Assess
    expect(classes.map(([name]) => name).sort()).toEqual(
      ['PipelineError', ...built.map(([name]) => name), ...direct].sort(),
    );
    for (const [name, value] of classes) {
      if (value !== PipelineError) expect(value.prototype, name).toBeInstanceOf(PipelineError);
    }
    for (const [name, error] of built) {
      expect(error.name).toBe(name);
      expect(error.code, name).toMatch(/^[A-Z_]+$/);
      expect((error.cause as Error).message, name).toBe('root');
    }
    expect(new errors.NoRouteError('arn:q').code).toBe('NO_ROUTE');
    expect(new errors.OversizeRecordError(2, 1).code).toBe('RECORD_TOO_LARGE');
    expect(new errors.MissingFieldError('price').code).toBe('MISSING_FIELDS');
  });

  it('keeps a record error’s DLQ reason as its code', () => {
    // Act
    const error = new errors.KplError('KPL_BAD_MD5', 'md5');
    // Assess
    expect(error.reason).toBe('KPL_BAD_MD5');
    expect(error.code).toBe(error.reason);
    expect(error).toBeInstanceOf(MappingError);
  });

  it('turns any thrown value into an Error, keeping an Error as it is', () => {
    // Prepare
    const original = new TypeError('x');
    // Act / Assess
    expect(toError(original)).toBe(original);
    const fromString = toError('text');
    expect(fromString).toBeInstanceOf(Error);
    expect(fromString.message).toBe('text');
    expect(fromString.cause).toBe('text');
    expect(toError(undefined).message).toBe('undefined');
    expect(toError({ a: 1 }).cause).toEqual({ a: 1 });
  });

  it('describes each kind of unwritten entry', () => {
    // Act / Assess
    expect(
      outcomeError({ status: 'failed', errorCode: 'ThrottlingException', errorMessage: 'slow', attempts: 3 })
        .message,
    ).toBe('ThrottlingException: slow');
    expect(outcomeError({ status: 'oversize', size: 10, limit: 5 }).message).toBe(
      'entry too large (10 bytes, at most 5)',
    );
    expect(outcomeError(undefined).code).toBe('WRITE_FAILED');
  });
});

describe('failures that must stay loud', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('the schema bundle refuses a schema file it cannot read, naming it', () => {
    // Prepare: a config naming one good schema and one broken file.
    const root = mkdtempSync(join(tmpdir(), 'schemas-'));
    dirs.push(root);
    writeFileSync(join(root, 'good.json'), '{"type":"object"}');
    writeFileSync(join(root, 'broken.json'), '{"type":');
    const raw = (files: string[]) => ({
      eventValidator: {
        sources: { s: { detailTypes: Object.fromEntries(files.map((f, i) => [`d${i}`, { schema: f }])) } },
      },
    });
    // Act / Assess
    expect(JSON.parse(schemaBundleText(raw(['good.json']), root))).toEqual({
      'good.json': { type: 'object' },
    });
    for (const file of ['broken.json', 'missing.json']) {
      expect(() => schemaBundleText(raw(['good.json', file]), root)).toThrow(ConfigError);
      expect(() => schemaBundleText(raw(['good.json', file]), root)).toThrow(file);
    }
  });

  it('a hashing key that cannot be read names its SSM parameter, the local variable and keeps the cause', async () => {
    // Prepare
    const settings = {
      envName: 'PIPELINE_HASH_KEY',
      parameter: '/pipeline/hash-key',
      configKey: 'firehoseTransform.hashKeyParameter',
      maxAgeSeconds: 300,
    };
    const failing = () => ({ get: async () => Promise.reject(new Error('AccessDenied')) });
    // Act
    const error = await secretLoader(settings, {}, failing)().catch((thrown: unknown) => thrown);
    // Assess
    expect(error).toBeInstanceOf(errors.SecretUnavailableError);
    expect((error as Error).message).toBe(
      'Cannot read the hash key from SSM parameter /pipeline/hash-key (AccessDenied): set PIPELINE_HASH_KEY (local runs), or create the SSM SecureString /pipeline/hash-key',
    );
    expect(((error as Error).cause as Error).message).toBe('AccessDenied');
    // An empty parameter, or none configured, is refused the same way, naming where a key can come from.
    const empty = () => ({ get: async () => '' });
    await expect(secretLoader(settings, {}, empty)()).rejects.toThrow(
      'SSM parameter /pipeline/hash-key is empty: set PIPELINE_HASH_KEY (local runs)',
    );
    await expect(secretLoader({ ...settings, parameter: undefined }, {}, empty)()).rejects.toThrow(
      'No hash key: set PIPELINE_HASH_KEY (local runs), or name an SSM SecureString in firehoseTransform.hashKeyParameter',
    );
    // The environment wins when set, and SSM is then never asked.
    const never = () => {
      throw new Error('SSM asked');
    };
    expect((await secretLoader(settings, { PIPELINE_HASH_KEY: 'local' }, never)()).toString()).toBe('local');
  });

  it('reads the hash key decrypted, with the max age, through one provider (rotation within the max age)', async () => {
    // Prepare
    const calls: unknown[][] = [];
    let value = 'key-1';
    let made = 0;
    const source = () => {
      made++;
      return {
        get: async (...args: unknown[]) => {
          calls.push(args);
          return value;
        },
      };
    };
    const load = secretLoader(
      { envName: 'K', parameter: '/p', configKey: 'x', maxAgeSeconds: 60 },
      {},
      source,
    );
    // Act
    const first = (await load()).toString();
    value = 'key-2'; // rotated; the provider's cache decides when it is read again
    const second = (await load()).toString();
    // Assess
    expect([first, second]).toEqual(['key-1', 'key-2']);
    expect(made).toBe(1);
    expect(calls).toEqual([
      ['/p', { decrypt: true, maxAge: 60 }],
      ['/p', { decrypt: true, maxAge: 60 }],
    ]);
  });
});
