/**
 * Strings for the `date-time` format's tests: date-times built from parts that are often out of
 * range or malformed (days past the month's end, hour 24, second 60 and up, odd separators and
 * zones), the same with one character edited, and any text at all.
 */
import fc from 'fast-check';

/** Two digits, mostly up to `max` (a bound one past the valid range), sometimes anything. */
const twoDigits = (max: number) =>
  fc
    .oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max }) }, fc.integer({ min: 0, max: 99 }))
    .map((n) => String(n).padStart(2, '0'));

/** Hours, minutes and seconds where the leap-second rule decides: around 23:59 and 00:00. */
const nearMidnight = fc.tuple(
  fc.constantFrom('22', '23', '24', '00', '01'),
  fc.constantFrom('58', '59', '60', '00', '01'),
  fc.constantFrom('59', '60', '61'),
);

const year = fc.oneof(
  fc.constantFrom('2026', '2024', '2000', '1900', '2100', '0000', '9999', '0004'),
  fc.integer({ min: 0, max: 9999 }).map((n) => String(n).padStart(4, '0')),
);

/** What ajv-formats splits on (`t`, `T`, whitespace) and things it does not. */
const separator = fc.oneof(
  { weight: 3, arbitrary: fc.constant('T') },
  fc.constantFrom(
    ...['T', 't', ' ', '\t', '\n', '\r', '\v', '\f', '\u00a0', '\u1680', '\u2000', '\u200a', '\u2028'],
    ...['\u2029', '\u202f', '\u205f', '\u3000', '\ufeff', '', 'TT', 'x', '_', '\u200b', '\u0085', '\u180e'],
  ),
);

const fraction = fc.oneof(
  fc.constant(''),
  fc.constantFrom(
    '.',
    '.0',
    '.5',
    '.000',
    '.999',
    '.9999999999999999',
    '.99999999999999999999',
    '.123456789',
  ),
  fc.stringMatching(/^\.\d{1,12}$/),
);

const zone = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('Z', '+01:00', '-00:01', '+00:01', '-01:00') },
  fc.constantFrom('Z', 'z', '', '+00:00', '-00:00', '+01:00', '-01:00', '+00:01', '-00:01', '+0100', '+01'),
  fc.constantFrom(
    '+23:59',
    '-23:59',
    '+24:00',
    '+23:60',
    '+01:',
    '+1:00',
    '+01:0',
    '+010',
    '+01000',
    'UTC',
    'ZZ',
  ),
  fc
    .tuple(fc.constantFrom('+', '-'), twoDigits(23), fc.constantFrom('', ':', '::'), fc.option(twoDigits(59)))
    .map(([sign, hours, colon, minutes]) => `${sign}${hours}${minutes === null ? '' : colon + minutes}`),
);

const time = fc.oneof(fc.tuple(twoDigits(24), twoDigits(60), twoDigits(61)), nearMidnight);

/** A date-time from parts, each often wrong: days past the month's end, hour 24, second 60 and up. */
const assembled = fc
  .tuple(year, twoDigits(13), twoDigits(32), separator, time, fraction, zone)
  .map(([y, mo, d, sep, [h, mi, s], f, z]) => `${y}-${mo}-${d}${sep}${h}:${mi}:${s}${f}${z}`);

/** A character that breaks a date-time in some way, or keeps it whole. */
const intruder = fc.constantFrom(
  ...['0', '9', '-', ':', '.', '+', 'T', 't', 'Z', 'z', ' ', '\n', 'a', '\u0660', '\uff10', '\ud83d'],
  ...['\u00a0', '\u2028', '\ufeff', '\u{1d7ce}', '/', '\u0000', 'e', 'x'],
);

/** An assembled date-time with one character inserted, replaced or removed. */
const edited = fc
  .tuple(assembled, fc.nat(), intruder, fc.constantFrom('insert', 'replace', 'remove'))
  .map(([text, at, char, how]) => {
    const i = at % (text.length + 1);
    if (how === 'insert') return text.slice(0, i) + char + text.slice(i);
    if (how === 'replace') return text.slice(0, i) + char + text.slice(i + 1);
    return text.slice(0, i) + text.slice(i + 1);
  });

export const anyDateTimeLike = fc.oneof(
  { weight: 4, arbitrary: assembled },
  { weight: 3, arbitrary: edited },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
);
