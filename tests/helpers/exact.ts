/**
 * A reference for exact arithmetic on doubles, written independently of shared/kinesis-aggregator/exact-sum.ts:
 * each double read as a rational num / 2^k by doubling it until it is whole, rationals kept
 * exactly in big integers, and "correctly rounded" checked by comparing distances to the
 * neighbouring doubles rather than by computing a rounding.
 */
import fc from 'fast-check';

export interface Rational {
  num: bigint;
  den: bigint; // > 0
}

/** The exact value of a finite double (doubling is exact until it is whole). */
export function rationalOf(x: number): Rational {
  let k = 0;
  let scaled = x;
  while (!Number.isInteger(scaled)) {
    scaled *= 2;
    k++;
  }
  return { num: BigInt(scaled), den: 1n << BigInt(k) };
}

export const add = (a: Rational, b: Rational): Rational => ({
  num: a.num * b.den + b.num * a.den,
  den: a.den * b.den,
});
export const mul = (a: Rational, b: Rational): Rational => ({ num: a.num * b.num, den: a.den * b.den });
export const div = (a: Rational, b: Rational): Rational =>
  b.num < 0n ? { num: -a.num * b.den, den: a.den * -b.num } : { num: a.num * b.den, den: a.den * b.num };
export const sumOf = (xs: readonly Rational[]): Rational => xs.reduce(add, { num: 0n, den: 1n });

/** |a - b| compared with |c - b|: negative when a is nearer to b. */
function compareDistance(a: Rational, c: Rational, b: Rational): number {
  const da = add(a, { num: -b.num, den: b.den });
  const dc = add(c, { num: -b.num, den: b.den });
  const left = (da.num < 0n ? -da.num : da.num) * dc.den;
  const right = (dc.num < 0n ? -dc.num : dc.num) * da.den;
  return left < right ? -1 : left > right ? 1 : 0;
}

const f64 = new Float64Array(1);
const i64 = new BigInt64Array(f64.buffer);
/** The next double away from zero (`up`) or towards it, for a finite non-zero x. */
function neighbour(x: number, away: boolean): number {
  f64[0] = x;
  i64[0] = (i64[0] as bigint) + (away ? 1n : -1n);
  return f64[0] as number;
}

/**
 * Whether `r` is the double nearest to `exact`, ties to even: no neighbour of `r` is nearer,
 * and on a tie `r`'s last significand bit is 0.
 */
export function isCorrectlyRounded(r: number, exact: Rational): boolean {
  if (!Number.isFinite(r)) return false;
  const candidates =
    r === 0 ? [Number.MIN_VALUE, -Number.MIN_VALUE] : [neighbour(r, true), neighbour(r, false)];
  for (const other of candidates.filter(Number.isFinite)) {
    const order = compareDistance(rationalOf(r), rationalOf(other), exact);
    if (order > 0) return false;
    if (order === 0) {
      f64[0] = r;
      if (((i64[0] as bigint) & 1n) === 1n) return false;
    }
  }
  return true;
}

/**
 * Doubles that make naive summation depend on order: mixed magnitudes (1e16 beside 1 and
 * 1e-16), cancellation (x and -x), decimals without an exact binary value (0.1, cents),
 * and anything in between; all within the range exact sums accept.
 */
export const awkwardDouble = (): fc.Arbitrary<number> =>
  fc.oneof(
    fc.constantFrom(1e16, -1e16, 2 ** 53, -(2 ** 53), 1, -1, 0.1, 0.2, 0.3, 1e-16, -1e-16, 0),
    fc.integer({ min: -10_000_000, max: 10_000_000 }).map((cents) => cents / 100),
    fc.double({ min: -1e20, max: 1e20, noNaN: true }),
    fc.double({ min: -1e-3, max: 1e-3, noNaN: true }),
  );

/** Positive weights of mixed magnitudes (quantities, fractional shares). */
export const awkwardWeight = (): fc.Arbitrary<number> =>
  fc.oneof(
    fc.integer({ min: 1, max: 1_000_000 }),
    fc.integer({ min: 1, max: 1_000_000 }).map((n) => n / 1000),
    fc.double({ min: 1e-6, max: 1e12, noNaN: true }),
  );
