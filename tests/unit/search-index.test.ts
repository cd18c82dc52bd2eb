import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { sesIndexBody } from '../../infra/ses-search.js';
import { silentLogger } from '../../shared/core/observability.js';
import {
  cfnAnswer,
  type HttpAnswer,
  handleIndexEvent,
  IndexCreationError,
  type IndexRequest,
  indexProperties,
  openSearchReason,
  type SearchIndexDeps,
} from '../../shared/search-index/search-index.js';
import { cfnResponder, signedSender } from '../../shared/search-index/signed-http.js';
import { jsonLines, realLogger } from '../helpers/captured-output.js';

const ENDPOINT = 'https://abc123.us-east-1.aoss.amazonaws.com';
const BODY = sesIndexBody();

function cfnEvent(type: 'Create' | 'Update' | 'Delete', properties: Record<string, unknown> = {}) {
  return {
    RequestType: type,
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:searchIndex',
    ResponseURL: 'https://cloudformation-custom-resource-response.example/answer?sig=x',
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/s/1',
    RequestId: 'req-1',
    LogicalResourceId: 'SesSearchIndex',
    ResourceType: 'Custom::SesSearchIndex',
    ResourceProperties: {
      ServiceToken: 'x',
      CollectionEndpoint: ENDPOINT,
      IndexName: 'ses',
      IndexBody: BODY,
      ...properties,
    },
    ...(type === 'Create' ? {} : { PhysicalResourceId: `${ENDPOINT}/ses`, OldResourceProperties: {} }),
  } as CloudFormationCustomResourceEvent;
}

/** Deps whose collection answers from `answers` in turn; records requests, sleeps and answers. */
function scripted(answers: (HttpAnswer | Error)[], remaining = 600_000) {
  const requests: IndexRequest[] = [];
  const answersSent: Record<string, unknown>[] = [];
  const sleeps: number[] = [];
  let left = remaining;
  const deps: SearchIndexDeps = {
    async send(endpoint, request) {
      expect(endpoint).toBe(ENDPOINT);
      requests.push(request);
      const next = answers.shift() ?? { status: 500, body: 'script ran out' };
      if (next instanceof Error) throw next;
      return next;
    },
    async respond(url, body) {
      expect(url).toContain('cloudformation-custom-resource-response');
      answersSent.push(JSON.parse(body));
    },
    async sleep(ms) {
      sleeps.push(ms);
      left -= ms;
    },
    remainingTimeMs: () => left,
    logger: silentLogger,
  };
  return { deps, requests, answersSent, sleeps };
}

const ok: HttpAnswer = { status: 200, body: '{"acknowledged":true}' };
const exists: HttpAnswer = {
  status: 400,
  body: '{"error":{"type":"resource_already_exists_exception","reason":"index [ses] already exists"},"status":400}',
};
const denied: HttpAnswer = {
  status: 403,
  body: '{"status":403,"request-id":"x","error":{"reason":"403 Forbidden","type":"Forbidden"}}',
};

describe('the search index custom resource', () => {
  it('creates the index with the generated body and answers SUCCESS with a stable id', async () => {
    // Prepare
    const { deps, requests, answersSent } = scripted([ok]);
    // Act
    await handleIndexEvent(cfnEvent('Create'), deps);
    // Assess
    expect(requests).toEqual([{ method: 'PUT', path: '/ses', body: BODY }]);
    expect(answersSent).toEqual([
      {
        Status: 'SUCCESS',
        PhysicalResourceId: `${ENDPOINT}/ses`,
        StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/s/1',
        RequestId: 'req-1',
        LogicalResourceId: 'SesSearchIndex',
        Data: { IndexName: 'ses' },
      },
    ]);
  });

  it('extends the mappings of an index that already exists (an update, or a re-created stack)', async () => {
    // Prepare
    const { deps, requests, answersSent } = scripted([exists, ok]);
    // Act
    await handleIndexEvent(cfnEvent('Update'), deps);
    // Assess
    expect(requests.map((r) => r.path)).toEqual(['/ses', '/ses/_mapping']);
    expect(JSON.parse(requests[1]?.body as string)).toEqual(JSON.parse(BODY).mappings);
    expect(answersSent[0]?.Status).toBe('SUCCESS');
  });

  it('waits out a data-access policy not yet applied, throttling and outages, backing off', async () => {
    // Prepare
    const { deps, requests, answersSent, sleeps } = scripted([
      denied,
      new Error('socket hang up'),
      { status: 429, body: '' },
      { status: 503, body: '' },
      ok,
    ]);
    // Act
    await handleIndexEvent(cfnEvent('Create'), deps);
    // Assess
    expect(requests).toHaveLength(5);
    expect(sleeps).toEqual([2_000, 4_000, 8_000, 16_000]);
    expect(answersSent[0]?.Status).toBe('SUCCESS');
  });

  it('answers FAILED with what was last seen when the time left runs out', async () => {
    // Prepare: 40 s left, 15 s kept to answer: two attempts fit.
    const { deps, requests, answersSent } = scripted([denied, denied, denied, denied], 40_000);
    // Act
    await handleIndexEvent(cfnEvent('Create'), deps);
    // Assess
    expect(requests.length).toBeLessThanOrEqual(4);
    expect(answersSent).toHaveLength(1);
    expect(answersSent[0]).toMatchObject({
      Status: 'FAILED',
      PhysicalResourceId: 'failed-req-1',
      Reason: expect.stringMatching(
        /^IndexCreationError: PUT \/ses: still 403 Forbidden: 403 Forbidden after \d attempts$/,
      ),
    });
  });

  it("answers FAILED with OpenSearch's reason when it refuses the mappings (a changed field type)", async () => {
    // Prepare
    const refused: HttpAnswer = {
      status: 400,
      body: '{"error":{"type":"illegal_argument_exception","reason":"mapper [ipAddress] cannot be changed from type [keyword] to [ip]"}}',
    };
    const { deps, answersSent, sleeps } = scripted([exists, refused]);
    // Act
    await handleIndexEvent(cfnEvent('Update'), deps);
    // Assess: no retry of a refusal; the stack's event names the field; the old id is kept.
    expect(sleeps).toEqual([]);
    expect(answersSent[0]).toMatchObject({
      Status: 'FAILED',
      PhysicalResourceId: `${ENDPOINT}/ses`,
      Reason:
        'IndexCreationError: 400 illegal_argument_exception: mapper [ipAddress] cannot be changed from type [keyword] to [ip]',
    });
  });

  it.each([
    [{ CollectionEndpoint: 'not a url' }, 'CollectionEndpoint'],
    [{ IndexName: 'Upper' }, 'IndexName'],
    [{ IndexBody: '{"settings":{}}' }, 'IndexBody'],
    [{ IndexBody: 'not json' }, 'IndexBody'],
  ])('answers FAILED without calling the collection for bad properties %j', async (properties, key) => {
    // Prepare
    const { deps, requests, answersSent } = scripted([ok]);
    // Act
    await handleIndexEvent(cfnEvent('Create', properties), deps);
    // Assess
    expect(requests).toEqual([]);
    expect(answersSent[0]?.Status).toBe('FAILED');
    expect(answersSent[0]?.Reason).toMatch(new RegExp(`^IndexPropertiesError: ${key}`));
  });

  it('keeps the index on Delete (its documents go with the collection or their retention)', async () => {
    // Prepare
    const { deps, requests, answersSent } = scripted([]);
    // Act
    await handleIndexEvent(cfnEvent('Delete'), deps);
    // Assess
    expect(requests).toEqual([]);
    expect(answersSent).toEqual([
      expect.objectContaining({ Status: 'SUCCESS', PhysicalResourceId: `${ENDPOINT}/ses` }),
    ]);
  });

  it('answers CloudFormation exactly once, whatever the collection does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<'Create' | 'Update' | 'Delete'>('Create', 'Update', 'Delete'),
        fc.array(
          fc.oneof(
            fc.constantFrom(ok, exists, denied, { status: 400, body: 'x' }, { status: 502, body: '' }),
            fc.constant(new Error('reset')),
          ),
          { maxLength: 8 },
        ),
        async (type, answers) => {
          // Prepare
          const { deps, answersSent } = scripted([...answers], 60_000);
          // Act
          await handleIndexEvent(cfnEvent(type), deps);
          // Assess
          expect(answersSent).toHaveLength(1);
          expect(['SUCCESS', 'FAILED']).toContain(answersSent[0]?.Status);
          expect(answersSent[0]?.PhysicalResourceId).toBeTypeOf('string');
        },
      ),
      { numRuns: 200 },
    );
  });

  describe('with the real Powertools Logger', () => {
    afterEach(() => {
      vi.restoreAllMocks();
      vi.unstubAllEnvs();
    });

    it('logs what it did and each wait, without the index body', async () => {
      // Prepare
      const { logger, output } = realLogger('search-index');
      const { deps } = scripted([denied, ok]);
      // Act
      await handleIndexEvent(cfnEvent('Create'), { ...deps, logger });
      // Assess
      const lines = jsonLines(output);
      expect(lines.map((l) => l.message)).toEqual(['collection not ready, waiting', 'index created']);
      expect(lines[0]).toMatchObject({
        level: 'WARN',
        service: 'search-index',
        status: 403,
        attempt: 1,
        path: '/ses',
      });
      expect(lines[1]).toMatchObject({ level: 'INFO', index: 'ses', requestType: 'Create' });
      expect(output.join('')).not.toContain('ignore_above');
    });
  });
});

describe('the signed HTTP of the custom resource, against a local server', () => {
  let server: Server;
  let base: string;
  const seen: { method?: string; url?: string; headers: IncomingMessage['headers']; body: string }[] = [];
  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        seen.push({
          method: request.method,
          url: request.url,
          headers: request.headers,
          body: Buffer.concat(chunks).toString(),
        });
        response.writeHead(request.url === '/refuse' ? 403 : 200, { 'content-type': 'application/json' });
        response.end('{"acknowledged":true}');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());

  it('signs requests to the collection for aoss, with the body hash AOSS requires', async () => {
    // Prepare
    const send = signedSender({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' },
    });
    seen.length = 0;
    // Act
    const answer = await send(base, { method: 'PUT', path: '/ses', body: BODY });
    // Assess
    expect(answer).toEqual({ status: 200, body: '{"acknowledged":true}' });
    const [request] = seen;
    expect(request?.method).toBe('PUT');
    expect(request?.url).toBe('/ses');
    expect(request?.body).toBe(BODY);
    expect(request?.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(BODY).digest('hex'));
    expect(request?.headers['x-amz-security-token']).toBe('token');
    expect(request?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/aoss\/aws4_request, SignedHeaders=[a-z0-9;-]*content-type;host;x-amz-content-sha256;x-amz-date[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
  });

  it('answers CloudFormation with a PUT of the JSON, with no content type (as the URL was signed)', async () => {
    // Prepare
    seen.length = 0;
    // Act
    await cfnResponder()(`${base}/answer?X-Amz-Signature=x`, '{"Status":"SUCCESS"}');
    // Assess
    expect(seen).toEqual([
      expect.objectContaining({
        method: 'PUT',
        url: '/answer?X-Amz-Signature=x',
        body: '{"Status":"SUCCESS"}',
      }),
    ]);
    expect(seen[0]?.headers['content-type']).toBe('');
    expect(seen[0]?.headers['content-length']).toBe('20');
  });

  it('tries the answer three times, then says it could not answer', async () => {
    // Prepare
    seen.length = 0;
    // Act
    const attempt = cfnResponder()(`${base}/refuse`, '{}');
    // Assess
    await expect(attempt).rejects.toThrow('could not answer CloudFormation: HTTP 403');
    expect(seen).toHaveLength(3);
  });
});

describe('the search index custom resource, at its edges', () => {
  it.each([
    [{ CollectionEndpoint: 42 }, 'CollectionEndpoint'],
    [{ CollectionEndpoint: `${ENDPOINT}/path` }, 'CollectionEndpoint'],
    [{ CollectionEndpoint: `x${ENDPOINT}` }, 'CollectionEndpoint'],
    [{ CollectionEndpoint: 'ftp://abc.aoss.amazonaws.com' }, 'CollectionEndpoint'],
    [{ IndexName: 7 }, 'IndexName'],
    [{ IndexName: '_ses' }, 'IndexName'],
    [{ IndexBody: { mappings: {} } }, 'IndexBody'],
    [{ IndexBody: '{"mappings":null}' }, 'IndexBody'],
    [{ IndexBody: '{"mappings":[]}' }, 'IndexBody'],
    [{ IndexBody: '{"mappings":"x"}' }, 'IndexBody'],
  ])('refuses %j', (properties, key) => {
    // Act / Assess
    expect(() =>
      indexProperties({ CollectionEndpoint: ENDPOINT, IndexName: 'ses', IndexBody: BODY, ...properties }),
    ).toThrow(new RegExp(`^${key}`));
  });

  it('takes an http endpoint too (a local stand-in) and keeps the body as given', () => {
    // Act
    const props = indexProperties({
      CollectionEndpoint: 'http://127.0.0.1:9200',
      IndexName: 'ses-2',
      IndexBody: BODY,
    });
    // Assess
    expect(props).toEqual({
      endpoint: 'http://127.0.0.1:9200',
      index: 'ses-2',
      mappings: JSON.parse(BODY).mappings,
      body: BODY,
    });
  });

  it.each([
    [{ status: 400, body: '{"error":{"type":"x","reason":"why"}}' }, '400 x: why'],
    [{ status: 400, body: '{"error":{"type":"x"}}' }, '400 x: '],
    [{ status: 400, body: '{"error":{"reason":"no type"}}' }, 'HTTP 400'],
    [{ status: 400, body: '{"error":"flat"}' }, 'HTTP 400'],
    [{ status: 409, body: 'not json' }, 'HTTP 409'],
    [
      { status: 400, body: `{"error":{"type":"t","reason":"${'r'.repeat(900)}"}}` },
      `400 t: ${'r'.repeat(493)}`,
    ],
  ])("reads OpenSearch's reason from %j", (answer, reason) => {
    // Act / Assess
    expect(openSearchReason(answer)).toBe(reason);
  });

  it.each([
    [201, 'SUCCESS', 1],
    [299, 'SUCCESS', 1],
    [300, 'FAILED', 1],
    [404, 'FAILED', 1],
    [500, 'FAILED', 4],
    [499, 'FAILED', 1],
  ])('treats a %i answer to the create as %s after %i attempts', async (status, result, attempts) => {
    // Prepare: 40 s left: 500s are retried until the time runs out (4 attempts), others are final.
    const { deps, requests, answersSent } = scripted(Array(6).fill({ status, body: '' }), 40_000);
    // Act
    await handleIndexEvent(cfnEvent('Create'), deps);
    // Assess
    expect(requests).toHaveLength(attempts);
    expect(answersSent[0]?.Status).toBe(result);
  });

  it('extends the mappings only when the index exists, not on any other 400', async () => {
    // Prepare
    const other = { status: 400, body: '{"error":{"type":"mapper_parsing_exception","reason":"bad"}}' };
    const notExistsButNamed = { status: 404, body: 'resource_already_exists_exception' };
    // Act
    const first = scripted([other, ok]);
    await handleIndexEvent(cfnEvent('Create'), first.deps);
    const second = scripted([notExistsButNamed, ok]);
    await handleIndexEvent(cfnEvent('Create'), second.deps);
    const mapping = scripted([exists, { status: 201, body: '' }]);
    await handleIndexEvent(cfnEvent('Update'), mapping.deps);
    const refusedMapping = scripted([exists, { status: 300, body: '' }]);
    await handleIndexEvent(cfnEvent('Update'), refusedMapping.deps);
    // Assess
    expect(first.requests).toHaveLength(1);
    expect(first.answersSent[0]).toMatchObject({
      Status: 'FAILED',
      Reason: 'IndexCreationError: 400 mapper_parsing_exception: bad',
    });
    expect(second.requests).toHaveLength(1);
    expect(mapping.answersSent[0]?.Status).toBe('SUCCESS');
    expect(refusedMapping.answersSent[0]).toMatchObject({
      Status: 'FAILED',
      Reason: 'IndexCreationError: HTTP 300',
    });
  });

  it('stops waiting exactly when the next wait would eat into the time kept to answer', async () => {
    // Prepare: 17 s left: a 2 s wait leaves exactly the 15 s kept, so it waits once.
    const exactly = scripted([denied, denied, denied], 17_000);
    const short = scripted([denied, denied], 16_999);
    // Act
    await handleIndexEvent(cfnEvent('Create'), exactly.deps);
    await handleIndexEvent(cfnEvent('Create'), short.deps);
    // Assess
    expect(exactly.sleeps).toEqual([2_000]);
    expect(short.sleeps).toEqual([]);
    expect(short.answersSent[0]?.Reason).toBe(
      'IndexCreationError: PUT /ses: still 403 Forbidden: 403 Forbidden after 1 attempts',
    );
  });

  it('says what a network error was when it gives up on it', async () => {
    // Prepare
    const { deps, answersSent } = scripted([new Error('getaddrinfo ENOTFOUND')], 10_000);
    // Act
    await handleIndexEvent(cfnEvent('Create'), deps);
    // Assess
    expect(answersSent[0]?.Reason).toBe(
      'IndexCreationError: PUT /ses: still getaddrinfo ENOTFOUND after 1 attempts',
    );
  });

  it('caps its waits at 30 seconds', async () => {
    // Prepare
    const { deps, sleeps } = scripted([...Array(7).fill(denied), ok]);
    // Act
    await handleIndexEvent(cfnEvent('Create'), deps);
    // Assess
    expect(sleeps).toEqual([2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('keeps a FAILED reason within 1,000 characters', () => {
    // Act
    const answer = cfnAnswer(cfnEvent('Create'), {
      physicalId: 'p',
      error: new IndexCreationError('x'.repeat(2_000)),
    });
    // Assess
    expect(answer.Reason).toBe(`IndexCreationError: ${'x'.repeat(980)}`);
    expect(cfnAnswer(cfnEvent('Create'), { physicalId: 'p' })).not.toHaveProperty('Data');
  });

  describe('with the real Powertools Logger', () => {
    afterEach(() => {
      vi.restoreAllMocks();
      vi.unstubAllEnvs();
    });

    it('logs a kept index on Delete and a failure with its reason', async () => {
      // Prepare
      const { logger, output } = realLogger('search-index');
      // Act
      await handleIndexEvent(cfnEvent('Delete'), { ...scripted([]).deps, logger });
      await handleIndexEvent(cfnEvent('Update', { IndexName: 'Bad' }), { ...scripted([]).deps, logger });
      // Assess
      const lines = jsonLines(output);
      expect(lines[0]).toMatchObject({
        level: 'INFO',
        message: 'index kept: its documents go with the collection or their retention',
        physicalId: `${ENDPOINT}/ses`,
      });
      expect(lines[1]).toMatchObject({
        level: 'ERROR',
        message: 'index not made',
        error: 'IndexName must be a lower-case index name',
        requestType: 'Update',
      });
    });
  });
});
