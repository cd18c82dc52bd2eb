/**
 * DLQ redrive: read envelopes from the DLQ stream, choose some (reason, source, time), and
 * send each original back where it came from: its SQS queue, its Kinesis stream, or its
 * event bus. Planning is pure (a dry run shows the plan); sending goes through ports.
 */
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  type ShardIteratorType,
} from '@aws-sdk/client-kinesis';
import { type DlqEnvelope, parseDlqEnvelope } from '../../shared/core/dlq.js';

export type StartingPoint =
  | { kind: 'trim-horizon' }
  | { kind: 'timestamp'; at: Date }
  | { kind: 'sequence'; sequenceNumber: string };

export interface RedriveFilter {
  reasons?: readonly string[];
  /** A substring of the source ARN (a queue or stream name, an account id). */
  source?: string;
  since?: Date;
  until?: Date;
  limit?: number;
}

export interface DlqRecord {
  sequenceNumber: string;
  shardId: string;
  envelope: DlqEnvelope;
}

export type Destination =
  | {
      kind: 'sqs';
      queueArn: string;
      body: string;
      attributes: Record<string, unknown>;
      groupId?: string;
      dedupId?: string;
    }
  | { kind: 'kinesis'; streamArn: string; data: Buffer; partitionKey: string }
  | { kind: 'eventbridge'; busArn: string; event: Record<string, unknown> }
  | { kind: 'skip'; why: string };

export interface PlannedRedrive {
  record: DlqRecord;
  destination: Destination;
}

/** Reads the DLQ stream from a starting point, shard by shard, to its current end. */
export async function readDlq(
  kinesis: KinesisClient,
  stream: string,
  from: StartingPoint,
): Promise<DlqRecord[]> {
  const params = stream.startsWith('arn:') ? { StreamARN: stream } : { StreamName: stream };
  const shards = (await kinesis.send(new ListShardsCommand(params))).Shards ?? [];
  const out: DlqRecord[] = [];
  for (const shard of shards) {
    const shardId = shard.ShardId as string;
    const type: ShardIteratorType =
      from.kind === 'trim-horizon'
        ? 'TRIM_HORIZON'
        : from.kind === 'timestamp'
          ? 'AT_TIMESTAMP'
          : 'AT_SEQUENCE_NUMBER';
    let iterator: string | undefined;
    try {
      iterator = (
        await kinesis.send(
          new GetShardIteratorCommand({
            ...params,
            ShardId: shardId,
            ShardIteratorType: type,
            ...(from.kind === 'timestamp' ? { Timestamp: from.at } : {}),
            ...(from.kind === 'sequence' ? { StartingSequenceNumber: from.sequenceNumber } : {}),
          }),
        )
      ).ShardIterator;
    } catch (error) {
      // A sequence number belongs to one shard; the others cannot start there.
      if (from.kind === 'sequence') continue;
      throw error;
    }
    while (iterator) {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const record of page.Records ?? []) {
        try {
          out.push({
            sequenceNumber: record.SequenceNumber as string,
            shardId,
            envelope: parseDlqEnvelope(record.Data as Uint8Array),
          });
        } catch {
          // Not one of our envelopes: nothing to redrive.
        }
      }
      if ((page.Records ?? []).length === 0 && (page.MillisBehindLatest ?? 0) === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return out;
}

export function selectRecords(records: readonly DlqRecord[], filter: RedriveFilter): DlqRecord[] {
  const chosen = records.filter(({ envelope }) => {
    if (filter.reasons?.length && !filter.reasons.includes(envelope.reason)) return false;
    if (filter.source && !String(envelope.source.arn).includes(filter.source)) return false;
    const failedAt = Date.parse(envelope.failedAt);
    if (filter.since && failedAt < filter.since.getTime()) return false;
    if (filter.until && failedAt > filter.until.getTime()) return false;
    return true;
  });
  return filter.limit === undefined ? chosen : chosen.slice(0, filter.limit);
}

function payloadBytes(envelope: DlqEnvelope): Buffer {
  return Buffer.from(envelope.payload.data, envelope.payload.encoding === 'base64' ? 'base64' : 'utf8');
}

/** Where one envelope's original goes back to. */
export function destinationOf(envelope: DlqEnvelope): Destination {
  const source = envelope.source;
  switch (source.type) {
    case 'sqs':
      return {
        kind: 'sqs',
        queueArn: source.arn,
        body: payloadBytes(envelope).toString('utf8'),
        attributes: (source.messageAttributes as Record<string, unknown> | undefined) ?? {},
        ...(typeof source.messageGroupId === 'string'
          ? { groupId: source.messageGroupId, dedupId: `redrive-${source.id}`.slice(0, 128) }
          : {}),
      };
    case 'kinesis':
      return {
        kind: 'kinesis',
        streamArn: source.arn,
        data: payloadBytes(envelope),
        partitionKey: `redrive-${source.id}`.slice(0, 256),
      };
    case 'eventbridge': {
      try {
        const event = JSON.parse(payloadBytes(envelope).toString('utf8')) as Record<string, unknown>;
        if (typeof event !== 'object' || event === null) throw new Error('not an object');
        return { kind: 'eventbridge', busArn: source.arn, event };
      } catch {
        return { kind: 'skip', why: 'the original is not an EventBridge event' };
      }
    }
    default:
      return { kind: 'skip', why: `no way back to a ${source.type} source` };
  }
}

export function planRedrive(records: readonly DlqRecord[]): PlannedRedrive[] {
  return records.map((record) => ({ record, destination: destinationOf(record.envelope) }));
}

/** One line per destination and reason, for the dry run. */
export function summarisePlan(plan: readonly PlannedRedrive[]): string[] {
  const counts = new Map<string, number>();
  for (const { record, destination } of plan) {
    const where =
      destination.kind === 'sqs'
        ? destination.queueArn
        : destination.kind === 'kinesis'
          ? destination.streamArn
          : destination.kind === 'eventbridge'
            ? destination.busArn
            : `skipped: ${destination.why}`;
    const key = `${record.envelope.reason.padEnd(22)} -> ${destination.kind === 'skip' ? '' : `${destination.kind} `}${where}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort().map(([key, n]) => `${String(n).padStart(6)}  ${key}`);
}

/** How each destination kind is sent to; the CLI passes SDK-backed ones, tests may pass others. */
export interface RedrivePorts {
  sendToQueue(destination: Extract<Destination, { kind: 'sqs' }>): Promise<void>;
  putToStream(destination: Extract<Destination, { kind: 'kinesis' }>): Promise<void>;
  putEvent(destination: Extract<Destination, { kind: 'eventbridge' }>): Promise<void>;
  progress?(done: number, total: number): void;
}

export interface RedriveSummary {
  sent: number;
  skipped: number;
  failed: { sequenceNumber: string; error: string }[];
}

export async function executeRedrive(
  plan: readonly PlannedRedrive[],
  ports: RedrivePorts,
): Promise<RedriveSummary> {
  const summary: RedriveSummary = { sent: 0, skipped: 0, failed: [] };
  for (const [i, { record, destination }] of plan.entries()) {
    try {
      if (destination.kind === 'sqs') await ports.sendToQueue(destination);
      else if (destination.kind === 'kinesis') await ports.putToStream(destination);
      else if (destination.kind === 'eventbridge') await ports.putEvent(destination);
      else {
        summary.skipped++;
        continue;
      }
      summary.sent++;
    } catch (error) {
      summary.failed.push({ sequenceNumber: record.sequenceNumber, error: (error as Error).message });
    } finally {
      ports.progress?.(i + 1, plan.length);
    }
  }
  return summary;
}
