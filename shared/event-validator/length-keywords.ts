/**
 * Ajv's `maxLength` and `minLength`, with the same verdicts and errors, that count code points
 * only when the string's length in UTF-16 units cannot settle it. Ajv counts them (its
 * `ucs2length` loop) for every string, once per keyword; a JavaScript string's `length` bounds
 * that count from both sides, since a code point takes one or two units:
 *   ceil(length / 2) <= codePoints <= length.
 * So `maxLength: n` holds whenever `length <= n`, and `minLength: n` whenever
 * `length >= 2 * n` (for any number n, a `$data` one too). Only in between is the loop run.
 * Used when the schemas are compiled (from source, and by the package step for its
 * standalone code, which then calls Ajv's own `ucs2length` as before).
 */
import { createRequire } from 'node:module';
import type { Ajv, CodeKeywordDefinition, KeywordCxt } from 'ajv';
import { _ } from 'ajv';
import { useFunc } from 'ajv/dist/compile/util.js';

/**
 * Ajv's code-point count, required as its standalone code requires it (an ES default import of
 * this CommonJS module gives `exports` under Node but `exports.default` under tsx's CommonJS mode,
 * which the package step runs in).
 */
const ucs2length: ((text: string) => number) & { code: string } = createRequire(import.meta.url)(
  'ajv/dist/runtime/ucs2length.js',
).default;
const KEYWORDS = ['maxLength', 'minLength'];
/** The keyword Ajv checks right after the two, on a string: the error order stays Ajv's. */
const NEXT_STRING_KEYWORD = 'pattern';

/** The failing condition: the count of code points past the limit, asked only when `length` cannot tell. */
function failsWhen(cxt: KeywordCxt) {
  const { keyword, data, schemaCode, gen } = cxt;
  const codePoints = _`${useFunc(gen, ucs2length)}(${data})`;
  return keyword === 'maxLength'
    ? _`${data}.length > ${schemaCode} && ${codePoints} > ${schemaCode}`
    : _`${data}.length < 2 * ${schemaCode} && ${codePoints} < ${schemaCode}`;
}

/**
 * Puts the two keywords in place of Ajv's own, in the same order among a string's keywords,
 * with Ajv's own definition kept for the rest (its types, `$data` support and error messages).
 */
export function withLengthKeywords<A extends Ajv>(ajv: A): A {
  const stock = ajv.getKeyword('maxLength') as CodeKeywordDefinition;
  for (const keyword of KEYWORDS) ajv.removeKeyword(keyword);
  return ajv.addKeyword({
    ...stock,
    keyword: KEYWORDS,
    before: NEXT_STRING_KEYWORD,
    code: (cxt) => cxt.fail$data(failsWhen(cxt)),
  }) as A;
}
