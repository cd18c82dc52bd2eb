/**
 * Exact sums of doubles, so that a window's totals do not depend on how it was split.
 *
 * A running sum is kept as Shewchuk's non-overlapping "partials": doubles whose exact
 * (mathematical) sum is the exact sum of everything added so far. Adding a value uses the
 * error-free two-sum, so nothing is ever rounded away; a product is added exactly as the
 * two doubles of Dekker's two-product (Veltkamp split). The partials are plain JSON numbers
 * (JSON keeps every double exactly), usually one or two of them.
 *
 * The exact value is rounded once, when a result is asked for: the partials are turned into
 * one big integer (every double is a whole multiple of 2^-1074) and divided with correct
 * rounding (to nearest, ties to even). The correctly rounded value of an exact quantity does
 * not depend on the order in which its terms were added.
 *
 * Limits, checked by `checkSummand` and `checkFactors` (the caller refuses the record):
 * - a summand's magnitude is at most 2^960 (about 9.7e288), so that no partial can overflow
 *   before 2^62 summands;
 * - the factors of a product, when neither is zero, have a product of magnitude between
 *   2^-960 and 2^960, so that every intermediate term of Dekker's product is a whole
 *   multiple of 2^-1074 (no underflow) and nothing overflows.
 */

/** Partials in order of increasing magnitude, none of them zero. `[]` is an exact zero. */
export type Partials = number[];

/** Largest magnitude a summand (or a product) may have: n * 2^960 stays finite for n < 2^62. */
export const MAX_EXACT_MAGNITUDE = 2 ** 960;
/** Smallest non-zero magnitude of a product: its Dekker terms stay above 2^-1074 (2^-960 / 2^104). */
export const MIN_EXACT_PRODUCT = 2 ** -960;

/** Veltkamp's splitter for doubles: 2^ceil(53/2) + 1. */
const SPLITTER = 2 ** 27 + 1;

/** Whether `x` can be added exactly (finite, magnitude at most MAX_EXACT_MAGNITUDE). */
export function isExactSummand(x: number): boolean {
  return Math.abs(x) <= MAX_EXACT_MAGNITUDE;
}

/** Whether `a * b` can be added exactly by `addProduct`. */
export function isExactProduct(a: number, b: number): boolean {
  if (!isExactSummand(a) || !isExactSummand(b)) return false;
  if (a === 0 || b === 0) return true;
  const p = Math.abs(a * b);
  return p >= MIN_EXACT_PRODUCT && p <= MAX_EXACT_MAGNITUDE;
}

/** Adds `x` to `partials` exactly, in place (Shewchuk's grow-expansion with two-sum). */
export function addExact(partials: Partials, x: number): Partials {
  let kept = 0;
  let sum = x;
  const count = partials.length;
  for (let j = 0; j < count; j++) {
    const y = partials[j] as number;
    const hi = sum + y;
    // Knuth's two-sum: hi + lo === sum + y exactly, whatever their magnitudes.
    const back = hi - sum;
    const lo = sum - (hi - back) + (y - back);
    if (lo !== 0) partials[kept++] = lo;
    sum = hi;
  }
  if (sum !== 0) partials[kept++] = sum;
  // Written in place (no shrink-and-grow of the array on the hot path): one more partial is
  // appended by the write above; fewer are popped (cheaper than setting the length).
  while (partials.length > kept) partials.pop();
  return partials;
}

/** What `a * b` (rounded) lacks of the exact product: Dekker's two-product, with Veltkamp's split. */
export function productError(a: number, b: number, p: number): number {
  const ca = SPLITTER * a;
  const aHi = ca - (ca - a);
  const aLo = a - aHi;
  const cb = SPLITTER * b;
  const bHi = cb - (cb - b);
  const bLo = b - bHi;
  return aHi * bHi - p + aHi * bLo + aLo * bHi + aLo * bLo;
}

/** Adds `a * b` to `partials` exactly (Dekker's two-product), in place. */
export function addProduct(partials: Partials, a: number, b: number): Partials {
  const p = a * b;
  const error = productError(a, b, p);
  addExact(partials, p);
  if (error !== 0) addExact(partials, error);
  return partials;
}

/**
 * An exact running sum made for many adds in a row (a batch's fold): a leading pair of doubles
 * (`hi`, `lo`) and partials for what the pair cannot hold. Adding x is two two-sums:
 * hi + x = s + e, then lo + e = u + f, all exact; the pair becomes (s, u), and only a non-zero
 * f goes to the partials. The rounding errors gathered in `lo` are multiples of the smallest
 * ulp among the values, so for values of like scale `lo` stays exact for millions of adds and
 * f is zero: an add is a dozen flops and no branch that goes either way at random.
 * The sum is always exactly hi + lo + the partials; `partials()` gives it as partials.
 */
export class RunningSum {
  hi = 0;
  lo = 0;
  rest: Partials | null = null;

  add(x: number): void {
    const s = this.hi + x;
    const b = s - this.hi;
    const e = this.hi - (s - b) + (x - b);
    const u = this.lo + e;
    const c = u - this.lo;
    const f = this.lo - (u - c) + (e - c);
    this.hi = s;
    this.lo = u;
    if (f !== 0) {
      this.rest ??= [];
      addExact(this.rest, f);
    }
  }

  /** Adds `a * b` exactly. */
  addProduct(a: number, b: number): void {
    const p = a * b;
    this.add(p);
    this.add(productError(a, b, p));
  }

  /** The exact sum as partials (a fresh array, or the running one: add nothing afterwards). */
  partials(): Partials {
    const out = this.rest ?? [];
    addExact(out, this.lo);
    addExact(out, this.hi);
    return out;
  }
}

/** A copy of `a` with every partial of `b` added: the exact sum of both (neither changes). */
export function mergeExact(a: Partials, b: Partials): Partials {
  const out = [...a];
  for (const x of b) addExact(out, x);
  return out;
}

/** Partials from a state field: a v1 state kept a plain (rounded) number, read as one partial. */
export function partialsOf(state: unknown): Partials {
  if (Array.isArray(state)) return state as Partials;
  return typeof state === 'number' && state !== 0 ? [state] : [];
}

const float = new Float64Array(1);
const bits = new BigUint64Array(float.buffer);
const FRACTION_BITS = 52n;
const FRACTION_MASK = (1n << FRACTION_BITS) - 1n;
/** Every finite double is a whole multiple of 2^-1074, its smallest subnormal. */
const SCALE_BITS = 1074;
const SCALE = 1n << BigInt(SCALE_BITS);

/** The exact value of a double, times 2^1074, as a big integer. */
export function scaledOf(x: number): bigint {
  float[0] = x;
  const raw = bits[0] as bigint;
  const exponentField = Number((raw >> FRACTION_BITS) & 0x7ffn);
  const fraction = raw & FRACTION_MASK;
  // Subnormals: fraction x 2^-1074; normals: (2^52 + fraction) x 2^(field - 1075).
  const magnitude =
    exponentField === 0 ? fraction : (fraction | (1n << FRACTION_BITS)) << BigInt(exponentField - 1);
  return raw >> 63n === 1n ? -magnitude : magnitude;
}

/** The exact sum of the partials, times 2^1074. */
export function exactScaled(partials: Partials): bigint {
  let total = 0n;
  for (const x of partials) total += scaledOf(x);
  return total;
}

/** Bits of a non-negative big integer, from its hex digits (a quarter of the binary ones). */
function bitLength(n: bigint): number {
  if (n === 0n) return 0;
  const hex = n.toString(16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(Number.parseInt(hex[0] as string, 16)));
}

/** Double precision: 53 significant bits; one more is the rounding bit. */
const MANTISSA_BITS = 53;
/** The exponent of the smallest subnormal's last bit. */
const MIN_EXPONENT = -1074;

/**
 * The double nearest to numerator / denominator (ties to even), like IEEE division of exact
 * values; beyond the double range it is +-Infinity. `denominator` must be positive.
 */
export function roundQuotient(numerator: bigint, denominator: bigint): number {
  if (numerator === 0n) return 0;
  const negative = numerator < 0n;
  const a = negative ? -numerator : numerator;
  // Scale so that the quotient has MANTISSA_BITS + 1 bits (a rounding bit), or fewer for subnormals.
  let shift = Math.max(bitLength(a) - bitLength(denominator) - MANTISSA_BITS - 1, MIN_EXPONENT - 1);
  let q = 0n;
  let sticky = false;
  for (;;) {
    const [n, d] = shift >= 0 ? [a, denominator << BigInt(shift)] : [a << BigInt(-shift), denominator];
    q = n / d;
    sticky = n % d !== 0n;
    if (q < 1n << BigInt(MANTISSA_BITS + 1)) break;
    shift++; // the estimate was one bit short
  }
  let mantissa = q >> 1n;
  if ((q & 1n) === 1n && (sticky || (mantissa & 1n) === 1n)) mantissa++;
  const magnitude = Number(mantissa) * 2 ** (shift + 1);
  return negative ? -magnitude : magnitude;
}

/** The exact sum, rounded once (correctly). */
export function roundedSum(partials: Partials): number {
  return roundQuotient(exactScaled(partials), SCALE);
}

/** The exact sum divided by `count`, rounded once. */
export function roundedMean(partials: Partials, count: number): number {
  return roundQuotient(exactScaled(partials), SCALE * BigInt(count));
}

/** The exact quotient of two exact sums, rounded once; null when the divisor is zero. */
export function roundedRatio(numerator: Partials, divisor: Partials): number | null {
  const d = exactScaled(divisor);
  if (d === 0n) return null;
  const n = exactScaled(numerator);
  return d < 0n ? roundQuotient(-n, -d) : roundQuotient(n, d);
}
