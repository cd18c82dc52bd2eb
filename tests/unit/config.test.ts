import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  checkConfig,
  configFromEnvironment,
  referencedParams,
  resolvePlaceholders,
  stageParams,
} from '../../shared/core/config/load.js';
import { ConfigError } from '../../shared/core/errors.js';
import { loadStageConfig, readStages } from '../../tools/lib/config-files.js';
import { configJsonSchemaText, JSON_SCHEMA_FILE } from '../../tools/lib/json-schema.js';
import { queueArn, type RawConfig, rawTestConfig } from '../helpers/fixtures.js';

const ctx = { stage: 'test', params: {} };

/** The issues a raw config raises (fails the test if it raises none). */
function issuesOf(raw: unknown, context = ctx): string[] {
  try {
    checkConfig(raw, context);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).issues];
  }
  throw new Error('expected the config to be rejected');
}

describe('config file', () => {
  it('is valid for every stage the stages file defines', () => {
    // Prepare
    const stages = Object.keys(readStages()).filter((s) => s !== 'default');
    // Act / Assess
    for (const stage of ['dev', ...stages]) {
      const { config } = loadStageConfig(stage);
      expect(config.sqsToKinesis?.routes.length).toBeGreaterThan(0);
      expect(config.dlq.stream).toBe(`pipeline-dlq-${stage}`);
    }
  });

  it('takes account ids from the stage, not from code', () => {
    // Act
    const dev = loadStageConfig('dev').config.sqsToKinesis?.routes[1]?.queueArn;
    const prod = loadStageConfig('prod').config.sqsToKinesis?.routes[1]?.queueArn;
    // Assess
    expect(dev).toBe('arn:aws:sqs:eu-west-1:222222222222:clicks');
    expect(prod).toBe('arn:aws:sqs:eu-west-1:444444444444:clicks');
    // Act
    const overridden = loadStageConfig('dev', { partnerAccountId: '999999999999' });
    // Assess
    expect(overridden.config.sqsToKinesis?.routes[1]?.queueArn).toContain(':999999999999:');
    expect(overridden.functionParams.partnerAccountId).toBe('999999999999');
  });

  it('has an up-to-date JSON Schema for editors', () => {
    // Act / Assess
    expect(readFileSync(JSON_SCHEMA_FILE, 'utf8')).toBe(configJsonSchemaText());
    const schema = JSON.parse(configJsonSchemaText());
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['streams', 'dlq', 'sqsToKinesis', 'metricsNamespace']),
    );
  });
});

describe('config validation', () => {
  it('accepts the minimal config and fills in defaults', () => {
    // Act
    const { config, warnings } = checkConfig(rawTestConfig(), ctx);
    // Assess
    const route = config.sqsToKinesis?.routes[0];
    expect(route?.eventSource).toEqual({ batchSize: 10 });
    expect(route?.body).toEqual({ format: 'json' });
    expect(config.streams['events-test']?.maxRecordSizeKiB).toBe(1024);
    expect(warnings).toEqual([]);
  });

  it('rejects an unknown key and names its path', () => {
    // Act
    const issues = issuesOf(
      rawTestConfig((raw) => {
        raw.sqsToKinesis.routes[0].eventSource = { batchsize: 5 };
      }),
    );
    // Assess
    expect(issues).toEqual(['sqsToKinesis.routes[0].eventSource: unknown key "batchsize"']);
  });

  it('rejects a bad value and names its path', () => {
    // Act
    const issues = issuesOf(
      rawTestConfig((raw) => {
        raw.sqsToKinesis.routes[0].queueArn = 'arn:aws:sqs:us-east-1:12345:events';
        raw.streams['events-${stage}'] = { maxRecordSizeKiB: 20_000 };
      }),
    );
    // Assess
    expect(issues.join('\n')).toContain('sqsToKinesis.routes[0].queueArn: must be an SQS queue ARN');
    expect(issues.join('\n')).toContain('streams.events-test.maxRecordSizeKiB');
  });

  it('rejects a "__proto__" key instead of letting it reach a prototype', () => {
    // Prepare
    const raw = JSON.parse('{"dlq":{"stream":"d","__proto__":{"polluted":true}}}');
    // Act / Assess
    expect(issuesOf(raw)).toContain('dlq: unknown key "__proto__"');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('names the key that uses an undefined stage parameter', () => {
    // Prepare
    const raw = rawTestConfig((r) => {
      r.sqsToKinesis.routes[0].queueArn = 'arn:aws:sqs:us-east-1:${param:partner}:events';
    });
    // Act / Assess
    expect(referencedParams(raw)).toEqual(['partner']);
    expect(issuesOf(raw)).toEqual([
      'sqsToKinesis.routes[0].queueArn: uses ${param:partner}, which stage "test" does not define',
    ]);
    const resolved = resolvePlaceholders(raw, {
      stage: 'x',
      params: { partner: '111122223333' },
    }) as typeof raw;
    expect(resolved.sqsToKinesis.routes[0].queueArn).toBe('arn:aws:sqs:us-east-1:111122223333:events');
    expect(Object.keys(resolved.streams)).toEqual(['events-x']);
  });

  it('requires a batching window for a batch size over 10 on a standard queue', () => {
    // Act
    const issues = issuesOf(
      rawTestConfig((raw) => {
        raw.sqsToKinesis.routes[0].eventSource = { batchSize: 100 };
      }),
    );
    // Assess
    expect(issues).toEqual([
      'sqsToKinesis.routes[0].eventSource.maximumBatchingWindowInSeconds: a batch size over 10 needs a batching window of at least 1 second',
    ]);
    // Prepare
    const ok = rawTestConfig((raw) => {
      raw.sqsToKinesis.routes[0].eventSource = { batchSize: 100, maximumBatchingWindowInSeconds: 1 };
    });
    // Act / Assess
    expect(() => checkConfig(ok, ctx)).not.toThrow();
  });

  it('holds FIFO queues to at most 10 messages and no batching window', () => {
    // Act
    const issues = issuesOf(
      rawTestConfig((raw) => {
        raw.sqsToKinesis.routes[0].queueArn = queueArn('orders.fifo');
        raw.sqsToKinesis.routes[0].eventSource = { batchSize: 20, maximumBatchingWindowInSeconds: 5 };
      }),
    );
    // Assess
    expect(issues).toEqual([
      'sqsToKinesis.routes[0].eventSource.batchSize: a FIFO queue takes at most 10',
      'sqsToKinesis.routes[0].eventSource.maximumBatchingWindowInSeconds: not allowed on a FIFO queue',
    ]);
  });

  it('rejects a visibility timeout under the function timeout and warns under 6x', () => {
    // Act
    const issues = issuesOf(
      rawTestConfig((raw) => {
        raw.sqsToKinesis.routes[0].visibilityTimeoutSeconds = 20;
      }),
    );
    // Assess
    expect(issues[0]).toMatch(
      /^sqsToKinesis\.routes\[0\]\.visibilityTimeoutSeconds: 20s is below the function timeout/,
    );
    // Act
    const { warnings } = checkConfig(
      rawTestConfig((raw) => {
        raw.sqsToKinesis.routes[0].visibilityTimeoutSeconds = 60;
      }),
      ctx,
    );
    // Assess
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('under 6x the function timeout (180s)');
  });

  it('rejects partition-key rules that cannot produce a key', () => {
    // Act / Assess
    const groupOnStandard = issuesOf(
      rawTestConfig((raw) => {
        raw.sqsToKinesis.routes[0].partitionKey = { from: 'messageGroupId' };
      }),
    );
    expect(groupOnStandard).toEqual([
      'sqsToKinesis.routes[0].partitionKey.from: messageGroupId exists only on FIFO queues; this queue is standard',
    ]);
    const pathIntoRaw = issuesOf(
      rawTestConfig((raw) => {
        raw.sqsToKinesis.routes[0].body = { format: 'raw' };
      }),
    );
    expect(pathIntoRaw).toEqual([
      'sqsToKinesis.routes[0].partitionKey.path: a path into the body needs body.format "json"',
    ]);
    const emptySegment = issuesOf(
      rawTestConfig((raw) => {
        raw.sqsToKinesis.routes[0].partitionKey = { from: 'body', path: 'user..id' };
      }),
    );
    expect(emptySegment[0]).toMatch(/^sqsToKinesis\.routes\[0\]\.partitionKey\.path: must be a dotted path/);
    const badAttribute = issuesOf(
      rawTestConfig((raw) => {
        raw.sqsToKinesis.routes[0].partitionKey = { from: 'attribute', name: 'has space' };
      }),
    );
    expect(badAttribute[0]).toMatch(
      /^sqsToKinesis\.routes\[0\]\.partitionKey\.name: must be an SQS message attribute name/,
    );
  });

  it('rejects a target stream that is neither declared nor an ARN, and duplicate queues', () => {
    // Act
    const issues = issuesOf(
      rawTestConfig((raw) => {
        raw.sqsToKinesis.routes[0].target = 'nowhere';
        raw.sqsToKinesis.routes.push({ ...raw.sqsToKinesis.routes[0], name: 'second' });
      }),
    );
    // Assess
    expect(issues).toContain(
      'sqsToKinesis.routes[0].target: stream "nowhere" is not declared under streams; declare it there or give an existing stream\'s ARN',
    );
    expect(issues).toContain('sqsToKinesis.routes[1].queueArn: same queue as sqsToKinesis.routes[0]');
    // Prepare
    const external = rawTestConfig((raw) => {
      raw.sqsToKinesis.routes[0].target = 'arn:aws:kinesis:us-east-1:123456789012:stream/elsewhere';
    });
    // Act / Assess
    expect(() => checkConfig(external, ctx)).not.toThrow();
  });

  it('takes KPL aggregation on a stream a route writes to, with its defaults, and refuses what would not work', () => {
    // Act
    const { config } = checkConfig(
      rawTestConfig((raw) => {
        raw.streams['events-${stage}'].aggregation = { format: 'kpl' };
      }),
      ctx,
    );
    // Assess: the KPL's 50 KiB record, at most 1000 messages, a one-minute shard map.
    expect(config.streams['events-test']?.aggregation).toEqual({
      format: 'kpl',
      maxRecordBytes: 51_200,
      maxUserRecords: 1000,
      shardMapTtlSeconds: 60,
    });
    // Act / Assess: each mistake named by its key.
    const tooBig = issuesOf(
      rawTestConfig((raw) => {
        raw.streams['events-${stage}'].aggregation = { format: 'kpl', maxRecordBytes: 2 * 1024 * 1024 };
      }),
    );
    expect(tooBig).toContain(
      "streams.events-test.aggregation.maxRecordBytes: 2097152 is more than the stream's largest record (maxRecordSizeKiB 1024 = 1048576 bytes)",
    );
    const raised = rawTestConfig((raw) => {
      raw.streams['events-${stage}'] = {
        maxRecordSizeKiB: 2048,
        aggregation: { format: 'kpl', maxRecordBytes: 2 * 1024 * 1024 },
      };
    });
    expect(() => checkConfig(raised, ctx)).not.toThrow();
    const unread = issuesOf(
      rawTestConfig((raw) => {
        raw.streams['other-${stage}'] = { aggregation: { format: 'kpl' } };
      }),
    );
    expect(unread).toContain(
      'streams.other-test.aggregation: only sqs-to-kinesis aggregates its writes, and no route targets this stream',
    );
    const wrong = issuesOf(
      rawTestConfig((raw) => {
        raw.streams['events-${stage}'].aggregation = { format: 'protobuf', maxUserRecords: 1 };
      }),
    );
    expect(wrong.some((issue) => issue.startsWith('streams.events-test.aggregation.format:'))).toBe(true);
    expect(wrong.some((issue) => issue.startsWith('streams.events-test.aggregation.maxUserRecords:'))).toBe(
      true,
    );
    // The DLQ stream is read by the redrive tool, record by record: no aggregation there.
    const dlq = issuesOf(
      rawTestConfig((raw) => {
        raw.dlq.settings = { aggregation: { format: 'kpl' } };
      }),
    );
    expect(dlq.some((issue) => issue.startsWith('dlq.settings'))).toBe(true);
  });

  it('reads the stage from the environment in a deployed function, naming a missing variable', () => {
    // Prepare
    const raw = rawTestConfig();
    // Act / Assess
    expect(() => configFromEnvironment(raw, {})).toThrow(/PIPELINE_STAGE: environment variable is not set/);
    expect(() => configFromEnvironment(raw, { PIPELINE_STAGE: 'x', PIPELINE_PARAMS: '{oops' })).toThrow(
      /PIPELINE_PARAMS: is not valid JSON/,
    );
    const config = configFromEnvironment(raw, { PIPELINE_STAGE: 'prod', PIPELINE_PARAMS: '{}' });
    expect(config.dlq.stream).toBe('dlq-prod');
  });

  it('layers stage parameters: default, then the stage, then the command line', () => {
    // Prepare
    const stages = { default: { a: '1', b: '1' }, prod: { b: '2' } };
    // Act / Assess
    expect(stageParams(stages, 'prod', { c: '3' })).toEqual({ a: '1', b: '2', c: '3' });
    expect(() => stageParams({ prod: { b: 2 } }, 'prod')).toThrow(
      /prod: must map parameter names to strings/,
    );
  });

  it('refuses a stage the stages file does not declare, listing the known ones', () => {
    // Prepare
    const stages = { default: { a: '1' }, dev: {}, prod: {} };
    // Act / Assess
    for (const stage of ['prdo', 'staging', 'default']) {
      expect(() => stageParams(stages, stage)).toThrow(
        `stage "${stage}" is not in config/stages.json (known stages: dev, prod)`,
      );
    }
    expect(() => loadStageConfig('nosuch')).toThrow(/known stages: dev, local, prod/);
  });

  it.each([
    [{ openSearch: 'maybe' }, '--param openSearch: must be true or false, got "maybe"'],
    [{ region: 'Europe' }, '--param region: must be an AWS region such as eu-west-1, got "Europe"'],
    [{ accountId: '1234' }, '--param accountId: must be a 12-digit AWS account id, got "1234"'],
    [{ partnerAccountId: 'x' }, '--param partnerAccountId: must be a 12-digit AWS account id'],
    [{ alarmEmail: 'ops' }, '--param alarmEmail: must be an email address, or empty'],
  ])('refuses the typed parameter %j, naming it', (override, message) => {
    // Act / Assess
    expect(() => loadStageConfig('dev', override)).toThrow(message);
  });

  it('checks typed parameters in the stages file too, naming stage and key', () => {
    // Act / Assess
    expect(() => stageParams({ dev: { openSearch: 'yes' } }, 'dev')).toThrow(
      'config/stages.json: dev.openSearch: must be true or false, got "yes"',
    );
    expect(
      stageParams({ dev: { openSearch: 'true', alarmEmail: '' } }, 'dev', { region: 'us-east-1' }),
    ).toEqual({
      openSearch: 'true',
      alarmEmail: '',
      region: 'us-east-1',
    });
  });
});

describe('event validator config', () => {
  const withValidator = (sources: RawConfig, extra: RawConfig = {}) =>
    rawTestConfig((raw) => {
      raw.eventValidator = { centralBus: { name: 'central' }, sources, ...extra };
    });

  it('refuses input sources that could match an output source (loop guard)', () => {
    // Act / Assess
    expect(issuesOf(withValidator({ 'valid.orders': { detailTypes: {} } }))).toEqual([
      'eventValidator.sources.valid.orders: starts with the output prefix "valid."; republished events would loop',
    ]);
    const chained = withValidator({
      a: { detailTypes: {}, outputSource: 'b' },
      b: { detailTypes: {} },
    });
    expect(issuesOf(chained)).toEqual([
      'eventValidator.sources.b: is the output source of sources.a; republished events would loop',
    ]);
  });

  it('refuses wildcard or prefix patterns as input sources, and aws. sources', () => {
    // Act / Assess
    expect(issuesOf(withValidator({ 'cwi.*': { detailTypes: {} } }))[0]).toContain('no wildcards');
    expect(issuesOf(withValidator({ 'aws.ec2': { detailTypes: {} } }))).toEqual([
      'eventValidator.sources.aws.ec2: custom sources must not start with "aws."',
    ]);
  });

  it('refuses a consumer forwarding a source nothing republishes', () => {
    // Prepare
    const raw = withValidator(
      { 'cwi.a': { detailTypes: {} } },
      {
        consumers: [
          {
            name: 'b',
            busArn: 'arn:aws:events:eu-west-1:111122223333:event-bus/default',
            sources: ['valid.cwi.b'],
          },
        ],
      },
    );
    // Act / Assess
    expect(issuesOf(raw)).toEqual([
      'eventValidator.consumers[0].sources: "valid.cwi.b" is not an output source of any configured source',
    ]);
  });

  it('limits a producer account to configured input sources, naming the bad entry', () => {
    // Prepare
    const raw = withValidator(
      { 'cwi.a': { detailTypes: {} }, 'cwi.b': { detailTypes: {} } },
      {
        centralBus: {
          name: 'central',
          producerAccounts: ['111122223333', { account: '444455556666', sources: ['cwi.b', 'valid.cwi.a'] }],
        },
      },
    );
    // Act / Assess
    expect(issuesOf(raw)).toEqual([
      'eventValidator.centralBus.producerAccounts[1].sources: "valid.cwi.a" is not a configured input source',
    ]);
  });

  it('takes reject (default), accept and ignore for an unknown detail-type, and nothing else', () => {
    // Prepare
    const withSetting = (unknownDetailType?: string) =>
      withValidator({ 'cwi.a': { detailTypes: {}, ...(unknownDetailType ? { unknownDetailType } : {}) } });
    // Act / Assess
    expect(checkConfig(withSetting(), ctx).config.eventValidator?.sources['cwi.a']?.unknownDetailType).toBe(
      'reject',
    );
    for (const setting of ['reject', 'accept', 'ignore']) {
      const source = checkConfig(withSetting(setting), ctx).config.eventValidator?.sources['cwi.a'];
      expect(source?.unknownDetailType).toBe(setting);
    }
    expect(issuesOf(withSetting('drop'))[0]).toContain('eventValidator.sources.cwi.a.unknownDetailType');
  });
});

describe('npm run check-config', () => {
  const run = promisify(execFile);
  const tsx = join(process.cwd(), 'node_modules/.bin/tsx');
  const script = join(process.cwd(), 'tools/check-config.ts');

  it('passes on the project config and fails, naming the key, on a broken one', async () => {
    // Prepare: a copy of the config folder with one typo.
    const dir = mkdtempSync(join(tmpdir(), 'check-config-'));
    cpSync('config', join(dir, 'config'), { recursive: true });
    const good = await run(tsx, [script], { cwd: dir });
    expect(good.stdout).toContain('stage dev: ok');
    const raw = JSON.parse(readFileSync(join(dir, 'config/pipeline.json'), 'utf8'));
    raw.sqsToKinesis.routes[0].eventSource.batchSize = 20_000;
    writeFileSync(join(dir, 'config/pipeline.json'), JSON.stringify(raw));
    // Act
    const bad = await run(tsx, [script, '--stage', 'dev'], { cwd: dir }).catch((error) => error);
    // Assess
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('sqsToKinesis.routes[0].eventSource.batchSize');
  });

  it('fails on a schema that does not compile, naming it', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'check-config-'));
    cpSync('config', join(dir, 'config'), { recursive: true });
    writeFileSync(join(dir, 'config/schemas/cwi.servicea/NEW_WIDGET.json'), '{"type": "not-a-type"}');
    // Act
    const bad = await run(tsx, [script, '--stage', 'dev'], { cwd: dir }).catch((error) => error);
    // Assess
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('eventValidator.sources.cwi.servicea.detailTypes.NEW_WIDGET.schema');
    expect(bad.stderr).toContain('config/event-schemas.bundle.json is out of date');
  });
});
