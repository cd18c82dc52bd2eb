/**
 * A fault-injecting HTTP proxy on loopback, in front of a Kinesis emulator (or any of the
 * local stand-ins). At seeded rates it:
 * - fails single PutRecords entries with ProvisionedThroughputExceededException or
 *   InternalFailure, as Kinesis does: the failed entries are not forwarded, and the
 *   emulator's answer for the others is merged back in request order;
 * - answers whole calls with 500 or 503 (nothing forwarded);
 * - resets connections, before forwarding or after (the answer is lost, the write is not);
 * - delays answers (past the client's timeout, when the delay says so).
 * Each decision is a hash of the seed, what is being decided (this call's body, this entry's
 * key and data) and how many times that same thing was seen before, never of arrival order.
 * So the same seed and the same calls give the same faults, and a failing run replays; when
 * concurrent pollers batch messages differently from run to run, the counts differ a little.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';

export interface FaultRates {
  /** Share of PutRecords entries failed one by one. */
  entryFailure: number;
  /** Share of calls answered 500/503 without being forwarded. */
  callFailure: number;
  /** Share of calls whose connection is reset. */
  connectionReset: number;
  /** Share of calls answered late, and how late. */
  delay: number;
  delayMs: number;
}

export const NO_FAULTS: FaultRates = {
  entryFailure: 0,
  callFailure: 0,
  connectionReset: 0,
  delay: 0,
  delayMs: 0,
};

export interface FaultCounts {
  calls: number;
  failedEntries: number;
  failedCalls: number;
  resets: number;
  delayed: number;
}

export interface FaultProxy {
  endpoint: string;
  counts: FaultCounts;
  /** Changes the rates from now on (0 everywhere to stop injecting). */
  setRates(rates: Partial<FaultRates>): void;
  stop(): Promise<void>;
}

interface PutRecordsBody {
  Records: unknown[];
  [key: string]: unknown;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function forward(
  target: URL,
  req: IncomingMessage,
  body: Buffer,
): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers, host: target.host, 'content-length': String(body.byteLength) };
    const upstream = request(
      { hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers },
      async (res) => {
        const chunks: Buffer[] = [];
        for await (const chunk of res) chunks.push(chunk as Buffer);
        resolve({
          status: res.statusCode ?? 500,
          headers: { 'content-type': String(res.headers['content-type'] ?? 'application/x-amz-json-1.1') },
          body: Buffer.concat(chunks),
        });
      },
    );
    upstream.on('error', reject);
    upstream.end(body);
  });
}

const ENTRY_ERRORS = [
  { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard (injected)' },
  { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal service failure (injected)' },
];

/** Decisions in [0, 1) from the seed, a subject and its nth sighting: order-independent. */
export function seededDecider(seed: number) {
  const seen = new Map<string, number>();
  return (subject: string): (() => number) => {
    const nth = (seen.get(subject) ?? 0) + 1;
    seen.set(subject, nth);
    let draw = 0;
    return () =>
      createHash('sha1')
        .update(`${seed}\u0000${subject}\u0000${nth}\u0000${draw++}`)
        .digest()
        .readUInt32BE(0) /
      2 ** 32;
  };
}

export async function startFaultProxy(
  upstream: string,
  seed: number,
  initial: Partial<FaultRates> = {},
): Promise<FaultProxy> {
  const target = new URL(upstream);
  const decide = seededDecider(seed);
  let rates: FaultRates = { ...NO_FAULTS, ...initial };
  const counts: FaultCounts = { calls: 0, failedEntries: 0, failedCalls: 0, resets: 0, delayed: 0 };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    counts.calls++;
    // Decide every call-level fault up front, from this call's own draws.
    const random = decide(`call:${createHash('sha1').update(body).digest('hex')}`);
    const reset = random() < rates.connectionReset;
    const resetAfterForwarding = random() < 0.5;
    const failCall = random() < rates.callFailure;
    const delay = random() < rates.delay;
    if (reset) {
      counts.resets++;
      // Half the resets lose the request, half lose only the answer (the write happened):
      // the second kind is where at-least-once delivery writes duplicates.
      if (resetAfterForwarding) await forward(target, req, body).catch(() => undefined);
      req.socket.destroy();
      return;
    }
    if (failCall) {
      counts.failedCalls++;
      const status = random() < 0.5 ? 500 : 503;
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(
        JSON.stringify({
          __type: status === 503 ? 'ServiceUnavailable' : 'InternalFailure',
          message: 'injected',
        }),
      );
      return;
    }
    let forwarded = body;
    let failed: Map<number, (typeof ENTRY_ERRORS)[number]> | undefined;
    const isPutRecords = String(req.headers['x-amz-target'] ?? '').endsWith('.PutRecords');
    if (isPutRecords && rates.entryFailure > 0) {
      const parsed = JSON.parse(body.toString('utf8')) as PutRecordsBody;
      failed = new Map();
      parsed.Records.forEach((_, i) => {
        if (random() < rates.entryFailure)
          failed?.set(i, ENTRY_ERRORS[random() < 0.5 ? 0 : 1] as (typeof ENTRY_ERRORS)[number]);
      });
      if (failed.size === parsed.Records.length) {
        // Everything failed: answer without the emulator.
        counts.failedEntries += failed.size;
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(
          JSON.stringify({
            FailedRecordCount: failed.size,
            Records: parsed.Records.map((_, i) => failed?.get(i)),
          }),
        );
        return;
      }
      forwarded = Buffer.from(
        JSON.stringify({ ...parsed, Records: parsed.Records.filter((_, i) => !failed?.has(i)) }),
        'utf8',
      );
    }
    const answer = await forward(target, req, forwarded);
    let out = answer.body;
    if (failed && failed.size > 0 && answer.status === 200) {
      const upstreamResult = JSON.parse(answer.body.toString('utf8')) as {
        FailedRecordCount: number;
        Records: unknown[];
      };
      const merged: unknown[] = [];
      let next = 0;
      const total = upstreamResult.Records.length + failed.size;
      for (let i = 0; i < total; i++) merged.push(failed.get(i) ?? upstreamResult.Records[next++]);
      counts.failedEntries += failed.size;
      out = Buffer.from(
        JSON.stringify({
          ...upstreamResult,
          FailedRecordCount: upstreamResult.FailedRecordCount + failed.size,
          Records: merged,
        }),
      );
    }
    if (delay) {
      counts.delayed++;
      await new Promise((resolve) => setTimeout(resolve, rates.delayMs));
    }
    if (res.destroyed) return;
    res.writeHead(answer.status, { 'content-type': answer.headers['content-type'] as string });
    res.end(out);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) {
        res.writeHead(500);
        res.end();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('The fault proxy did not start');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    counts,
    setRates(next) {
      rates = { ...rates, ...next };
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
