/**
 * Global setup: settles the run's seed once, prints it, and hands it to every worker. Also
 * says once that the AWS SDK wants a newer Node, instead of letting each of the test
 * processes (workers, and the scripts and emulators they start) print the SDK's ten lines.
 */
import { seedFromEnvironment } from './seed.js';

export default function setup(): void {
  const seed = seedFromEnvironment(process.env);
  process.env.SEED = String(seed);
  console.log(`generated tests: seed ${seed} (replay with SEED=${seed} npm test)`);
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 22 && process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED !== 'true') {
    console.log(
      `note: Node ${process.versions.node}: AWS SDK releases after the first week of January 2027 require Node 22 or later (the SDK's own warning is silenced in the test processes)`,
    );
  }
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
}
