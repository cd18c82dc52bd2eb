/**
 * The Firehose data-transformation core: a pure per-record transform (decode, parse,
 * normalise, filter, remove, hash, partition, encode), and the batch step that keeps the
 * response under Lambda's limit by re-ingesting the overflow.
 */

import { isUtf8 } from 'node:buffer';
import { createHmac } from 'node:crypto';
import type { FirehoseTransformationEvent, FirehoseTransformationResult } from 'aws-lambda';
import { retryDepsOf } from '../core/batch-writer.js';
import type { FirehoseTransformConfig } from '../core/config/schema.js';
import { ConfigError, type DlqReason, MappingError, ResponseTooLargeError, toError } from '../core/errors.js';
import { deliveryStreamName, type FirehoseWriterDeps, putRecordBatch } from '../core/firehose-writer.js';
import { type CompiledPath, compilePath, getPath, visitPath } from '../core/json-path.js';
import { type WriterDeps, writeRecords } from '../core/kinesis-writer.js';
import { type Counts, increment, type LogPort, type MetricsPort } from '../core/observability.js';
import { cutPartitionKey } from '../core/partition-key.js';
import { compileProjection } from '../core/projection.js';
import { compileHashing } from './hash-paths.js';
import { CANONICAL_ISO, normalizeParsedSesEvent, type SesDocument, sesEventType } from './ses.js';

export const HANDLER_NAME = 'firehose-transform';
/**
 * The response must stay under Lambda's 6 MB synchronous limit (6,291,456 bytes); like
 * AWS's own blueprint we budget 6,000,000 bytes, JSON punctuation included.
 */
export const MAX_RESPONSE_BYTES = 6_000_000;
/**
 * `{"records":[` and `]}` around the entries, less the comma the last entry does not have
 * (each entry is counted with its separating comma): exact for one entry or more.
 */
const RESPONSE_FRAME_BYTES = '{"records":[]}'.length - ','.length;
/** Failed records listed one per log line, at most, per invocation. */
const MAX_FAILURE_LINES = 100;

/**
 * Strict base64: Node's decoder skips what is not base64 (and takes the URL-safe alphabet),
 * so a text is valid when its length is a multiple of 4, it has no URL-safe characters, and
 * it decodes to exactly as many bytes as its length promises. No per-character regex pass.
 */
export function decodeBase64Strict(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || text.includes('-') || text.includes('_')) return undefined;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  if (padding > 0 && !zeroPaddingBits(text, padding)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.byteLength === (text.length / 4) * 3 - padding ? bytes : undefined;
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * Canonical base64 leaves the bits after the last byte zero (`QQ==`, never `QR==`): only
 * then does the text re-encode to itself, as Firehose checks what it gets back.
 */
function zeroPaddingBits(text: string, padding: number): boolean {
  // The bits of that character that carry no data: 4 before `==`, 2 before `=`.
  // A character outside the alphabet gives -1, all bits set: refused too.
  const unused = padding === 2 ? 0b1111 : 0b11;
  return (BASE64_ALPHABET.indexOf(text.charAt(text.length - 1 - padding)) & unused) === 0;
}

/**
 * The `data` a ProcessingFailed result carries: the record's own data when it is strict
 * base64, else its bytes as Node's lenient decoder reads them (characters outside the
 * alphabet skipped, the URL-safe alphabet taken, the rest after padding ignored),
 * re-encoded. Firehose then always gets valid base64 back, and for valid input the very
 * bytes it sent.
 */
export function failedRecordData(data: string): string {
  return decodeBase64Strict(data) ? data : Buffer.from(data, 'base64').toString('base64');
}

/** Why a record's data could not be read as text. */
export type UnreadableReason = 'NOT_BASE64' | 'NOT_UTF8';

/** A record's data read as text: what `decodeBase64Strict` then a fatal UTF-8 decoder give. */
export type RecordText = { text: string } | { reason: UnreadableReason };

const NOT_BASE64: RecordText = { reason: 'NOT_BASE64' };
const NOT_UTF8: RecordText = { reason: 'NOT_UTF8' };

/**
 * A record's data as text, in one native pass for the usual ASCII record: `atob` decodes
 * base64 to one character per byte, so text that is all ASCII is already its own UTF-8
 * reading. Strictness as in `decodeBase64Strict`: `atob` refuses any character outside the
 * standard alphabet (the URL-safe one included) and a misplaced `=`; the whitespace it
 * skips, it skips from the count, so the length check refuses it. Other bytes take the
 * Buffer path with its UTF-8 check. Property-tested against `decodeBase64Strict` + `isUtf8`.
 */
export function readRecordText(data: string): RecordText {
  if (data.length % 4 !== 0) return NOT_BASE64;
  const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  if (padding > 0 && !zeroPaddingBits(data, padding)) return NOT_BASE64;
  let bytes: string;
  try {
    bytes = atob(data);
  } catch {
    return NOT_BASE64;
  }
  if (bytes.length !== (data.length / 4) * 3 - padding) return NOT_BASE64;
  // One UTF-8 byte per character only when every character is ASCII.
  if (Buffer.byteLength(bytes, 'utf8') === bytes.length) return { text: bytes };
  const buffer = Buffer.from(bytes, 'latin1');
  return isUtf8(buffer) ? { text: buffer.toString('utf8') } : NOT_UTF8;
}

export type RecordOutcome =
  | { result: 'Ok'; data: string; partitionKeys?: Record<string, string> }
  | { result: 'Dropped'; reason: 'FILTERED' }
  | { result: 'ProcessingFailed'; reason: DlqReason; message: string };

export type RecordTransform = (base64: string) => RecordOutcome;

function fail(reason: DlqReason, message: string): RecordOutcome {
  return { result: 'ProcessingFailed', reason, message };
}

type Json = Record<string, unknown>;

/**
 * A document to edit, and whether it is a tree (no object or array in it reachable by two
 * paths), so that hashing may edit it in place rather than copy what it changes: the shape
 * the SES normaliser returns, and JSON mode's documents too (never trees there).
 */
type Shaped = SesDocument;

/** A keyed hash: joinable (the same input, the same output) and unreadable without the key. */
export function keyedHasher(key: Uint8Array): (value: string) => string {
  const cache = new Map<string, string>();
  return (value) => {
    let hashed = cache.get(value);
    if (hashed === undefined) {
      hashed = createHmac('sha256', key).update(value).digest('base64url');
      if (cache.size > 10_000) cache.clear();
      cache.set(value, hashed);
    }
    return hashed;
  };
}

/** An ISO timestamp from an ISO string or epoch milliseconds, or undefined. */
export function toIso(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length === 24 && CANONICAL_ISO.test(value)) return value;
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  // Past ±8.64e15 ms a Date is invalid (its time is NaN) and toISOString would throw.
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function partitionValue(value: unknown, as: string): string {
  if (as === 'value') {
    return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
      ? String(value)
      : 'unknown';
  }
  const iso = toIso(value);
  if (!iso) return 'unknown';
  switch (as) {
    case 'date':
      return iso.slice(0, 10);
    case 'year':
      return iso.slice(0, 4);
    case 'month':
      return iso.slice(5, 7);
    case 'day':
      return iso.slice(8, 10);
    default:
      return iso.slice(11, 13); // hour
  }
}

/**
 * Removals, then keyed hashing. Hashing writes fresh containers and reads only original
 * values (see hash-paths.ts), so no aliasing inside a document can hash a value twice; a
 * document known to be a tree is hashed in place. Paths to hash without a key are a config
 * error: personal data never passes unhashed.
 */
function compileEdits(config: FirehoseTransformConfig, hash: ((value: string) => string) | undefined) {
  const removals = config.remove.map(compilePath);
  if (config.hash.length > 0 && !hash) {
    throw new ConfigError([
      `firehoseTransform.hash: ${config.hash.length} paths to hash are configured but no hash key was given (firehoseTransform.hashKeyParameter)`,
    ]);
  }
  const hashing = hash && config.hash.length > 0 ? compileHashing(config.hash, hash) : undefined;
  return ({ doc, tree }: Shaped): Json => {
    for (const path of removals) {
      const targets: [Json | unknown[], string | number][] = [];
      visitPath(doc, path, (parent, key) => targets.push([parent, key]));
      for (const [parent, key] of targets.reverse()) {
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key as string];
      }
    }
    return hashing ? hashing(doc, tree) : doc;
  };
}

/**
 * A record's output text (and a newline, with `newline`) as the base64 of its UTF-8 bytes.
 * ASCII text is its own UTF-8, so `btoa` encodes it natively with no Buffer in between;
 * other text is written into one buffer (no string copy). Property-tested against
 * `Buffer.from(text + newline)`.
 */
export function encodeOutput(text: string, newline: boolean): string {
  const length = Buffer.byteLength(text, 'utf8');
  if (length === text.length) return btoa(newline ? `${text}\n` : text);
  const bytes = Buffer.allocUnsafe(newline ? length + 1 : length);
  bytes.write(text, 0, length, 'utf8');
  if (newline) bytes[length] = 0x0a;
  return bytes.toString('base64');
}

/** Compiles the per-record transform for a config (and the hash key, when hashing). */
export function compileTransform(config: FirehoseTransformConfig, hashKey?: Uint8Array): RecordTransform {
  const hash = hashKey ? keyedHasher(hashKey) : undefined;
  const edit = compileEdits(config, hash);
  const ses = config.mode === 'ses' ? config : undefined;
  const json = config.mode === 'json' ? config.json : undefined;
  const keepTypes = ses?.keepEventTypes ? new Set<string>(ses.keepEventTypes) : undefined;
  const project = json ? compileProjection(json) : null;
  const timestampPath: CompiledPath | undefined = json?.timestampPath
    ? compilePath(json.timestampPath)
    : undefined;
  const partitions = Object.entries(config.partitionKeys ?? {}).map(
    ([name, spec]) => [name, compilePath(spec.path), spec.as] as const,
  );
  const newline = config.appendNewline;

  const shape = (parsed: Json): Shaped | 'FILTERED' => {
    if (config.mode === 'ses') {
      const type = sesEventType(parsed);
      if (keepTypes && !keepTypes.has(type)) return 'FILTERED';
      return normalizeParsedSesEvent(parsed, type);
    }
    const doc = project ? project(parsed) : parsed;
    if (timestampPath) {
      const iso = toIso(getPath(parsed, timestampPath));
      if (iso) doc['@timestamp'] = iso;
    }
    return { doc, tree: false };
  };

  return (base64) => {
    const read = readRecordText(base64);
    if ('reason' in read) {
      return read.reason === 'NOT_BASE64'
        ? fail('NOT_BASE64', 'data is not valid base64')
        : fail('NOT_UTF8', 'data is not valid UTF-8');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(read.text);
    } catch (error) {
      return fail('BODY_NOT_JSON', `data is not JSON: ${(error as Error).message.slice(0, 80)}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return fail('BODY_NOT_OBJECT', 'data is JSON but not an object');
    }
    let shaped: Shaped | 'FILTERED';
    try {
      shaped = shape(parsed as Json);
    } catch (error) {
      if (error instanceof MappingError) return fail(error.reason, error.message);
      throw error;
    }
    if (shaped === 'FILTERED') return { result: 'Dropped', reason: 'FILTERED' };
    const edited = edit(shaped);
    const data = encodeOutput(JSON.stringify(edited), newline);
    if (partitions.length === 0) return { result: 'Ok', data };
    const partitionKeys: Record<string, string> = {};
    for (const [name, path, as] of partitions)
      partitionKeys[name] = partitionValue(getPath(edited, path), as);
    return { result: 'Ok', data, partitionKeys };
  };
}

export interface TransformDeps {
  transform: RecordTransform;
  logger: LogPort;
  metrics: MetricsPort;
  /** Re-ingestion into a Kinesis source stream. */
  kinesis: WriterDeps['kinesis'];
  /** Re-ingestion into the delivery stream (Direct PUT). */
  firehose: FirehoseWriterDeps['firehose'];
  /**
   * The delivery stream with dynamic partitioning. Partition keys go only to records from it:
   * other destinations (OpenSearch) have no use for them.
   */
  partitionedStream?: string;
  remainingTimeMs?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  policy?: WriterDeps['policy'];
}

type ResponseRecord = FirehoseTransformationResult['records'][number];

/** UTF-8 bytes of a value's JSON; short ASCII text (record ids, keys) is counted in JavaScript. */
function jsonBytes(value: unknown): number {
  if (typeof value === 'string') {
    const plain = plainJsonStringBytes(value);
    if (plain >= 0) return plain;
  }
  const json = JSON.stringify(value);
  if (json.length > 256) return Buffer.byteLength(json, 'utf8');
  for (let i = 0; i < json.length; i++) if (json.charCodeAt(i) > 0x7f) return Buffer.byteLength(json, 'utf8');
  return json.length;
}

/** Printable ASCII (0x20-0x7e) but `"` (0x22) and `\` (0x5c): what JSON writes as it is. */
const PLAIN_JSON_TEXT = /^[ !#-[\]-~]*$/;

/**
 * The JSON size of a string that JSON writes as it is (printable ASCII, no `"` or `\`):
 * its length and two quotes, counted without building the JSON; -1 for any other string.
 * One native regex pass: about half the time of a charCodeAt loop over a record id.
 */
function plainJsonStringBytes(text: string): number {
  return PLAIN_JSON_TEXT.test(text) ? text.length + 2 : -1;
}
/** `{"recordId":,"result":}` and the separating comma. */
const ENTRY_FRAME_BYTES = '{"recordId":,"result":},'.length;

/** The JSON of each result a response entry can have, in bytes (quotes included). */
const RESULT_BYTES: Record<string, number> = { Ok: 4, Dropped: 9, ProcessingFailed: 18 };

/** Bytes an entry takes in the response JSON, its separating comma included. */
export function responseEntryBytes(entry: ResponseRecord): number {
  return entryBytes(entry, jsonBytes(entry.recordId));
}

/** As `responseEntryBytes`, with the JSON size of the entry's id already counted. */
function entryBytes(entry: ResponseRecord, idBytes: number): number {
  let bytes = ENTRY_FRAME_BYTES + idBytes + (RESULT_BYTES[entry.result] ?? jsonBytes(entry.result));
  if (entry.data !== undefined) bytes += ',"data":""'.length + entry.data.length; // base64: ASCII
  if (entry.metadata !== undefined) bytes += ',"metadata":'.length + metadataBytes(entry.metadata);
  return bytes;
}

/**
 * The JSON size of `{"partitionKeys":{...}}` summed key by key (no JSON built) when that is
 * all the metadata holds and every key is a string; any other metadata is stringified.
 */
function metadataBytes(metadata: NonNullable<ResponseRecord['metadata']>): number {
  const keys = metadata.partitionKeys;
  let only = 0;
  for (const name in metadata) if (Object.hasOwn(metadata, name)) only++;
  if (only !== 1 || !Object.hasOwn(metadata, 'partitionKeys') || typeof keys !== 'object' || keys === null) {
    return jsonBytes(metadata);
  }
  let bytes = '{"partitionKeys":{}}'.length;
  let count = 0;
  for (const name of Object.keys(keys)) {
    const value = keys[name];
    if (typeof value !== 'string') return jsonBytes(metadata);
    bytes += stringBytes(name) + ':'.length + stringBytes(value);
    count++;
  }
  return count > 0 ? bytes + count - 1 : bytes; // the commas between pairs
}

/** The JSON size of a string, in UTF-8 bytes. */
function stringBytes(text: string): number {
  const plain = plainJsonStringBytes(text);
  return plain >= 0 ? plain : Buffer.byteLength(JSON.stringify(text), 'utf8');
}

type Input = FirehoseTransformationEvent['records'][number];

/** Re-ingests the original records at `indices`; returns the indices that could not be. */
async function reingest(
  event: FirehoseTransformationEvent,
  indices: readonly number[],
  deps: TransformDeps,
): Promise<number[]> {
  const records = indices.map((i) => event.records[i] as Input);
  const retry = retryDepsOf(deps);
  const result = event.sourceKinesisStreamArn
    ? await writeRecords(
        records.map((record) => ({
          stream: event.sourceKinesisStreamArn as string,
          data: Buffer.from(record.data, 'base64'),
          partitionKey: cutPartitionKey(record.kinesisRecordMetadata?.partitionKey ?? '', record.recordId),
        })),
        { ...retry, kinesis: deps.kinesis },
      )
    : await putRecordBatch(
        records.map((record) => ({
          deliveryStream: deliveryStreamName(event.deliveryStreamArn),
          data: Buffer.from(record.data, 'base64'),
        })),
        { ...retry, firehose: deps.firehose },
      );
  return indices.filter((_, k) => result.outcomes[k]?.status !== 'written');
}

/** The response entry that hands a record back as it came: failed, its bytes re-encoded. */
function originalEntry(record: Input): ResponseRecord {
  return { recordId: record.recordId, result: 'ProcessingFailed', data: failedRecordData(record.data) };
}

/** Step 1: each record through the transform; an unexpected throw fails that record only. */
function transformAll(event: FirehoseTransformationEvent, deps: TransformDeps): RecordOutcome[] {
  return event.records.map((record) => {
    try {
      return deps.transform(record.data);
    } catch (error) {
      deps.logger.error('Unexpected error in the transform', { recordId: record.recordId, error });
      return fail('UNEXPECTED_ERROR', toError(error).message);
    }
  });
}

/**
 * The response entries, with the bytes each takes and the least it can take (a Dropped entry
 * without data), counted once: the fit reuses them.
 */
interface Entries {
  entries: ResponseRecord[];
  bytes: number[];
  minimum: number[];
}

/** A Dropped entry without data: the frame, its id and its result (counted, not built). */
const DROPPED_FRAME_BYTES = ENTRY_FRAME_BYTES + (RESULT_BYTES.Dropped as number);

/**
 * Step 2: each outcome as its response entry (partition keys only for the partitioned
 * stream). A record whose output alone could never fit fails; re-ingesting it would only loop.
 */
function responseEntries(
  event: FirehoseTransformationEvent,
  outcomes: RecordOutcome[],
  deps: TransformDeps,
): Entries {
  const stream = deliveryStreamName(event.deliveryStreamArn);
  const partitioned = deps.partitionedStream === undefined || stream === deps.partitionedStream;
  const bytes: number[] = [];
  const minimum: number[] = [];
  const entries = outcomes.map((outcome, i): ResponseRecord => {
    const record = event.records[i] as Input;
    const { recordId } = record;
    const idBytes = jsonBytes(recordId);
    let entry: ResponseRecord;
    let size: number;
    if (outcome.result === 'Ok') {
      entry =
        outcome.partitionKeys && partitioned
          ? { recordId, result: 'Ok', data: outcome.data, metadata: { partitionKeys: outcome.partitionKeys } }
          : { recordId, result: 'Ok', data: outcome.data };
      size = entryBytes(entry, idBytes);
      if (RESPONSE_FRAME_BYTES + size > MAX_RESPONSE_BYTES) {
        outcomes[i] = fail('OUTPUT_TOO_LARGE', 'the transformed record alone would not fit the response');
        entry = originalEntry(record);
        size = entryBytes(entry, idBytes);
      }
    } else {
      entry =
        outcome.result === 'Dropped'
          ? { recordId, result: 'Dropped', data: record.data }
          : originalEntry(record);
      size = entryBytes(entry, idBytes);
    }
    bytes.push(size);
    minimum.push(DROPPED_FRAME_BYTES + idBytes);
    return entry;
  });
  return { entries, bytes, minimum };
}

/**
 * Step 3: fit the response. Whatever would push it over the limit is re-ingested instead
 * (Dropped); every record needs at least its Dropped entry, so that much is set aside for
 * all of them first. What cannot be re-ingested goes back as it came. Gives the response's
 * size and how many were re-ingested.
 */
async function fitResponse(
  event: FirehoseTransformationEvent,
  { entries, bytes, minimum }: Entries,
  outcomes: RecordOutcome[],
  deps: TransformDeps,
): Promise<{ size: number; reingested: number; notReingested: number }> {
  let budget = MAX_RESPONSE_BYTES - RESPONSE_FRAME_BYTES;
  for (const least of minimum) budget -= least;
  const overflow: number[] = [];
  for (let i = 0; i < entries.length; i++) {
    const extra = (bytes[i] as number) - (minimum[i] as number);
    if (extra <= budget) budget -= extra;
    else {
      overflow.push(i);
      entries[i] = { recordId: (entries[i] as ResponseRecord).recordId, result: 'Dropped' };
    }
  }
  const notReingested = overflow.length > 0 ? await reingest(event, overflow, deps) : [];
  for (const i of notReingested) {
    entries[i] = originalEntry(event.records[i] as Input);
    outcomes[i] = fail('REINGEST_FAILED', 'the response was full and re-ingestion failed');
    budget -= responseEntryBytes(entries[i] as ResponseRecord) - (minimum[i] as number);
  }
  const reingested = overflow.length - notReingested.length;
  return { size: MAX_RESPONSE_BYTES - budget, reingested, notReingested: notReingested.length };
}

/** Step 4: counts by result and by reason, and one WARN per failed record up to the limit. */
function report(
  entries: ResponseRecord[],
  outcomes: RecordOutcome[],
  reingested: number,
  deps: TransformDeps,
) {
  const counts: Counts = { records: entries.length, ok: 0, dropped: 0, failed: 0, reingested };
  const reasons: Counts = {};
  let lines = 0;
  entries.forEach((entry, i) => {
    if (entry.result === 'Ok') increment(counts, 'ok');
    else if (entry.result === 'Dropped') increment(counts, 'dropped');
    else {
      increment(counts, 'failed');
      const outcome = outcomes[i] as Extract<RecordOutcome, { result: 'ProcessingFailed' }>;
      increment(reasons, outcome.reason);
      if (lines++ < MAX_FAILURE_LINES) {
        deps.logger.warn('Record failed processing', {
          recordId: entry.recordId,
          reason: outcome.reason,
          // Not `message`: Powertools Logger reserves that key and would drop the reason.
          detail: outcome.message,
        });
      }
    }
  });
  return { counts, reasons };
}

export async function transformBatch(
  event: FirehoseTransformationEvent,
  deps: TransformDeps,
): Promise<FirehoseTransformationResult> {
  const outcomes = transformAll(event, deps);
  const answer = responseEntries(event, outcomes, deps);
  const { entries } = answer;
  const { size, reingested, notReingested } = await fitResponse(event, answer, outcomes, deps);
  const { counts, reasons } = report(entries, outcomes, reingested, deps);
  const stream = deliveryStreamName(event.deliveryStreamArn);
  deps.metrics.publish({ name: 'deliveryStream', value: stream }, counts);
  deps.logger.info('Batch transformed', { ...counts, failedByReason: reasons, responseBytes: size });
  if (size > MAX_RESPONSE_BYTES) {
    // Re-ingestion failed and the originals do not fit either: fail the invocation so that
    // Firehose retries the batch (and, after its retries, backs it up to processing-failed/).
    throw new ResponseTooLargeError(
      `Response would be ${size} bytes (limit ${MAX_RESPONSE_BYTES}) after ${notReingested} records failed re-ingestion`,
    );
  }
  return { records: entries };
}
