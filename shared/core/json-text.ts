/**
 * JSON text on the hot path, without the per-character escape scan where it cannot matter.
 *
 * Node 20's JSON.stringify looks at every character of every string for something to
 * escape; for a 400-character string that is most of a reshaped record's cost. A string
 * parsed out of JSON text that held no backslash cannot hold anything JSON escapes except a
 * lone surrogate: a raw `"` would have ended it, and JSON forbids raw control characters.
 * So when a reshaped object holds only such strings (and keys and values from places we
 * have checked), its JSON text is its strings in quotes, and only well-formedness is left
 * to check (cheap: a string of one-byte characters has no surrogates at all).
 */

/** Characters JSON.stringify writes as escapes (lone surrogates aside). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what JSON escapes.
const ESCAPED = /["\\\u0000-\u001f]/;

/** Whether JSON.stringify writes `text` as itself in quotes (lone surrogates aside). */
export function needsNoEscape(text: string): boolean {
  return !ESCAPED.test(text);
}

/** Whether the JSON text `source` had no escapes, so nothing parsed out of it needs any. */
export function escapeFreeSource(source: string): boolean {
  return source.indexOf('\\') === -1;
}

function quoted(text: string): string {
  return text.isWellFormed() ? `"${text}"` : JSON.stringify(text);
}

/**
 * JSON.stringify(value) for a JSON value (as JSON.parse returns, with strings and finite or
 * infinite numbers added) whose every string and key passes `needsNoEscape`: the caller
 * vouches for that (see escapeFreeSource); lone surrogates are still escaped as JSON does.
 */
export function stringifyEscapeFree(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return quoted(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          const item: unknown = value[i];
          out += item === undefined ? 'null' : stringifyEscapeFree(item);
        }
        return `${out}]`;
      }
      let out = '{';
      for (const key of Object.keys(value)) {
        const item = (value as Record<string, unknown>)[key];
        if (item === undefined) continue;
        out += `${out.length > 1 ? ',' : ''}${quoted(key)}:${stringifyEscapeFree(item)}`;
      }
      return `${out}}`;
    }
    default:
      // Nothing JSON.parse makes; left to JSON itself (undefined, functions, bigints).
      return JSON.stringify(value);
  }
}
