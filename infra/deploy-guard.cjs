// A local Serverless plugin: `serverless deploy function -f NAME` is refused when the config
// differs from the one the deployed stack was made from (the stack output ConfigDigest).
// The config is bundled into each function, but it also drives event sources, IAM, streams
// and alarms, which only a full `serverless deploy` updates.
const tsx = require('tsx/cjs/api');

const { deployFunctionProblem } = tsx.require('./package-time.ts', __filename);
const { derive } = require('./serverless.cjs');

class DeployGuard {
  constructor(serverless, options) {
    this.serverless = serverless;
    this.options = options;
    this.hooks = { 'before:deploy:function:initialize': () => this.check() };
  }

  async check() {
    const provider = this.serverless.getProvider('aws');
    const { digest } = derive(this.serverless.service.service, this.options);
    const stackName = provider.naming.getStackName();
    const described = await provider.request('CloudFormation', 'describeStacks', { StackName: stackName });
    const problem = deployFunctionProblem(
      this.options.stage || 'dev',
      digest,
      described?.Stacks?.[0]?.Outputs,
    );
    if (problem) throw new this.serverless.classes.Error(`Refusing deploy function: ${problem}`);
  }
}

module.exports = DeployGuard;
