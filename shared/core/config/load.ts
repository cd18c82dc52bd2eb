/**
 * Turning the raw config file into a validated, typed config for one stage.
 *
 * Strings in the file may hold `${stage}` and `${param:NAME}` placeholders; their values
 * come from the stage (config/stages.json, `--param` on the command line, or, in a
 * deployed function, the PIPELINE_STAGE / PIPELINE_PARAMS environment variables that
 * the package step derives from the same place). Nothing stage-specific lives in code.
 */
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { defineOwn, formatPath } from '../json-path.js';
import { crossFieldIssues } from './rules.js';
import { configSchema, type PipelineConfig } from './schema.js';

export interface StageContext {
  stage: string;
  params: Readonly<Record<string, string>>;
}

export interface CheckedConfig {
  config: PipelineConfig;
  warnings: string[];
}

const PLACEHOLDER = /\$\{(stage|param:([A-Za-z0-9_]+))\}/g;

/** Names of every `${param:NAME}` the raw config uses. */
export function referencedParams(raw: unknown): string[] {
  const names = new Set<string>();
  walkStrings(raw, [], (value) => {
    for (const match of value.matchAll(PLACEHOLDER)) if (match[2]) names.add(match[2]);
    return value;
  });
  return [...names].sort();
}

/** Replaces placeholders; an unknown param is an issue naming the key that uses it. */
export function resolvePlaceholders(raw: unknown, ctx: StageContext): unknown {
  const issues: string[] = [];
  const resolved = walkStrings(raw, [], (value, path) =>
    value.replace(PLACEHOLDER, (whole, _kind: string, param: string | undefined) => {
      if (param === undefined) return ctx.stage;
      const found = ctx.params[param];
      if (found === undefined) {
        issues.push(
          `${formatPath(path)}: uses \${param:${param}}, which stage "${ctx.stage}" does not define`,
        );
        return whole;
      }
      return found;
    }),
  );
  if (issues.length > 0) throw new ConfigError(issues);
  return resolved;
}

/** Schema issues as `path: message` lines. */
export function schemaIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = formatPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      return `${path}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    }
    if (issue.code === 'invalid_key') {
      return `${path}: the key ${issue.issues.map((inner) => inner.message).join('; ')}`;
    }
    return `${path}: ${issue.message}`;
  });
}

/**
 * Validates a raw config for a stage: placeholders, schema, then the cross-field rules.
 * Throws one ConfigError listing every problem found; returns warnings separately.
 */
export function checkConfig(raw: unknown, ctx: StageContext): CheckedConfig {
  const parsed = configSchema.safeParse(resolvePlaceholders(raw, ctx));
  if (!parsed.success) throw new ConfigError(schemaIssues(parsed.error), { cause: parsed.error });
  const { errors, warnings } = crossFieldIssues(parsed.data);
  if (errors.length > 0) throw new ConfigError(errors);
  return { config: parsed.data, warnings };
}

export function parseConfig(raw: unknown, ctx: StageContext): PipelineConfig {
  return checkConfig(raw, ctx).config;
}

/** The stages config/stages.json declares (every key but `default`). */
export function knownStages(stagesFile: Record<string, unknown>): string[] {
  return Object.keys(stagesFile)
    .filter((name) => name !== 'default')
    .sort();
}

/** Parameters the template reads with a type: a value of another shape is an error, not a default. */
const PARAM_TYPES: [test: (name: string) => boolean, valid: RegExp, what: string][] = [
  [(name) => name === 'openSearch', /^(true|false)$/, 'true or false'],
  [(name) => name === 'region', /^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1'],
  [(name) => name === 'alarmEmail', /^$|^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'an email address, or empty'],
  [(name) => /^([a-z][A-Za-z0-9]*)?[aA]ccountId$/.test(name), /^\d{12}$/, 'a 12-digit AWS account id'],
];

/** Type errors of `params`, each naming where the value came from. */
function paramIssues(params: Record<string, string>, origin: (name: string) => string): string[] {
  const issues: string[] = [];
  for (const [name, value] of Object.entries(params)) {
    const type = PARAM_TYPES.find(([test]) => test(name));
    if (type && !type[1].test(value)) issues.push(`${origin(name)}: must be ${type[2]}, got "${value}"`);
  }
  return issues;
}

/**
 * The stage's parameters: `default`, overlaid by the stage's own, overlaid by overrides
 * (`--param`). The stage must be declared in the stages file, so that a typo never deploys
 * with the default parameters; typed parameters are checked wherever they come from.
 */
export function stageParams(
  stagesFile: unknown,
  stage: string,
  overrides: Readonly<Record<string, string>> = {},
): Record<string, string> {
  if (!isPlainObject(stagesFile)) throw new ConfigError(['config/stages.json: must be an object of stages']);
  const known = knownStages(stagesFile);
  if (!known.includes(stage)) {
    throw new ConfigError([
      `stage "${stage}" is not in config/stages.json (known stages: ${known.join(', ')}); add it there, even as "${stage}": {}`,
    ]);
  }
  const pick = (name: string): Record<string, string> => {
    const value = stagesFile[name];
    if (value === undefined) return {};
    if (!isPlainObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
      throw new ConfigError([`config/stages.json: ${name}: must map parameter names to strings`]);
    }
    return value as Record<string, string>;
  };
  const fromFile = { ...pick('default'), ...pick(stage) };
  const issues = [
    ...paramIssues(pick('default'), (name) => `config/stages.json: default.${name}`),
    ...paramIssues(pick(stage), (name) => `config/stages.json: ${stage}.${name}`),
    ...paramIssues({ ...overrides }, (name) => `--param ${name}`),
  ];
  if (issues.length > 0) throw new ConfigError(issues);
  return { ...fromFile, ...overrides };
}

/**
 * The deployed function's view: the stage and parameters come from environment
 * variables set by the package step. Throws a ConfigError naming the variable or key.
 */
export function configFromEnvironment(raw: unknown, env: NodeJS.ProcessEnv): PipelineConfig {
  const stage = env.PIPELINE_STAGE;
  if (!stage) throw new ConfigError(['PIPELINE_STAGE: environment variable is not set']);
  let params: unknown = {};
  if (env.PIPELINE_PARAMS) {
    try {
      params = JSON.parse(env.PIPELINE_PARAMS);
    } catch (cause) {
      throw new ConfigError(['PIPELINE_PARAMS: is not valid JSON'], { cause });
    }
  }
  if (!isPlainObject(params) || !Object.values(params).every((v) => typeof v === 'string')) {
    throw new ConfigError(['PIPELINE_PARAMS: must be a JSON object of strings']);
  }
  return parseConfig(raw, { stage, params: params as Record<string, string> });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function walkStrings(
  value: unknown,
  path: PropertyKey[],
  fn: (value: string, path: PropertyKey[]) => string,
): unknown {
  if (typeof value === 'string') return fn(value, path);
  if (Array.isArray(value)) return value.map((item, i) => walkStrings(item, [...path, i], fn));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // Keys may hold placeholders too (stream names are keys of `streams`).
      const resolvedKey = fn(key, [...path, key]);
      // Not plain assignment: a "__proto__" key stays a plain key (and is then rejected).
      defineOwn(out, resolvedKey, walkStrings(item, [...path, key], fn));
    }
    return out;
  }
  return value;
}
