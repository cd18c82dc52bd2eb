/**
 * Command-line parsing for the project's scripts: `node:util` parseArgs in strict mode, so an
 * unknown option (`--sourc`), a missing value or a stray argument stops the script with one
 * line and exit code 2 before it touches anything. Values are checked the same way: a bad
 * date or number is a usage error, never a silent "select everything".
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** A mistake in how a script was called: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** The options every stage-aware script takes: `--stage NAME`, repeated `--param key=value`. */
export const STAGE_OPTIONS = {
  stage: { type: 'string' },
  param: { type: 'string', multiple: true },
} as const satisfies Options;

export interface Parsed<V> {
  values: V;
  positionals: string[];
}

/** Parses `argv` strictly against `options`; throws UsageError with parseArgs' own words. */
export function parseCli<const O extends Options>(
  argv: readonly string[],
  options: O,
  allowPositionals = false,
): Parsed<ReturnType<typeof parseArgs<{ options: O; strict: true }>>['values']> {
  try {
    const parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals });
    return { values: parsed.values, positionals: parsed.positionals };
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0] as string);
  }
}

/** `--param key=value` items as a map. */
export function paramsOf(items: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items ?? []) {
    const eq = item.indexOf('=');
    if (eq < 1) throw new UsageError(`--param takes key=value, got "${item}"`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** An ISO 8601 time, or a UsageError naming the option. */
export function timeOption(name: string, text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const at = /^\d{4}-\d\d-\d\d([T ][\d:.]+)?(Z|[+-]\d\d:?\d\d)?$/.test(text) ? new Date(text) : undefined;
  if (!at || Number.isNaN(at.getTime())) {
    throw new UsageError(
      `--${name}: "${text}" is not a time (ISO 8601, such as 2026-11-26 or 2026-11-26T10:00:00Z)`,
    );
  }
  return at;
}

/** A whole number from `min` up, or a UsageError naming the option. */
export function countOption(name: string, text: string | undefined, min = 1): number | undefined {
  if (text === undefined) return undefined;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`--${name}: "${text}" is not a whole number of ${min} or more`);
  }
  return value;
}

/** One of `allowed`, or a UsageError listing them. */
export function choiceOption<T extends string>(name: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) {
    throw new UsageError(`--${name}: "${text}" is not one of ${allowed.join(', ')}`);
  }
  return text as T;
}

/** A usage or config mistake as the one line a script prints for it, or undefined for other errors. */
function userMistake(script: string, usage: string, error: unknown): string | undefined {
  if (error instanceof UsageError) return `${script}: ${error.message}\nusage: ${usage}\n`;
  if ((error as { code?: unknown })?.code === 'CONFIG_INVALID')
    return `${script}: ${(error as Error).message}\n`;
  return undefined;
}

/**
 * For a script whose main is not one function (a long-running one): `check` parses and checks
 * the command line; a mistake prints its line and exits 2 before anything starts.
 */
export function checkedArgs<T>(script: string, usage: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    const line = userMistake(script, usage, error);
    if (line === undefined) throw error;
    process.stderr.write(line);
    process.exit(2);
  }
}

/**
 * Runs a script's main: a usage or config mistake prints one line (`<script>: <message>`) and
 * exits 2; anything else prints its name and message, without a stack trace, and exits 1.
 */
export async function runCli(
  script: string,
  usage: string,
  main: () => Promise<number> | number,
): Promise<never> {
  let code: number;
  try {
    code = await main();
  } catch (error) {
    const line = userMistake(script, usage, error);
    const err = error instanceof Error ? error : new Error(String(error));
    process.stderr.write(line ?? `${script}: ${err.name}: ${err.message}\n`);
    code = line === undefined ? 1 : 2;
  }
  process.exit(code);
}
