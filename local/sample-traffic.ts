/**
 * Sample traffic for the local run of sqs-to-kinesis: page visits, partner clicks and
 * FIFO orders, with a few messages that cannot be mapped. Each message says where it
 * should end up, so the run (and its test) can check that it did.
 */
import type { PipelineConfig } from '../shared/core/config/schema.js';
import type { DlqReason } from '../shared/core/errors.js';

export interface SampleMessage {
  queueArn: string;
  body: string;
  attributes?: Record<string, string>;
  groupId?: string;
  /** A unique tag inside the body (or the body itself), to find the message again. */
  tag: string;
  /** Its target stream and partition key, the DLQ reason, or dropped by the route's filter. */
  expect: { stream: string; key: string } | { dlq: DlqReason } | { filtered: 'source' | 'function' };
}

/** A queue the local run polls although no route names it (as after a route was removed). */
export function unroutedQueueArn(config: PipelineConfig): string {
  const someArn = config.sqsToKinesis?.routes[0]?.queueArn ?? 'arn:aws:sqs:us-east-1:123456789012:x';
  return `${someArn.slice(0, someArn.lastIndexOf(':'))}:legacy-signups`;
}

export function sampleTraffic(config: PipelineConfig): SampleMessage[] {
  const routes = config.sqsToKinesis?.routes ?? [];
  const byName = (name: string) => routes.find((route) => route.name === name);
  const out: SampleMessage[] = [];
  const visits = byName('page-visits');
  if (visits) {
    for (let i = 0; i < 12; i++) {
      const tag = `visit-${i}`;
      const body = {
        page: `/products/${i}`,
        user: { id: `u-${i % 4}`, email: `user${i}@example.com` },
        tag,
        at: i,
      };
      out.push({
        queueArn: visits.queueArn,
        body: JSON.stringify(body),
        tag,
        expect: { stream: visits.target, key: `u-${i % 4}` },
      });
    }
    if (visits.filter) {
      // The sample route keeps visits that are not from a bot (in the function): these two are
      // acknowledged and counted as filtered, written nowhere.
      for (const i of [0, 1]) {
        const tag = `visit-bot-${i}`;
        out.push({
          queueArn: visits.queueArn,
          body: JSON.stringify({ page: '/robots.txt', user: { id: `bot-${i}` }, bot: true, tag }),
          tag,
          expect: { filtered: visits.filter.where },
        });
      }
    }
    out.push({
      queueArn: visits.queueArn,
      body: 'visit-bad-json {',
      tag: 'visit-bad-json',
      expect: { dlq: 'BODY_NOT_JSON' },
    });
    out.push({
      queueArn: visits.queueArn,
      body: JSON.stringify({ page: '/', tag: 'visit-no-user' }),
      tag: 'visit-no-user',
      expect: { dlq: 'PARTITION_KEY_MISSING' },
    });
  }
  const clicks = byName('partner-clicks');
  if (clicks) {
    if (clicks.filter) {
      // The sample route keeps clicks that are not hovers (at the event source): these two are
      // deleted from the queue and never reach the function.
      for (const i of [0, 1]) {
        const tag = `click-hover-${i}`;
        out.push({
          queueArn: clicks.queueArn,
          body: JSON.stringify({ button: 'hover', tag }),
          attributes: { tenant: 'tenant-0' },
          tag,
          expect: { filtered: clicks.filter.where },
        });
      }
    }
    for (let i = 0; i < 6; i++) {
      const tag = `click-${i}`;
      out.push({
        queueArn: clicks.queueArn,
        body: JSON.stringify({ button: 'buy', tag }),
        attributes: { tenant: `tenant-${i % 2}` },
        tag,
        expect: { stream: clicks.target, key: `tenant-${i % 2}` },
      });
    }
    out.push({
      queueArn: clicks.queueArn,
      body: JSON.stringify({ button: 'buy', tag: 'click-no-tenant' }),
      tag: 'click-no-tenant',
      expect: { dlq: 'PARTITION_KEY_MISSING' },
    });
  }
  const orders = byName('orders');
  if (orders) {
    for (let i = 0; i < 9; i++) {
      const tag = `order-${i}`;
      out.push({
        queueArn: orders.queueArn,
        body: JSON.stringify({ orderId: `o-${i}`, step: i, tag }),
        groupId: `customer-${i % 3}`,
        tag,
        expect: { stream: orders.target, key: `customer-${i % 3}` },
      });
    }
  }
  out.push({
    queueArn: unroutedQueueArn(config),
    body: JSON.stringify({ signup: true, tag: 'unrouted-0' }),
    tag: 'unrouted-0',
    expect: { dlq: 'NO_ROUTE' },
  });
  return out;
}
