import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deaggregate, KPL_MAGIC, KplError } from '../../shared/kpl.js';
import { aggregateWithLibrary, deaggregateWithLibrary, type PlainRecord } from '../helpers/kpl.js';

const SEQ = '49590338271490256608559692538361571095921575989136588898';

const asKinesis = (encoded: { data: Buffer; partitionKey: string }) => ({
  data: encoded.data.toString('base64'),
  partitionKey: encoded.partitionKey,
  sequenceNumber: SEQ,
});

/** An aggregated record with a valid MD5 around arbitrary protobuf bytes. */
function wrap(protobuf: Buffer): Buffer {
  return Buffer.concat([KPL_MAGIC, protobuf, createHash('md5').update(protobuf).digest()]);
}

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(KplError);
    return (error as KplError).reason;
  }
  throw new Error('expected a KplError');
}

describe('KPL de-aggregation', () => {
  it('reads exactly what aws-kinesis-agg writes: keys, explicit hash keys, empty data, order', async () => {
    // Prepare
    const users: PlainRecord[] = Array.from({ length: 50 }, (_, i) => ({
      partitionKey: `ticker-${i % 7}`,
      ...(i % 3 === 0 ? { explicitHashKey: String(BigInt(i) * 10n ** 36n) } : {}),
      data: i === 5 ? Buffer.alloc(0) : Buffer.from(JSON.stringify({ i, price: i * 1.5, note: 'é✓' })),
    }));
    const encoded = await aggregateWithLibrary(users);
    expect(encoded).toHaveLength(1);
    // Act
    const ours = deaggregate(asKinesis(encoded[0] as { data: Buffer; partitionKey: string }));
    const theirs = await deaggregateWithLibrary(
      asKinesis(encoded[0] as { data: Buffer; partitionKey: string }),
    );
    // Assess
    expect(ours).toHaveLength(50);
    expect(ours.map((u) => u.data.toString('base64'))).toEqual(theirs.map((u) => u.data));
    expect(ours.map((u) => u.partitionKey)).toEqual(theirs.map((u) => u.partitionKey));
    // Where the producer set an explicit hash key, both read it. Where it did not, the library
    // reports table entry 0 (it reads the absent optional index as 0); we report none.
    ours.forEach((user, i) => {
      if (users[i]?.explicitHashKey) expect(user.explicitHashKey).toBe(theirs[i]?.explicitPartitionKey);
      else expect(user.explicitHashKey).toBeUndefined();
    });
    expect(ours.map((u) => u.subSequenceNumber)).toEqual(theirs.map((u) => u.subSequenceNumber));
    expect(ours.map((u) => u.data)).toEqual(users.map((u) => u.data));
    expect(ours[3]?.explicitHashKey).toBe(users[3]?.explicitHashKey);
    expect(ours.every((u) => u.sequenceNumber === SEQ && u.aggregated)).toBe(true);
  });

  it('agrees with aws-kinesis-agg on random user records', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            partitionKey: fc.string({ minLength: 1, maxLength: 40 }),
            data: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
          }),
          { minLength: 1, maxLength: 30 },
        ),
        async (users) => {
          for (const encoded of await aggregateWithLibrary(users)) {
            const ours = deaggregate(asKinesis(encoded));
            const theirs = await deaggregateWithLibrary(asKinesis(encoded));
            expect(ours.map((u) => [u.partitionKey, u.data.toString('base64')])).toEqual(
              theirs.map((u) => [u.partitionKey, u.data]),
            );
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('passes a record without the magic through as one user record', () => {
    const [user] = deaggregate({
      data: Buffer.from('{"plain":true}').toString('base64'),
      partitionKey: 'k',
      sequenceNumber: SEQ,
    });
    expect(user).toEqual({
      partitionKey: 'k',
      data: Buffer.from('{"plain":true}'),
      sequenceNumber: SEQ,
      subSequenceNumber: 0,
      aggregated: false,
    });
  });

  it('reports a bad MD5 and corrupt protobufs as typed errors', async () => {
    const [encoded] = await aggregateWithLibrary([{ partitionKey: 'a', data: Buffer.from('x') }]);
    const bytes = Buffer.from((encoded as { data: Buffer }).data);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 1] = (flipped.at(-1) as number) ^ 0xff;
    const record = (data: Buffer) => ({
      data: data.toString('base64'),
      partitionKey: 'a',
      sequenceNumber: SEQ,
    });
    expect(reasonOf(() => deaggregate(record(flipped)))).toBe('KPL_BAD_MD5');
    expect(reasonOf(() => deaggregate(record(Buffer.concat([KPL_MAGIC, Buffer.from([1, 2])]))))).toBe(
      'KPL_CORRUPT',
    );
    // A length that runs past the end, a record pointing at a missing key, a bad wire type.
    expect(reasonOf(() => deaggregate(record(wrap(Buffer.from([0x0a, 0x05, 0x61])))))).toBe('KPL_CORRUPT');
    expect(reasonOf(() => deaggregate(record(wrap(Buffer.from([0x1a, 0x04, 0x08, 0x03, 0x1a, 0x00])))))).toBe(
      'KPL_CORRUPT',
    );
    expect(reasonOf(() => deaggregate(record(wrap(Buffer.from([0x0f])))))).toBe('KPL_CORRUPT');
  });

  it('never throws anything but a KplError on random bytes after the magic', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, withMd5) => {
        const data = withMd5 ? wrap(Buffer.from(bytes)) : Buffer.concat([KPL_MAGIC, Buffer.from(bytes)]);
        try {
          deaggregate({ data: data.toString('base64'), partitionKey: 'k', sequenceNumber: SEQ });
        } catch (error) {
          if (!(error instanceof KplError)) throw error;
        }
      }),
      { numRuns: 3000 },
    );
  });
});
