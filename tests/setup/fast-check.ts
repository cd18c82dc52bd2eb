/** Every fast-check property in this worker runs with the run's seed (see global-seed.ts). */
import fc from 'fast-check';
import { seedFromEnvironment } from './seed.js';

fc.configureGlobal({ seed: seedFromEnvironment(process.env) });
