/**
 * A fault-injecting HTTP proxy on loopback, in front of a Kinesis emulator (or any of the
 * local stand-ins). At seeded rates it:
 * - fails single entries of batch calls as the services do (Kinesis PutRecords, EventBridge
 *   PutEvents, Firehose PutRecordBatch): the failed entries are not forwarded, and the
 *   upstream's answer for the others is merged back in request order;
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
  /** Share of batch entries (PutRecords, PutEvents, PutRecordBatch) failed one by one. */
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

type EntryError = { ErrorCode: string; ErrorMessage: string };

/** The batch calls whose entries can fail one by one, and how each names its parts. */
interface BatchOperation {
  request: string;
  response: string;
  failedCount: string;
  /** The two retryable per-entry errors the service answers with. */
  errors: [EntryError, EntryError];
  /** What identifies an entry across retries. */
  key(entry: Record<string, string>): string;
}

const BATCH_OPERATIONS: Record<string, BatchOperation> = {
  'Kinesis_20131202.PutRecords': {
    request: 'Records',
    response: 'Records',
    failedCount: 'FailedRecordCount',
    errors: [
      {
        ErrorCode: 'ProvisionedThroughputExceededException',
        ErrorMessage: 'Rate exceeded for shard (injected)',
      },
      { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal service failure (injected)' },
    ],
    key: (entry) => `${entry.PartitionKey}:${entry.Data}`,
  },
  'AWSEvents.PutEvents': {
    request: 'Entries',
    response: 'Entries',
    failedCount: 'FailedEntryCount',
    errors: [
      { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded (injected)' },
      { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal service failure (injected)' },
    ],
    key: (entry) => `${entry.Source}:${entry.Detail}`,
  },
  'Firehose_20150804.PutRecordBatch': {
    request: 'Records',
    response: 'RequestResponses',
    failedCount: 'FailedPutCount',
    errors: [
      { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down (injected)' },
      { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal service failure (injected)' },
    ],
    key: (entry) => String(entry.Data),
  },
};

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
    let failed: Map<number, EntryError> | undefined;
    const operation = BATCH_OPERATIONS[String(req.headers['x-amz-target'] ?? '')];
    if (operation && rates.entryFailure > 0) {
      const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown[]>;
      const entries = parsed[operation.request] ?? [];
      failed = new Map();
      entries.forEach((entry, i) => {
        const draw = decide(`entry:${operation.key(entry as Record<string, string>)}`);
        if (draw() < rates.entryFailure) failed?.set(i, operation.errors[draw() < 0.5 ? 0 : 1] as EntryError);
      });
      if (failed.size === entries.length) {
        // Everything failed: answer without the upstream.
        counts.failedEntries += failed.size;
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(
          JSON.stringify({
            [operation.failedCount]: failed.size,
            [operation.response]: entries.map((_, i) => failed?.get(i)),
          }),
        );
        return;
      }
      forwarded = Buffer.from(
        JSON.stringify({ ...parsed, [operation.request]: entries.filter((_, i) => !failed?.has(i)) }),
        'utf8',
      );
    }
    const answer = await forward(target, req, forwarded);
    let out = answer.body;
    if (operation && failed && failed.size > 0 && answer.status === 200) {
      const upstreamResult = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
      const results = (upstreamResult[operation.response] as unknown[] | undefined) ?? [];
      const merged: unknown[] = [];
      let next = 0;
      const total = results.length + failed.size;
      for (let i = 0; i < total; i++) merged.push(failed.get(i) ?? results[next++]);
      counts.failedEntries += failed.size;
      out = Buffer.from(
        JSON.stringify({
          ...upstreamResult,
          [operation.failedCount]: Number(upstreamResult[operation.failedCount] ?? 0) + failed.size,
          [operation.response]: merged,
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
