/**
 * The validator's schema check: 10,000 EventBridge events of about 1 KB checked against the
 * configured schemas by the code the handler runs (the registry from event-schemas.ts,
 * looked up by source and detail-type), against zod's `safeParse` of hand-written schemas
 * that say the same, in the same run (interleaved, medians). Both must agree on every event.
 */
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import type { EventValidatorConfig } from '../../shared/core/config/schema.js';
import { compileSchemas, schemaBundleReader } from '../../shared/event-validator/event-schemas.js';
import { loadStageConfig } from '../../tools/lib/config-files.js';
import { type BenchRow, type BenchSuite, median } from '../harness.js';

const EVENTS = 10_000;
const RUNS = 7;
const WARMUP = 2;
const SOURCE = 'cwi.servicea';
/** One event in this many breaks its schema (both sides then collect every error). */
const INVALID_EVERY = 20;

/** What config/schemas/cwi.servicea/*.json say, written in zod. */
const zodSchemas: Record<string, z.ZodType> = {
  NEW_WIDGET: z.strictObject({
    widgetId: z.string().regex(/^w-[0-9a-f]{8}$/),
    name: z.string().min(1).max(200),
    price: z.strictObject({ amount: z.number().min(0), currency: z.enum(['EUR', 'USD', 'GBP']) }),
    tags: z.array(z.string()).max(20).optional(),
    createdAt: z.iso.datetime({ offset: true }),
  }),
  WIDGET_DELETED: z.strictObject({
    widgetId: z.string().regex(/^w-[0-9a-f]{8}$/),
    deletedAt: z.iso.datetime({ offset: true }),
    reason: z.string().optional(),
  }),
};

interface BenchEvent {
  source: string;
  'detail-type': string;
  detail: Record<string, unknown>;
}

/** The detail of event `i`: widgets created (most) and deleted, about 1 KB with the envelope. */
function detailOf(i: number): { type: string; detail: Record<string, unknown> } {
  const widgetId = `w-${(0x10000000 + i).toString(16).slice(-8)}`;
  const at = new Date(Date.UTC(2026, 10, 21, 9, 0, i % 60)).toISOString();
  if (i % 4 === 3) {
    const reason = `Retired after review ${i}: ${'no longer sold in any region; '.repeat(22)}`;
    return { type: 'WIDGET_DELETED', detail: { widgetId, deletedAt: at, reason } };
  }
  return {
    type: 'NEW_WIDGET',
    detail: {
      widgetId,
      name: `Widget ${i} ${'with a long descriptive name '.repeat(5)}`.slice(0, 180),
      price: { amount: (i % 9973) / 100, currency: ['EUR', 'USD', 'GBP'][i % 3] },
      tags: Array.from({ length: 16 }, (_, t) => `tag-${t}-${'x'.repeat(20)}`),
      createdAt: at,
    },
  };
}

/** Breaks one field in a way both validators must catch. */
function broken(detail: Record<string, unknown>, i: number): Record<string, unknown> {
  return i % 2 === 0 ? { ...detail, widgetId: 'W-NOT-AN-ID' } : { ...detail, unexpected: true };
}

function events(): BenchEvent[] {
  return Array.from({ length: EVENTS }, (_, i) => {
    const { type, detail } = detailOf(i);
    return {
      version: '0',
      id: `6a7e8feb-b491-4cf7-a9f1-${String(i).padStart(12, '0')}`,
      'detail-type': type,
      source: SOURCE,
      account: '111122223333',
      time: '2026-11-21T09:00:00Z',
      region: 'us-east-1',
      resources: [],
      detail: i % INVALID_EVERY === INVALID_EVERY - 1 ? broken(detail, i) : detail,
    };
  });
}

function millis(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export const eventValidatorBench: BenchSuite = {
  name: 'event-validator',
  async run(ctx) {
    const settings = loadStageConfig('local').config.eventValidator as EventValidatorConfig;
    const bundle = JSON.parse(readFileSync('config/event-schemas.bundle.json', 'utf8'));
    const registry = compileSchemas(settings, schemaBundleReader(bundle));
    const input = events();
    const ours = (event: BenchEvent) => {
      const validate = registry.get(event.source, event['detail-type']);
      if (!validate) throw new Error(`No schema for ${event['detail-type']}`);
      return validate(event.detail).length === 0;
    };
    const zods = (event: BenchEvent) =>
      (zodSchemas[event['detail-type']] as z.ZodType).safeParse(event.detail).success;
    const disagree = input.filter((event) => ours(event) !== zods(event)).length;
    if (disagree > 0) throw new Error(`The two validators disagree on ${disagree} events: not comparable`);
    const valid = input.filter(ours).length;
    const bytes = input.reduce((n, event) => n + Buffer.byteLength(JSON.stringify(event)), 0) / EVENTS;
    ctx.log(`${EVENTS} events of ${bytes.toFixed(0)} B on average, ${valid} valid; both sides agree on each`);
    const oursMs: number[] = [];
    const zodMs: number[] = [];
    for (let run = 0; run < WARMUP + RUNS; run++) {
      const o = millis(() => input.forEach(ours));
      const b = millis(() => input.forEach(zods));
      if (run < WARMUP) continue;
      oursMs.push(o);
      zodMs.push(b);
    }
    const rate = (ms: number) => EVENTS / (ms / 1000);
    const row: BenchRow = {
      suite: 'event-validator (schema check)',
      metric: `events/s, ${EVENTS.toLocaleString('en')} x ${(bytes / 1000).toFixed(1)} KB, vs zod safeParse`,
      unit: 'ev/s',
      ours: rate(median(oursMs)),
      baseline: rate(median(zodMs)),
      target: '>= 2.5x zod',
      met: rate(median(oursMs)) >= 2.5 * rate(median(zodMs)),
    };
    return [row];
  },
};
