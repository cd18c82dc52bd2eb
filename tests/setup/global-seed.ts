/** Global setup: settles the run's seed once, prints it, and hands it to every worker. */
import { seedFromEnvironment } from './seed.js';

export default function setup(): void {
  const seed = seedFromEnvironment(process.env);
  process.env.SEED = String(seed);
  console.log(`generated tests: seed ${seed} (replay with SEED=${seed} npm test)`);
}
