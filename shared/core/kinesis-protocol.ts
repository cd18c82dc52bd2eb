/**
 * The Kinesis client's wire protocol, with a faster body for PutRecords, the writer's one hot
 * call. The SDK's JSON serializer walks the operation's schema for every record and writes
 * each byte of the base64 data (and of every key) into its buffer one character at a time in
 * JavaScript; with 1,000 records of 500 bytes that is most of a call's client CPU besides the
 * signature. Here the PutRecords body is built in one pass: Node's own base64, and
 * JSON.stringify for every string, so escaping stays JSON's. Its success answer is read with
 * JSON.parse into the same shape.
 *
 * Everything else is the SDK's own: the request line, headers and endpoint (the SDK's
 * serializer still runs, on the request without its records), the SigV4 signature, the HTTP
 * transport, and every error answer (`deserializeResponse` hands anything but a 2xx back to
 * the SDK, which builds its typed exceptions). Every other operation goes through the SDK's
 * code untouched.
 */

import type { PutRecordsInput, PutRecordsOutput, PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { AwsJson1_1Protocol } from '@aws-sdk/core/protocols';
import { collectBody } from '@smithy/core/protocols';
import type { MetadataBearer } from '@smithy/types';

type SerializeArgs = Parameters<AwsJson1_1Protocol['serializeRequest']>;
type DeserializeArgs = Parameters<AwsJson1_1Protocol['deserializeResponse']>;

const PUT_RECORDS = 'PutRecords';

/** Bodies this protocol built since the process started (a test checks the SDK still calls it). */
export const fastPathUse = { requests: 0, responses: 0 };

/** A string's UTF-8 bytes on their way to base64, reused from call to call (grown as needed). */
let scratch = Buffer.allocUnsafeSlow(64 * 1024);

/** The base64 text of a record's data: a string stands for its UTF-8 bytes, as in the SDK. */
function base64Of(data: PutRecordsRequestEntry['Data'] | string | undefined, bytes: number): string {
  if (data === undefined) return '';
  if (typeof data !== 'string') {
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
  }
  if (scratch.length < bytes) scratch = Buffer.allocUnsafeSlow(Math.max(bytes, 2 * scratch.length));
  scratch.write(data, 0, bytes, 'utf8');
  return scratch.toString('base64', 0, bytes);
}

function byteLengthOf(data: PutRecordsRequestEntry['Data'] | string | undefined): number {
  if (data === undefined) return 0;
  return typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.byteLength;
}

const base64Length = (bytes: number) => 4 * Math.ceil(bytes / 3);

/**
 * The PutRecords JSON body, as the SDK's serializer would write it (key order aside), as
 * bytes: measured first, then written once into a buffer of that size, one write per
 * record, so no record's text is copied twice and nothing is re-encoded on the way to the
 * signer and the socket.
 */
export function putRecordsBody(input: PutRecordsInput): Buffer {
  const records = input.Records ?? [];
  const dataBytes = new Array<number>(records.length);
  const keys = new Array<string>(records.length);
  // {"Records":[ ... ]: the entries' own text is counted below.
  let size = 12;
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as PutRecordsRequestEntry;
    const bytes = byteLengthOf(record.Data);
    let key = JSON.stringify(record.PartitionKey);
    if (record.ExplicitHashKey !== undefined)
      key += `,"ExplicitHashKey":${JSON.stringify(record.ExplicitHashKey)}`;
    dataBytes[i] = bytes;
    keys[i] = key;
    // A comma, {"Data":" and ","PartitionKey": and }: 28 bytes around the base64 and the keys.
    size += 28 + base64Length(bytes) + Buffer.byteLength(key, 'utf8');
  }
  let tail = ']';
  if (input.StreamName !== undefined) tail += `,"StreamName":${JSON.stringify(input.StreamName)}`;
  if (input.StreamARN !== undefined) tail += `,"StreamARN":${JSON.stringify(input.StreamARN)}`;
  if (input.StreamId !== undefined) tail += `,"StreamId":${JSON.stringify(input.StreamId)}`;
  tail += '}';
  size += Buffer.byteLength(tail, 'utf8') - (records.length > 0 ? 1 : 0);

  const out = Buffer.allocUnsafe(size);
  let at = out.write('{"Records":[', 0, 'latin1');
  for (let i = 0; i < records.length; i++) {
    const data = base64Of((records[i] as PutRecordsRequestEntry).Data, dataBytes[i] as number);
    at += out.write(`${i > 0 ? ',' : ''}{"Data":"${data}","PartitionKey":${keys[i]}}`, at, 'utf8');
  }
  at += out.write(tail, at, 'utf8');
  if (at !== size) throw new Error(`PutRecords body: measured ${size} bytes, wrote ${at}`);
  return out;
}

/** The fields of a PutRecords answer, nothing else. */
function putRecordsOutput(parsed: Record<string, unknown>): Omit<PutRecordsOutput, '$metadata'> {
  const out = {} as Omit<PutRecordsOutput, '$metadata'>;
  if (Array.isArray(parsed.Records)) out.Records = parsed.Records as PutRecordsOutput['Records'];
  if (typeof parsed.FailedRecordCount === 'number') out.FailedRecordCount = parsed.FailedRecordCount;
  if (typeof parsed.EncryptionType === 'string') {
    out.EncryptionType = parsed.EncryptionType as PutRecordsOutput['EncryptionType'];
  }
  return out;
}

export class KinesisWriteProtocol extends AwsJson1_1Protocol {
  override async serializeRequest(...[operation, input, context]: SerializeArgs) {
    if (operation?.name !== PUT_RECORDS || typeof input !== 'object' || input === null) {
      return super.serializeRequest(operation, input, context);
    }
    const { Records: _, ...rest } = input as PutRecordsInput;
    const request = await super.serializeRequest(operation, rest, context);
    // Bytes, once: the signer hashes them and the HTTP handler writes them as they are.
    request.body = putRecordsBody(input as PutRecordsInput);
    fastPathUse.requests++;
    return request;
  }

  override async deserializeResponse<Output extends MetadataBearer>(
    ...[operation, context, response]: DeserializeArgs
  ): Promise<Output> {
    if (operation?.name !== PUT_RECORDS || this.isErrorResponse(response.statusCode)) {
      return super.deserializeResponse<Output>(operation, context, response);
    }
    const bytes = await collectBody(response.body, context);
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
    const parsed = text.length === 0 ? {} : (JSON.parse(text) as Record<string, unknown>);
    fastPathUse.responses++;
    return {
      ...putRecordsOutput(parsed),
      $metadata: this.deserializeMetadata(response),
    } as unknown as Output;
  }
}
