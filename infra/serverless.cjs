// Bridge from serverless.yml (which loads only CommonJS) to the TypeScript that derives
// functions and resources from config/pipeline.json. Used as ${file(./infra/serverless.cjs):<part>}.
//
// serverless.yml asks for three parts (region, functions, resources), each a call here: the
// config is checked once per command line, so an error or a warning is printed once. A config
// error is a user's mistake, not a crash: its lines are printed without a stack trace and the
// command stops.
const path = require('node:path');
const tsx = require('tsx/cjs/api');

// Registered for the whole process rather than through tsx.require's private module cache: the
// package step generates Ajv standalone code (infra/bundle-embedding.ts), which works only when
// Ajv's compiler and its code generator are the same module instances, and osls loads Ajv too.
tsx.register();
const { packageTime, embeddingPlugin } = require('./package-time.ts');

const results = new Map();

function derive(service, options) {
  const stage = options.stage || 'dev';
  const cliParams = [].concat(options.param || []);
  const key = JSON.stringify([service, stage, cliParams, options.region]);
  if (!results.has(key)) {
    try {
      const result = packageTime({
        service,
        stage,
        cliParams,
        region: options.region,
        root: path.join(__dirname, '..'),
      });
      for (const warning of result.warnings) process.stderr.write(`config warning: ${warning}\n`);
      results.set(key, result);
    } catch (error) {
      if (error?.code !== 'CONFIG_INVALID') throw error;
      process.stderr.write(
        `\nConfig error (stage ${stage}):\n${error.message}\n\nNothing was packaged or deployed.\n`,
      );
      process.exit(1);
    }
  }
  return results.get(key);
}

module.exports = async ({ options, resolveVariable }) =>
  derive(await resolveVariable('self:service'), options);
module.exports.derive = derive;
// For infra/esbuild-plugins.cjs, loaded with the same modules as the config it embeds.
module.exports.embeddingPlugin = embeddingPlugin;
