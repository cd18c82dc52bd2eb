/**
 * `new Date(ms).toISOString()` for the times a message carries, without a Date per message:
 * a batch's timestamps fall on one day or a few, so the date part is kept for the last day
 * seen and the time of day is written from integers. Outside years 1970-9999 (or for a
 * time that is not a whole number of milliseconds) it is Date's own answer, errors included.
 */

const MS_PER_DAY = 86_400_000;
/** 10000-01-01T00:00:00.000Z: from here on toISOString writes a six-digit year. */
const END_OF_YEAR_9999 = 253_402_300_800_000;

const TWO_DIGITS = Array.from({ length: 100 }, (_, n) => String(n).padStart(2, '0'));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0'));

let lastDay = Number.NaN;
let lastDate = '';

/** The ISO 8601 text toISOString gives for `ms` (and the RangeError it throws). */
export function isoTimestamp(ms: number): string {
  if (!(ms >= 0 && ms < END_OF_YEAR_9999) || !Number.isInteger(ms)) return new Date(ms).toISOString();
  const day = Math.floor(ms / MS_PER_DAY);
  if (day !== lastDay) {
    lastDate = new Date(day * MS_PER_DAY).toISOString().slice(0, 11);
    lastDay = day;
  }
  let rest = ms - day * MS_PER_DAY;
  const millis = rest % 1000;
  rest = (rest - millis) / 1000;
  const seconds = rest % 60;
  rest = (rest - seconds) / 60;
  const minutes = rest % 60;
  const hours = (rest - minutes) / 60;
  return `${lastDate}${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[seconds]}.${THREE_DIGITS[millis]}Z`;
}
