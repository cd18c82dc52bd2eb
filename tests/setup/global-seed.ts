/**
 * Global setup: settles the run's seed once, prints it, and hands it to every worker. Also
 * says once that the AWS SDK wants a newer Node, instead of letting each of the test
 * processes (workers, and the scripts and emulators they start) print the SDK's ten lines.
 */
import { quietSdkNodeWarning } from '../../local/text.js';
import { seedFromEnvironment } from './seed.js';

export default function setup(): void {
  const seed = seedFromEnvironment(process.env);
  process.env.SEED = String(seed);
  console.log(
    `generated tests: seed ${seed} (SEED=${seed} npm test makes the same inputs and fault decisions)`,
  );
  const note = quietSdkNodeWarning(process.env);
  if (note) console.log(`${note} (the SDK's own warning is silenced in the test processes)`);
}
