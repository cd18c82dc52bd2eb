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

function base64Of(data: PutRecordsRequestEntry['Data'] | string | undefined): string {
  if (data === undefined) return '';
  if (typeof data === 'string') return Buffer.from(data, 'utf8').toString('base64');
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
}

/** The PutRecords JSON body, as the SDK's serializer would write it (key order aside). */
export function putRecordsBody(input: PutRecordsInput): string {
  const parts: string[] = [];
  for (const record of input.Records ?? []) {
    let entry = `{"Data":"${base64Of(record.Data)}","PartitionKey":${JSON.stringify(record.PartitionKey)}`;
    if (record.ExplicitHashKey !== undefined)
      entry += `,"ExplicitHashKey":${JSON.stringify(record.ExplicitHashKey)}`;
    parts.push(`${entry}}`);
  }
  let body = `{"Records":[${parts.join(',')}]`;
  if (input.StreamName !== undefined) body += `,"StreamName":${JSON.stringify(input.StreamName)}`;
  if (input.StreamARN !== undefined) body += `,"StreamARN":${JSON.stringify(input.StreamARN)}`;
  if (input.StreamId !== undefined) body += `,"StreamId":${JSON.stringify(input.StreamId)}`;
  return `${body}}`;
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
    request.body = Buffer.from(putRecordsBody(input as PutRecordsInput), 'utf8');
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
