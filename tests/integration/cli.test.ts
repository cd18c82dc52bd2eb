/**
 * The project's scripts as a user calls them: a mistake on the command line stops the script
 * with one line and exit code 2 before it touches anything (no emulator is reachable: had a
 * script gone on, it would fail differently), and the redrive tool's dry run against the
 * emulated DLQ stream says what --yes would send, and sends nothing.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStreams } from '../../local/provision.js';
import { type LocalSession, startLocalSession } from '../../local/session.js';
import { readStream } from '../../local/stream-reader.js';
import { dlqEntry } from '../../shared/core/dlq.js';
import { loadStageConfig } from '../../tools/lib/config-files.js';

const execFileAsync = promisify(execFile);
const tsx = join(process.cwd(), 'node_modules/.bin/tsx');
/** Endpoints on a closed port: a script that tried to reach AWS would fail, not hang. */
const OFFLINE = {
  ...process.env,
  AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  AWS_ACCESS_KEY_ID: 'x',
  AWS_SECRET_ACCESS_KEY: 'x',
  AWS_MAX_ATTEMPTS: '1',
};

async function script(file: string, args: string[], env: NodeJS.ProcessEnv = OFFLINE) {
  return execFileAsync(tsx, [file, ...args], { env, timeout: 60_000, encoding: 'utf8' })
    .then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }))
    .catch((error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      stdout: error.stdout,
      stderr: error.stderr,
    }));
}

describe('the scripts refuse what they do not understand', () => {
  it.each([
    ['tools/redrive.ts', ['--sourc', 'clicks'], "redrive: Unknown option '--sourc'"],
    ['tools/redrive.ts', ['--since', 'notadate'], 'redrive: --since: "notadate" is not a time'],
    ['tools/redrive.ts', ['--until', '2026-13-45'], 'redrive: --until: "2026-13-45" is not a time'],
    ['tools/redrive.ts', ['--limit', 'abc'], 'redrive: --limit: "abc" is not a whole number of 1 or more'],
    ['tools/redrive.ts', ['--limit', '0'], 'redrive: --limit: "0" is not a whole number of 1 or more'],
    ['tools/redrive.ts', ['--from', 'yesterday'], 'redrive: --from: "yesterday" is not trim-horizon'],
    ['tools/redrive.ts', ['--reason', 'NOPE'], 'redrive: --reason: "NOPE" is not one of NO_ROUTE'],
    [
      'tools/redrive.ts',
      ['--stage', 'prdo'],
      'redrive: Invalid pipeline config:\n  - stage "prdo" is not in',
    ],
    ['tools/redrive.ts', ['--yes', 'now'], "redrive: Unexpected argument 'now'"],
    ['tools/check-config.ts', ['--stag', 'prod'], "check-config: Unknown option '--stag'"],
    [
      'tools/check-config.ts',
      ['--stage', 'nosuch'],
      'check-config: --stage nosuch: not in config/stages.json',
    ],
    ['tools/check-config.ts', ['--param', 'openSearch'], 'check-config: --param takes key=value'],
    ['local/run.ts', ['--onyl', 'x'], "start: Unknown option '--onyl'"],
    ['local/run.ts', ['--only', 'nope'], 'start: --only: "nope" is not one of sqs-to-kinesis'],
    ['local/run.ts', ['--seed', '3'], 'start: --seed sets the fault schedule: use it with --faults'],
    ['bench/run.ts', ['--only', 'nope'], 'bench: --only: "nope" is not one of'],
    ['bench/table.ts', [], 'bench:table: give at least one bench JSON file'],
    ['bench/table.ts', ['--last', 'a.json'], "bench:table: Unknown option '--last'"],
    ['tools/write-config-schema.ts', ['--check'], "config-schema: Unknown option '--check'"],
    ['bench/firehose-memory.ts', ['full', 'x', '9'], 'firehose-memory: --count: "x"'],
    ['tools/cost.ts', ['--stage', 'nope'], 'cost: --stage nope: not in config/stages.json'],
    ['tools/cost.ts', ['--param', 'x'], 'cost: --param takes key=value'],
    ['tools/mutate-group.ts', ['nope'], 'mutate:group: --group: "nope" is not one of write'],
    ['tools/mutate-group.ts', ['write', '--concurrency', 'x'], 'mutate:group: --concurrency: "x"'],
  ])('%s %j: one line, exit 2, nothing touched', async (file, args, message) => {
    // Act
    const result = await script(file, args);
    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr.startsWith(message), result.stderr).toBe(true);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.stdout).toBe('');
  });
});

describe('the redrive dry run', () => {
  let session: LocalSession;
  const stage = loadStageConfig('local');
  const dlq = stage.config.dlq.stream;
  beforeAll(async () => {
    session = await startLocalSession();
    await createStreams(session.kinesis, stage.config);
    const queue = stage.config.sqsToKinesis?.routes[0]?.queueArn as string;
    const entries = ['m-1', 'm-2'].map((id) =>
      dlqEntry(
        dlq,
        {
          reason: 'PARTITION_KEY_MISSING',
          message: 'no user.id',
          handler: 'sqs-to-kinesis',
          source: { type: 'sqs', arn: queue, id },
          payload: { encoding: 'utf8', data: '{"n":1}' },
        },
        new Date(),
      ),
    );
    await session.kinesis.send(
      new PutRecordsCommand({
        StreamName: dlq,
        Records: entries.map((e) => ({ PartitionKey: e.partitionKey, Data: Buffer.from(e.data as string) })),
      }),
    );
  }, 60_000);
  afterAll(async () => session?.stop());

  it('says what --yes would send where, and sends nothing', async () => {
    // Act
    const result = await script('tools/redrive.ts', ['--stage', 'local'], {
      ...process.env,
      AWS_ENDPOINT_URL_KINESIS: session.aws.kinesis.endpoint,
      AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:9',
      AWS_ACCESS_KEY_ID: 'x',
      AWS_SECRET_ACCESS_KEY: 'x',
    });
    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe(`2 envelopes in ${dlq} (us-east-1); 2 selected:`);
    expect(lines[1]).toMatch(
      /^ {5}2 {2}PARTITION_KEY_MISSING +-> sqs arn:aws:sqs:us-east-1:\d{12}:page-visits-local$/,
    );
    expect(lines[2]).toBe(
      `Dry run: nothing sent. With --yes, the 2 originals above would be sent back to the queue, stream or bus shown beside each; the envelopes stay in ${dlq}.`,
    );
    expect((await readStream(session.kinesis, dlq)).length).toBe(2);
  });
});
