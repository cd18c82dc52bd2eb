/**
 * Per-group order for FIFO routes, as a property: over generated FIFO traffic (several
 * groups, DLQ-bound messages mixed in) and generated fault schedules (entry failures,
 * call failures, timeouts and ambiguous resets after the write, refusals, invocations
 * short of time), run as SQS FIFO delivers it (batches of at most 10 from the head of the
 * queue; what is handed back comes again, in place) until the queue is empty:
 * - per group, the first occurrence of each message across the streams follows queue order;
 * - a message handed back was never confirmed written in that invocation, and what is
 *   handed back of a group in a batch is a suffix of it;
 * - every message ends in its place: its stream, or the DLQ for the unmappable ones.
 */
import type { SQSRecord } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PipelineConfig } from '../../shared/core/config/schema.js';
import { parseDlqEnvelope } from '../../shared/core/dlq.js';
import { prepareMapper, processSqsBatch } from '../../shared/sqs-to-kinesis/sqs-to-kinesis.js';
import { fixedNow, noSleep, recordingLogger, recordingMetrics } from '../helpers/doubles.js';
import {
  type CallFault,
  type EntryFault,
  evenShards,
  type FaultSchedule,
  faultyKinesis,
  landingShard,
  type StoredRecord,
} from '../helpers/faulty-kinesis.js';
import { loadEvent, queueArn, testConfig } from '../helpers/fixtures.js';

const QUEUE = queueArn('orders.fifo');
const TARGET = 'events-test';
const DLQ = 'dlq-test';
/** SQS FIFO event sources deliver at most 10 messages per batch. */
const FIFO_BATCH = 10;
/** Enough invocations to drain any generated queue once the faults have run out. */
const MAX_INVOCATIONS = 200;

/**
 * The route as written plain, and with KPL aggregation on a 2-shard target: keyed by group
 * (a group stays on one shard), or by message (a group spreads over both shards, so its
 * aggregated records on different shards must still go out in queue order).
 */
const VARIANTS = [
  { name: 'plain records', aggregation: false, partitionKey: { from: 'messageGroupId' } },
  { name: 'aggregated, keyed by group', aggregation: true, partitionKey: { from: 'messageGroupId' } },
  { name: 'aggregated, keyed by message', aggregation: true, partitionKey: { from: 'body', path: 'n' } },
] as const;

function variantConfig(variant: (typeof VARIANTS)[number]) {
  return testConfig((raw) => {
    if (variant.aggregation) {
      raw.streams['events-${stage}'] = {
        capacity: { mode: 'PROVISIONED', shards: 2 },
        aggregation: { format: 'kpl', maxUserRecords: 4, maxRecordBytes: 2048 },
      };
    }
    raw.sqsToKinesis.routes[0] = {
      queueArn: QUEUE,
      visibilityTimeoutSeconds: 180,
      target: 'events-${stage}',
      partitionKey: variant.partitionKey,
      eventSource: { batchSize: FIFO_BATCH },
    };
  });
}

interface Message {
  n: number;
  group: string;
  /** Position in its group, in queue order. */
  k: number;
  bad: boolean;
}

/** A FIFO record built from the sample event, for message `m`. */
function fifoRecord(m: Message): SQSRecord {
  const record = loadEvent('sqs-fifo.json').Records[0] as SQSRecord;
  record.messageId = `m-${m.n}`;
  record.eventSourceARN = QUEUE;
  record.attributes.MessageGroupId = m.group;
  record.body = m.bad ? `not json #${m.n}#` : JSON.stringify({ n: m.n, group: m.group, k: m.k });
  return record;
}

/** Which message a stored record carries (its body, or the payload of its DLQ envelope). */
function messageOf(record: StoredRecord): number {
  const body = record.stream === DLQ ? parseDlqEnvelope(record.data).payload.data : record.data;
  return Number(
    /#(\d+)#|"n":(\d+)/
      .exec(body)
      ?.slice(1)
      .find((x) => x !== undefined),
  );
}

const trafficArb = fc
  .array(fc.record({ group: fc.constantFrom('g0', 'g1', 'g2', 'g3'), bad: fc.nat(4).map((x) => x === 0) }), {
    minLength: 1,
    maxLength: 30,
  })
  .map((drawn) => {
    const counts = new Map<string, number>();
    return drawn.map(({ group, bad }, n): Message => {
      const k = counts.get(group) ?? 0;
      counts.set(group, k + 1);
      return { n, group, k, bad };
    });
  });

const callFaultArb = fc.constantFrom<CallFault>(
  'none',
  'none',
  'unavailable',
  'ambiguous',
  'timeout',
  'refused',
);
const entryFaultArb = fc.constantFrom<EntryFault>('none', 'none', 'none', 'throttled', 'internal', 'refused');
const scheduleArb: fc.Arbitrary<FaultSchedule & { time: number[] }> = fc.record({
  calls: fc.array(callFaultArb, { maxLength: 40 }),
  entries: fc.array(entryFaultArb, { maxLength: 80 }),
  // Time left at each invocation: plenty, just past the 3 s reserve, or inside it.
  time: fc.array(fc.constantFrom(60_000, 3_100, 1_000), { maxLength: 10 }),
});

interface Run {
  stored: StoredRecord[];
  /** Per invocation: the batch and the ids handed back. */
  invocations: { batch: Message[]; handedBack: Set<number>; fromCall: number; toCall: number }[];
  remaining: Message[];
}

/** Delivers `traffic` as an SQS FIFO event source would until the queue is empty. */
async function deliver(
  config: PipelineConfig,
  traffic: Message[],
  schedule: FaultSchedule & { time: number[] },
): Promise<Run> {
  const kinesis = faultyKinesis(schedule, evenShards(2));
  const mapper = prepareMapper(config);
  let queue = [...traffic];
  const invocations: Run['invocations'] = [];
  for (let i = 0; queue.length > 0 && i < MAX_INVOCATIONS; i++) {
    const batch = queue.slice(0, FIFO_BATCH);
    const fromCall = kinesis.calls();
    const response = await processSqsBatch(
      { Records: batch.map(fifoRecord) },
      {
        ...mapper,
        kinesis: kinesis.client,
        logger: recordingLogger(),
        metrics: recordingMetrics(),
        now: fixedNow,
        sleep: noSleep,
        remainingTimeMs: () => schedule.time[i] ?? 60_000,
        policy: { maxAttempts: 3 },
      },
    );
    const handedBack = new Set(response.batchItemFailures.map((f) => Number(f.itemIdentifier.slice(2))));
    invocations.push({ batch, handedBack, fromCall, toCall: kinesis.calls() });
    queue = queue.filter((m) => handedBack.has(m.n) || !batch.includes(m));
  }
  return { stored: kinesis.stored, invocations, remaining: queue };
}

/** Writes of a message whose first occurrence comes after a later message of its group. */
function orderViolations(traffic: Message[], stored: StoredRecord[]): string[] {
  const seen = new Set<number>();
  const highest = new Map<string, number>();
  const violations: string[] = [];
  for (const record of stored) {
    const m = traffic[messageOf(record)] as Message;
    if (seen.has(m.n)) continue; // a duplicate of its own earlier copy
    seen.add(m.n);
    const top = highest.get(m.group) ?? -1;
    if (m.k < top) violations.push(`${m.group}: #${m.k} first written after #${top}`);
    highest.set(m.group, Math.max(top, m.k));
  }
  return violations;
}

/** Messages handed back although the writer had been told they were written. */
function writtenButHandedBack(run: Run): string[] {
  const out: string[] = [];
  for (const { handedBack, fromCall, toCall } of run.invocations) {
    for (const record of run.stored) {
      const n = messageOf(record);
      if (record.confirmed && record.call >= fromCall && record.call < toCall && handedBack.has(n)) {
        out.push(`m-${n}`);
      }
    }
  }
  return out;
}

/** Groups whose handed-back messages in a batch are not the tail of that group in the batch. */
function nonSuffixHandBacks(run: Run): string[] {
  const out: string[] = [];
  for (const { batch, handedBack } of run.invocations) {
    const stopped = new Set<string>();
    for (const m of batch) {
      if (handedBack.has(m.n)) stopped.add(m.group);
      else if (stopped.has(m.group)) out.push(`m-${m.n} acknowledged after an earlier message of ${m.group}`);
    }
  }
  return out;
}

describe.each(VARIANTS)('FIFO routes keep per-group order under any faults ($name)', (variant) => {
  it('writes first occurrences in queue order, never hands back a written message, loses nothing', async () => {
    const config = variantConfig(variant);
    let aggregatedRecords = 0;
    await fc.assert(
      fc.asyncProperty(trafficArb, scheduleArb, async (traffic, schedule) => {
        // Act
        const run = await deliver(config, traffic, schedule);
        const perRecord = new Map<number, number>();
        for (const r of run.stored) perRecord.set(r.kinesisRecord, (perRecord.get(r.kinesisRecord) ?? 0) + 1);
        aggregatedRecords += [...perRecord.values()].filter((n) => n > 1).length;
        // Assess
        expect(run.remaining).toEqual([]);
        expect(orderViolations(traffic, run.stored)).toEqual([]);
        expect(writtenButHandedBack(run)).toEqual([]);
        expect(nonSuffixHandBacks(run)).toEqual([]);
        for (const m of traffic) {
          const places = new Set(run.stored.filter((r) => messageOf(r) === m.n).map((r) => r.stream));
          expect([...places], `m-${m.n}`).toEqual([m.bad ? DLQ : TARGET]);
        }
        // Aggregated or not, each message is on the shard its own key hashes to.
        for (const record of run.stored.filter((r) => r.stream === TARGET)) {
          expect(record.shardId).toBe(landingShard(evenShards(2), record.partitionKey));
        }
      }),
      { numRuns: 150 },
    );
    // The aggregated variants did aggregate (else they would test the plain path twice).
    if (variant.aggregation) expect(aggregatedRecords).toBeGreaterThan(100);
    else expect(aggregatedRecords).toBe(0);
  });
});
