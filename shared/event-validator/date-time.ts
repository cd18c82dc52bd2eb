/**
 * The `date-time` format, read character by character: it takes and refuses exactly what
 * ajv-formats' full `date-time` takes and refuses (RFC 3339, a time zone required, a leap
 * second only at 23:59:60 UTC), without its split, its two regular expressions and their
 * match arrays. What it takes, with its quirks kept (tests/unit/date-time.test.ts checks it
 * against ajv-formats on generated strings):
 * - `YYYY-MM-DD`, one separator (`T`, `t` or any character JavaScript's `\s` matches), then
 *   `hh:mm:ss`, an optional fraction (`.` and at least one digit), and a zone: `Z`, `z`,
 *   `+hh`, `+hhmm` or `+hh:mm` (or `-`), with hours up to 23 and minutes up to 59;
 * - a month from 1 to 12, a day that exists in it (29 February in leap years only);
 * - hours up to 23, minutes up to 59 and seconds below 60; or else a leap second: seconds
 *   below 61 at 23:59 UTC once the offset is taken off (so `24:59:30+01:00` passes too, as
 *   it does in ajv-formats).
 */

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** `YYYY-MM-DD` + separator + `hh:mm:ss` + `Z`: the shortest string that can pass. */
const MIN_LENGTH = 10 + 1 + 8 + 1;
const TIME_AT = 11;
/** The separator, when it is not `T`: what ajv-formats splits on (`/t|\s/i`), tested on one character. */
const SEPARATOR = /^(?:t|\s)$/i;

const ZERO = 0x30;
const HYPHEN = 0x2d;
const COLON = 0x3a;
const DOT = 0x2e;
const PLUS = 0x2b;

/** The ASCII digit at `i` as a number, or -1 when it is anything else. */
function digitAt(s: string, i: number): number {
  const d = s.charCodeAt(i) - ZERO;
  return d >= 0 && d <= 9 ? d : -1;
}

/** The two ASCII digits at `i` as a number (0-99), or -1. */
function twoDigitsAt(s: string, i: number): number {
  const tens = digitAt(s, i);
  const units = digitAt(s, i + 1);
  return tens < 0 || units < 0 ? -1 : tens * 10 + units;
}

const isLeapYear = (year: number): boolean => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);

/** `YYYY-MM-DD` at the start of `s`, a day that exists. */
function isDate(s: string): boolean {
  const century = twoDigitsAt(s, 0);
  const yearOf = twoDigitsAt(s, 2);
  const month = twoDigitsAt(s, 5);
  const day = twoDigitsAt(s, 8);
  if (century < 0 || yearOf < 0 || month < 0 || day < 0) return false;
  if (s.charCodeAt(4) !== HYPHEN || s.charCodeAt(7) !== HYPHEN) return false;
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = month === 2 && isLeapYear(century * 100 + yearOf);
  return day <= (leap ? 29 : (DAYS_IN_MONTH[month] as number));
}

function isSeparator(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c === 0x54 || SEPARATOR.test(s.charAt(i));
}

/**
 * The zone from `at` to the end of `s` as one signed number, its hours times 100 plus its
 * minutes (`Z` is 0, `+05:30` is 530, `-0530` is -530), or NaN when it is not a zone.
 */
function zoneAt(s: string, at: number): number {
  const c = s.charCodeAt(at);
  if (c === 0x5a || c === 0x7a) return at + 1 === s.length ? 0 : Number.NaN;
  if (c !== PLUS && c !== HYPHEN) return Number.NaN;
  const sign = c === PLUS ? 1 : -1;
  const hours = twoDigitsAt(s, at + 1);
  const rest = s.length - (at + 3);
  const minutesAt = rest === 2 ? at + 3 : rest === 3 && s.charCodeAt(at + 3) === COLON ? at + 4 : -1;
  const minutes = rest === 0 ? 0 : minutesAt < 0 ? -1 : twoDigitsAt(s, minutesAt);
  return hours < 0 || minutes < 0 ? Number.NaN : sign * (hours * 100 + minutes);
}

/** Where the fraction after the seconds ends (`at` when there is none), or -1 for a `.` without digits. */
function fractionEnd(s: string, at: number): number {
  if (s.charCodeAt(at) !== DOT) return at;
  let end = at + 1;
  while (digitAt(s, end) >= 0) end++;
  return end > at + 1 ? end : -1;
}

/**
 * A leap second as ajv-formats admits one: seconds below 61 at 23:59 UTC once the zone's hours
 * and minutes are taken off (or at -1 of either, across the day).
 */
function isLeapSecond(hour: number, minute: number, second: number, zoneHours: number, zoneMinutes: number) {
  const utcMinute = minute - zoneMinutes;
  const utcHour = hour - zoneHours - (utcMinute < 0 ? 1 : 0);
  return (utcHour === 23 || utcHour === -1) && (utcMinute === 59 || utcMinute === -1) && second < 61;
}

/**
 * The seconds from `at` to `end` (`ss` or `ss.f...`), as far as the checks below can tell: only
 * whether they are below 60, and below 61. A fraction is read as JavaScript reads the number
 * (59.99999999999999999 is 60), which only 59 and up need: below that it cannot reach 60.
 */
function secondsOf(s: string, at: number, end: number, wholeSeconds: number): number {
  return end === at + 2 || wholeSeconds < 59 ? wholeSeconds : Number(s.slice(at, end));
}

/** `hh:mm:ss[.f]` and a zone, from `at` to the end of `s`. */
function isTime(s: string, at: number): boolean {
  const hour = twoDigitsAt(s, at);
  const minute = twoDigitsAt(s, at + 3);
  const wholeSeconds = twoDigitsAt(s, at + 6);
  if (hour < 0 || minute < 0 || wholeSeconds < 0) return false;
  if (s.charCodeAt(at + 2) !== COLON || s.charCodeAt(at + 5) !== COLON) return false;
  const end = fractionEnd(s, at + 8);
  if (end < 0) return false;
  const zone = zoneAt(s, end);
  const zoneHours = Math.trunc(zone / 100); // signed, as the zone's minutes below (-0530: -5, -30)
  const zoneMinutes = zone % 100;
  if (!(Math.abs(zoneHours) <= 23 && Math.abs(zoneMinutes) <= 59)) return false; // NaN fails too
  const second = secondsOf(s, at + 6, end, wholeSeconds);
  if (hour <= 23 && minute <= 59 && second < 60) return true;
  return isLeapSecond(hour, minute, second, zoneHours, zoneMinutes);
}

/** Whether `s` is a date-time, exactly as ajv-formats' full `date-time` format says. */
export function isDateTime(s: string): boolean {
  return s.length >= MIN_LENGTH && isSeparator(s, 10) && isDate(s) && isTime(s, TIME_AT);
}
