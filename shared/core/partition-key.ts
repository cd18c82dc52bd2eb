/**
 * Kinesis partition keys: 1-256 Unicode characters. We count UTF-16 code units, which is
 * never laxer than AWS (a character outside the BMP is two units), and never cut a
 * surrogate pair in half: a lone surrogate is not valid Unicode and reaches the stream
 * as `?`.
 */

/** Kinesis partition keys: at most 256 characters. */
export const MAX_PARTITION_KEY_LENGTH = 256;

/**
 * A valid partition key made from any text: lone surrogates replaced by U+FFFD, then cut
 * to at most `max` UTF-16 units on a code-point boundary; when that leaves nothing,
 * `fallback` treated the same way.
 */
export function cutPartitionKey(key: string, fallback = '_', max = MAX_PARTITION_KEY_LENGTH): string {
  const cut = cutOnCodePoint(key.toWellFormed(), max);
  return cut.length > 0 ? cut : cutOnCodePoint(fallback.toWellFormed(), max);
}

function cutOnCodePoint(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  // A high surrogate as the last kept unit would be split from its low half.
  const end = last >= 0xd800 && last <= 0xdbff ? max - 1 : max;
  return text.slice(0, end);
}
