/**
 * A local stand-in for EventBridge's PutEvents on loopback (no emulator exists for it).
 * It speaks the JSON protocol the SDK uses and checks what AWS checks: at most 10 entries
 * per call, each entry and the call strictly under 256 KB as EventBridge counts them, Source,
 * DetailType and Detail present, Detail a JSON object, no `aws.` sources. It keeps what it
 * accepted, per bus, and can be told to fail entries (for tests of partial failures).
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export const MAX_ENTRIES = 10;
/** AWS: the entries of a call together must be LESS than this many bytes. */
export const MAX_BYTES = 256 * 1024;
const TIME_BYTES = 14;

export interface StoredEvent {
  eventId: string;
  bus: string;
  source: string;
  detailType: string;
  detail: unknown;
  resources: string[];
  time?: string;
  traceHeader?: string;
}

interface Entry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  Resources?: string[];
  EventBusName?: string;
  Time?: number | string;
  TraceHeader?: string;
}

export interface EventBridgeStandIn {
  endpoint: string;
  /** Accepted events, in arrival order. */
  events: StoredEvent[];
  /** Every PutEvents call's entry count, including refused calls. */
  calls: number[];
  /** The next `count` entries fail with `code` (ThrottlingException, InternalFailure, ...). */
  failNext(count: number, code: string): void;

  stop(): Promise<void>;
}

function entrySize(entry: Entry): number {
  let size = entry.Time !== undefined ? TIME_BYTES : 0;
  for (const text of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])]) {
    if (typeof text === 'string') size += Buffer.byteLength(text, 'utf8');
  }
  return size;
}

/** Why an entry is refused, as EventBridge would say it, or undefined. */
function entryError(entry: Entry): { ErrorCode: string; ErrorMessage: string } | undefined {
  if (!entry.Source || !entry.DetailType || !entry.Detail) {
    return {
      ErrorCode: 'InvalidArgument',
      ErrorMessage: 'Parameters Source, DetailType and Detail are required',
    };
  }
  if (entry.Source.startsWith('aws.')) {
    return { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source' };
  }
  let detail: unknown;
  try {
    detail = JSON.parse(entry.Detail);
  } catch {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed' };
  }
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail must be a JSON object' };
  }
  return undefined;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
  res.end(JSON.stringify(body));
}

export async function startEventBridgeStandIn(): Promise<EventBridgeStandIn> {
  const events: StoredEvent[] = [];
  const calls: number[] = [];
  const failures: string[] = [];

  const handle = (req: IncomingMessage, res: ServerResponse, body: string) => {
    if (req.headers['x-amz-target'] !== 'AWSEvents.PutEvents') {
      reply(res, 400, { __type: 'UnknownOperationException', message: `Only PutEvents is served here` });
      return;
    }
    const entries = (JSON.parse(body) as { Entries?: Entry[] }).Entries ?? [];
    calls.push(entries.length);
    if (entries.length === 0 || entries.length > MAX_ENTRIES) {
      reply(res, 400, {
        __type: 'ValidationException',
        message: `Entries must hold 1 to ${MAX_ENTRIES} entries`,
      });
      return;
    }
    const total = entries.reduce((sum, entry) => sum + entrySize(entry), 0);
    if (total >= MAX_BYTES) {
      reply(res, 400, {
        __type: 'ValidationException',
        message: `Total size of the entries must be less than ${MAX_BYTES} bytes`,
      });
      return;
    }
    const results = entries.map((entry) => {
      const error = entryError(entry);
      if (error) return error;
      const injected = failures.shift();
      if (injected) return { ErrorCode: injected, ErrorMessage: `${injected} (injected by the stand-in)` };
      const eventId = randomUUID();
      events.push({
        eventId,
        bus: entry.EventBusName ?? 'default',
        source: entry.Source as string,
        detailType: entry.DetailType as string,
        detail: JSON.parse(entry.Detail as string),
        resources: entry.Resources ?? [],
        ...(entry.Time !== undefined ? { time: new Date(Number(entry.Time) * 1000).toISOString() } : {}),
        ...(entry.TraceHeader ? { traceHeader: entry.TraceHeader } : {}),
      });
      return { EventId: eventId };
    });
    reply(res, 200, { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results });
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        handle(req, res, Buffer.concat(chunks).toString('utf8'));
      } catch (error) {
        reply(res, 400, { __type: 'SerializationException', message: String(error) });
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (typeof address !== 'object' || address === null)
    throw new Error('The PutEvents stand-in did not start');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    events,
    calls,
    failNext(count, code) {
      for (let i = 0; i < count; i++) failures.push(code);
    },

    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
