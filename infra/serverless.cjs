// Bridge from serverless.yml (which loads only CommonJS) to the TypeScript that derives
// functions and resources from config/pipeline.json. Used as ${file(./infra/serverless.cjs):<part>}.
const path = require('node:path');
const tsx = require('tsx/cjs/api');

const { packageTime } = tsx.require('./package-time.ts', __filename);

module.exports = async ({ options, resolveVariable }) => {
  const service = await resolveVariable('self:service');
  const stage = options.stage || 'dev';
  const cliParams = [].concat(options.param || []);
  return packageTime({ service, stage, cliParams, root: path.join(__dirname, '..') });
};
