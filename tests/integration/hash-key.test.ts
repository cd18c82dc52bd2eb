/**
 * The hash key through the real Powertools Parameters SSM provider and the real SDK client,
 * against a local stand-in for SSM's GetParameter: decrypted, kept for its max age, read
 * again after it (a rotated key is picked up without a cold start).
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { secretLoader, ssmParameters } from '../../shared/core/firehose-clients.js';

let server: Server;
const requests: Record<string, unknown>[] = [];
let value = 'key-1';

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      requests.push({ target: request.headers['x-amz-target'], ...JSON.parse(body) });
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(
        JSON.stringify({
          Parameter: { Name: '/pipeline/hash-key', Type: 'SecureString', Value: value, Version: 1 },
        }),
      );
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  vi.stubEnv('AWS_ENDPOINT_URL_SSM', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'x');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'x');
});
afterAll(() => {
  vi.unstubAllEnvs();
  server.close();
});

describe('the hash key from SSM', () => {
  it('is read decrypted, kept for its max age, and read again after it', async () => {
    // Prepare
    const load = secretLoader(
      { envName: 'PIPELINE_HASH_KEY', parameter: '/pipeline/hash-key', configKey: 'x', maxAgeSeconds: 1 },
      {},
      ssmParameters,
    );
    // Act
    const first = (await load()).toString();
    value = 'key-2';
    const cached = (await load()).toString();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const rotated = (await load()).toString();
    // Assess
    expect([first, cached, rotated]).toEqual(['key-1', 'key-1', 'key-2']);
    expect(requests).toEqual([
      { target: 'AmazonSSM.GetParameter', Name: '/pipeline/hash-key', WithDecryption: true },
      { target: 'AmazonSSM.GetParameter', Name: '/pipeline/hash-key', WithDecryption: true },
    ]);
  });
});
