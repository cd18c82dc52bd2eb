/**
 * One seed for every generated test: fast-check's property runs and the seeded fault
 * schedules. Fixed by default, so CI is never flaky and a red run replays as it was;
 * `SEED=<n> npm test` replays or explores another, `SEED=random` draws one (and prints it).
 */

/** The default seed: fixed, so that `npm test` makes the same runs every time. */
export const DEFAULT_SEED = 20261126;

/** The seed for this run, from `SEED` (a number, or `random`), else the default. */
export function seedFromEnvironment(env: Record<string, string | undefined>): number {
  const raw = env.SEED ?? env.ZERO_LOSS_SEED;
  if (raw === undefined || raw === '') return DEFAULT_SEED;
  if (raw === 'random') return Math.floor(Math.random() * 2 ** 31);
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`SEED must be an integer or "random", got "${raw}"`);
  return seed;
}
