/**
 * The formats the validator's schemas are checked with: ajv-formats' full set, with
 * `date-time` read by hand (date-time.ts: the same verdicts, without its regular expressions).
 * Ajv's standalone code requires this module for the formats a schema names (event-schemas.ts
 * points Ajv's `code.formats` here), so the deployed bundle runs these same functions.
 */
import type { FormatDefinition } from 'ajv';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { isDateTime } from './date-time.js';

const stockDateTime = fullFormats['date-time'] as FormatDefinition<string>;

export const formats = {
  ...fullFormats,
  // Its `compare` (for formatMinimum and the like) stays ajv-formats' own.
  'date-time': { ...stockDateTime, validate: isDateTime } satisfies FormatDefinition<string>,
};
