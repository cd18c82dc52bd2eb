import { describe, expect, it } from 'vitest';
import type { DlqEnvelope } from '../../shared/core/dlq.js';
import { type DlqRecord, destinationOf, selectRecords } from '../../tools/lib/redrive.js';

const envelope = (over: Partial<DlqEnvelope> & { source: DlqEnvelope['source'] }): DlqEnvelope => ({
  version: 1,
  reason: 'BODY_NOT_JSON',
  message: 'm',
  handler: 'h',
  failedAt: '2026-11-21T10:00:00.000Z',
  payload: { encoding: 'utf8', data: '{"a":1}' },
  ...over,
});

describe('redrive planning', () => {
  it('sends each kind of source back where it came from', () => {
    // Act / Assess
    expect(
      destinationOf(
        envelope({
          source: {
            type: 'sqs',
            arn: 'arn:aws:sqs:eu-west-1:111122223333:orders.fifo',
            id: 'm-1',
            messageGroupId: 'g',
          },
        }),
      ),
    ).toEqual({
      kind: 'sqs',
      queueArn: 'arn:aws:sqs:eu-west-1:111122223333:orders.fifo',
      body: '{"a":1}',
      attributes: {},
      groupId: 'g',
      dedupId: 'redrive-m-1',
    });
    const kinesis = destinationOf(
      envelope({
        payload: { encoding: 'base64', data: Buffer.from([1, 2, 3]).toString('base64') },
        source: {
          type: 'kinesis',
          arn: 'arn:aws:kinesis:eu-west-1:111122223333:stream/trades',
          id: '4965:3',
        },
      }),
    );
    expect(kinesis).toMatchObject({
      kind: 'kinesis',
      data: Buffer.from([1, 2, 3]),
      partitionKey: 'redrive-4965:3',
    });
    const event = { source: 'cwi.servicea', 'detail-type': 'NEW_WIDGET', detail: { a: 1 } };
    expect(
      destinationOf(
        envelope({
          payload: { encoding: 'utf8', data: JSON.stringify(event) },
          source: {
            type: 'eventbridge',
            arn: 'arn:aws:events:eu-west-1:111122223333:event-bus/central',
            id: 'e-1',
          },
        }),
      ),
    ).toEqual({
      kind: 'eventbridge',
      busArn: 'arn:aws:events:eu-west-1:111122223333:event-bus/central',
      event,
    });
    expect(
      destinationOf(
        envelope({
          source: { type: 'eventbridge', arn: 'b', id: 'x' },
          payload: { encoding: 'utf8', data: 'x{' },
        }),
      ),
    ).toEqual({
      kind: 'skip',
      why: 'the original is not an EventBridge event',
    });
    expect(destinationOf(envelope({ source: { type: 'firehose', arn: 'f', id: 'r' } }))).toMatchObject({
      kind: 'skip',
    });
  });

  it('filters by reason, source, time and count', () => {
    // Prepare
    const records: DlqRecord[] = [
      {
        sequenceNumber: '1',
        shardId: 's',
        envelope: envelope({ source: { type: 'sqs', arn: 'arn:q1', id: 'a' } }),
      },
      {
        sequenceNumber: '2',
        shardId: 's',
        envelope: envelope({
          reason: 'NO_ROUTE',
          failedAt: '2026-11-22T00:00:00.000Z',
          source: { type: 'sqs', arn: 'arn:q2', id: 'b' },
        }),
      },
      {
        sequenceNumber: '3',
        shardId: 's',
        envelope: envelope({ source: { type: 'sqs', arn: 'arn:q2', id: 'c' } }),
      },
    ];
    const ids = (chosen: DlqRecord[]) => chosen.map((r) => r.sequenceNumber);
    // Act / Assess
    expect(ids(selectRecords(records, { reasons: ['NO_ROUTE'] }))).toEqual(['2']);
    expect(ids(selectRecords(records, { source: 'q2' }))).toEqual(['2', '3']);
    expect(ids(selectRecords(records, { since: new Date('2026-11-21T12:00:00Z') }))).toEqual(['2']);
    expect(ids(selectRecords(records, { until: new Date('2026-11-21T12:00:00Z'), limit: 1 }))).toEqual(['1']);
  });
});
