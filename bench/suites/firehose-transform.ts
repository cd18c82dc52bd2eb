/**
 * The Firehose transform on 6 MB batches against the naive baseline, in the same run: time
 * per batch (median of interleaved runs) of the JSON mode (keep and rename, no hashing) and
 * of the full SES normalisation (hashing, partition keys), and the SES normalisation's peak
 * memory (each in a fresh child process).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { FirehoseTransformationEvent } from 'aws-lambda';
import { fullTransform, jsonTransform, naiveTransform } from '../firehose-work.js';
import { type BenchRow, type BenchSuite, median } from '../harness.js';
import { batchBytes, sesBatch } from '../ses-batches.js';

const RUNS = 15;
const WARMUP = 5;
const BATCHES: [label: string, count: number, bytes: number][] = [
  ['5,600 x 700 B', 5600, 700],
  ['500 x 9 KB', 500, 9000],
];

async function millis(fn: () => unknown): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Memory probes per variant (each a fresh process); the median is reported. */
const MEMORY_RUNS = 3;

async function peakMemory(variant: 'full' | 'naive', count: number, bytes: number) {
  const runs: { peakBytes: number; batchBytes: number }[] = [];
  for (let run = 0; run < MEMORY_RUNS; run++) {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', 'bench/firehose-memory.ts', variant, String(count), String(bytes)],
      { maxBuffer: 1024 * 1024 },
    );
    runs.push(JSON.parse(stdout.trim().split('\n').at(-1) as string));
  }
  const peakBytes = median(runs.map((r) => r.peakBytes));
  return { peakBytes, batchBytes: (runs[0] as { batchBytes: number }).batchBytes };
}

export const firehoseTransformBench: BenchSuite = {
  name: 'firehose-transform',
  async run(ctx) {
    const full = fullTransform();
    const json = jsonTransform();
    const rows: BenchRow[] = [];
    for (const [label, count, bytes] of BATCHES) {
      const event: FirehoseTransformationEvent = sesBatch(count, bytes);
      const size = batchBytes(event);
      const ours: number[] = [];
      const jsonMode: number[] = [];
      const naive: number[] = [];
      for (let run = 0; run < WARMUP + RUNS; run++) {
        const oursMs = await millis(() => full(event));
        const jsonMs = await millis(() => json(event));
        const naiveMs = await millis(() => naiveTransform(event));
        if (run >= WARMUP) {
          ours.push(oursMs);
          jsonMode.push(jsonMs);
          naive.push(naiveMs);
        }
      }
      for (const [mode, transform] of [
        ['SES', full],
        ['JSON', json],
      ] as const) {
        const response = await transform(event);
        const ok = response.records.filter((r) => r.result === 'Ok').length;
        ctx.log(
          `${label}, ${mode} mode: request ${(size / 1e6).toFixed(2)} MB, ${ok} Ok, ${count - ok} Dropped or re-ingested`,
        );
      }
      const oursMem = await peakMemory('full', count, bytes);
      const naiveMem = await peakMemory('naive', count, bytes);
      const suite = `firehose-transform (${label})`;
      rows.push(
        {
          suite,
          metric: 'JSON mode (keep/rename, no hashing): time per batch vs naive',
          unit: 'ms',
          ours: median(jsonMode),
          baseline: median(naive),
          target: '<= 1.1x naive',
          met: median(jsonMode) <= 1.1 * median(naive),
        },
        {
          suite,
          metric: 'SES normalisation (hashing, partition keys): time per batch vs naive',
          unit: 'ms',
          ours: median(ours),
          baseline: median(naive),
          target: '<= 1.5x naive',
          met: median(ours) <= 1.5 * median(naive),
        },
        {
          suite,
          metric: 'SES normalisation: peak memory over batch size vs naive',
          unit: 'x',
          ours: oursMem.peakBytes / oursMem.batchBytes,
          baseline: naiveMem.peakBytes / naiveMem.batchBytes,
          target: '<= 3x batch',
          met: oursMem.peakBytes <= 3 * oursMem.batchBytes,
        },
      );
    }
    return rows;
  },
};
