/**
 * Firehose transformation events for the bench: SES events shaped like the samples in
 * events/ses, trimmed or padded to a target size, cycling through the event types.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FirehoseTransformationEvent } from 'aws-lambda';

type Json = Record<string, unknown> & { mail: Record<string, unknown> };

function samples(): Json[] {
  return readdirSync('events/ses')
    .sort()
    .map((file) => JSON.parse(readFileSync(join('events/ses', file), 'utf8')) as Json);
}

/** One SES event of about `bytes` bytes (as SES writes it, newline-terminated). */
function sized(event: Json, bytes: number, i: number): string {
  const copy = structuredClone(event);
  copy.mail.messageId = `0100018c2f4e8a1b-${String(i).padStart(8, '0')}-000000`;
  copy.mail.destination = [`user${i % 997}@example.com`];
  const headers = (copy.mail.headers as { name: string; value: string }[]).slice(0, 3);
  copy.mail.headers = headers;
  copy.mail.tags = { 'ses:configuration-set': ['pipeline-events'] };
  delete copy.mail.commonHeaders;
  delete copy.mail.sourceArn;
  let text = JSON.stringify(copy);
  for (const drop of ['tags', 'headers'] as const) {
    if (text.length + 1 <= bytes) break;
    copy.mail[drop] = drop === 'tags' ? {} : headers.slice(0, 1);
    text = JSON.stringify(copy);
  }
  const padding = bytes - 1 - text.length - '{"name":"X-Padding","value":""},'.length;
  if (padding > 0) {
    (copy.mail.headers as { name: string; value: string }[]).push({
      name: 'X-Padding',
      value: 'p'.repeat(padding),
    });
    text = JSON.stringify(copy);
  }
  return `${text}\n`;
}

export function sesBatch(count: number, bytes: number): FirehoseTransformationEvent {
  const all = samples();
  return {
    invocationId: 'bench',
    deliveryStreamArn: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/ses-events-local',
    region: 'us-east-1',
    records: Array.from({ length: count }, (_, i) => ({
      recordId: `49650000000000000000000000000000000000000000${String(i).padStart(8, '0')}`,
      approximateArrivalTimestamp: 1795300000000 + i,
      data: Buffer.from(sized(all[i % all.length] as Json, bytes, i)).toString('base64'),
    })),
  };
}

export function batchBytes(event: FirehoseTransformationEvent): number {
  return Buffer.byteLength(JSON.stringify(event));
}
