// The esbuild plugins serverless-esbuild builds each function with (serverless.yml,
// custom.esbuild.plugins): the stage's checked config and the validator's standalone schemas
// are embedded in the bundles (infra/bundle-embedding.ts). The config is the one the template
// is derived from, checked once per command line by infra/serverless.cjs.
const path = require('node:path');
const { derive, embeddingPlugin } = require('./serverless.cjs');

module.exports = (serverless) => {
  const { config } = derive(serverless.service.service, serverless.processedInput.options);
  return [embeddingPlugin({ config, root: path.join(__dirname, '..') })];
};
