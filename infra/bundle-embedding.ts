/**
 * What the package step puts into each bundle in place of the code that, run from source,
 * checks things at cold start (an esbuild plugin, given to serverless-esbuild by
 * infra/esbuild-plugins.cjs):
 * - shared/core/config/deployed.ts becomes the stage's config, already checked and resolved,
 *   as JSON text checked against its digest at cold start (shared/core/config/embedded.ts);
 * - shared/event-validator/deployed-schemas.ts becomes Ajv's standalone code for the
 *   configured schemas, so the bundle carries neither Ajv's compiler nor a cold-start compile.
 * A config or a schema that does not pass fails here, at package time, with its key named.
 */
import { dirname, join } from 'node:path';
import standalone from 'ajv/dist/standalone/index.js';
import type { Plugin } from 'esbuild';
import { embeddedConfigText } from '../shared/core/config/embedded.js';
import type { PipelineConfig } from '../shared/core/config/schema.js';
import { compileEachSchema, schemaFileReader } from '../shared/event-validator/event-schemas.js';

/** Ajv's standalone code generator (a CommonJS module whose `default` is the function). */
const standaloneCode = standalone.default;

const SCHEMA_NAMESPACE = 'embedded-schema';

export interface EmbeddingInput {
  /** The checked, resolved config of the stage being packaged. */
  config: PipelineConfig;
  /** The project root: where the replaced files and the schema files are. */
  root: string;
}

/** The module that replaces deployed.ts: the config text, checked against its digest at cold start. */
export function deployedConfigModule(config: PipelineConfig): string {
  return [
    "import { embeddedConfig } from './embedded.js';",
    `const text = ${JSON.stringify(embeddedConfigText(config))};`,
    'export const deployedConfig = (env) => embeddedConfig(text, env);',
  ].join('\n');
}

/** Ajv standalone code for each configured schema, in the order of `deployedSchemasModule`'s imports. */
export function standaloneSchemas(config: PipelineConfig, root: string) {
  if (!config.eventValidator) return [];
  return compileEachSchema(config.eventValidator, schemaFileReader(root), { code: { source: true } }).map(
    ({ source, detailType, validate, engine }) => ({
      source,
      detailType,
      code: standaloneCode(engine, validate as Parameters<typeof standaloneCode>[1]),
    }),
  );
}

/** The module that replaces deployed-schemas.ts: a registry of the standalone validators. */
function deployedSchemasModule(schemas: readonly { source: string; detailType: string }[]): string {
  return [
    "import { registryOf } from './schema-registry.js';",
    ...schemas.map((_, i) => `import v${i} from '${SCHEMA_NAMESPACE}:${i}';`),
    `const entries = [${schemas.map((s, i) => `[${JSON.stringify(s.source)}, ${JSON.stringify(s.detailType)}, v${i}]`).join(', ')}];`,
    'export const deployedSchemas = () => registryOf(entries);',
  ].join('\n');
}

export function embeddingPlugin({ config, root }: EmbeddingInput): Plugin {
  const configFile = join(root, 'shared/core/config/deployed.ts');
  const schemasFile = join(root, 'shared/event-validator/deployed-schemas.ts');
  let schemas: ReturnType<typeof standaloneSchemas> | undefined;
  const generated = () => {
    schemas ??= standaloneSchemas(config, root);
    return schemas;
  };
  return {
    name: 'embed-checked-config',
    setup(build) {
      build.onLoad({ filter: /[\\/]deployed(-schemas)?\.ts$/ }, (args) => {
        if (args.path === configFile) {
          return { contents: deployedConfigModule(config), loader: 'js', resolveDir: dirname(args.path) };
        }
        if (args.path === schemasFile) {
          return {
            contents: deployedSchemasModule(generated()),
            loader: 'js',
            resolveDir: dirname(args.path),
          };
        }
        return undefined;
      });
      build.onResolve({ filter: new RegExp(`^${SCHEMA_NAMESPACE}:\\d+$`) }, (args) => ({
        path: args.path,
        namespace: SCHEMA_NAMESPACE,
      }));
      build.onLoad({ filter: /.*/, namespace: SCHEMA_NAMESPACE }, (args) => {
        const schema = generated()[Number(args.path.slice(SCHEMA_NAMESPACE.length + 1))];
        if (!schema) throw new Error(`no standalone schema for ${args.path}`);
        return { contents: schema.code, loader: 'js', resolveDir: root };
      });
    },
  };
}
