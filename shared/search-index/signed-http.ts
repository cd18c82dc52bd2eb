/**
 * HTTP for the custom resource: requests to the collection endpoint signed with SigV4 for
 * OpenSearch Serverless (service `aoss`, with the body's SHA-256 as AOSS requires), and the
 * answer to CloudFormation's pre-signed S3 URL (no content type, as the URL was signed).
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HttpAnswer, IndexRequest } from './search-index.js';

type SourceData = string | ArrayBuffer | ArrayBufferView;

const bytes = (data: SourceData): string | Uint8Array =>
  typeof data === 'string'
    ? data
    : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);

/** SHA-256 (or its HMAC) in the shape SignatureV4 takes. */
export class Sha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

export type Fetch = typeof fetch;

export interface SignerSettings {
  region: string;
  credentials: ConstructorParameters<typeof SignatureV4>[0]['credentials'];
  fetch?: Fetch;
}

/** Sends requests to an OpenSearch Serverless collection, signed as `aoss`. */
export function signedSender(settings: SignerSettings) {
  const signer = new SignatureV4({
    service: 'aoss',
    region: settings.region,
    credentials: settings.credentials,
    sha256: Sha256,
  });
  const send = settings.fetch ?? fetch;
  return async (endpoint: string, request: IndexRequest): Promise<HttpAnswer> => {
    const url = new URL(request.path, endpoint);
    const signed = await signer.sign({
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query: {},
      headers: {
        host: url.host,
        'content-type': 'application/json',
        'x-amz-content-sha256': createHash('sha256').update(request.body).digest('hex'),
      },
      body: request.body,
    });
    const response = await send(url, {
      method: request.method,
      headers: signed.headers,
      body: request.body,
      signal: AbortSignal.timeout(30_000),
    });
    return { status: response.status, body: await response.text() };
  };
}

/** PUTs CloudFormation's answer to its pre-signed URL, trying three times. */
export function cfnResponder(send: Fetch = fetch) {
  return async (url: string, body: string): Promise<void> => {
    let last = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const response = await send(url, {
          method: 'PUT',
          headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(body)) },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        if (response.ok) return;
        last = `HTTP ${response.status}`;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
    }
    throw new Error(`could not answer CloudFormation: ${last}`);
  };
}
