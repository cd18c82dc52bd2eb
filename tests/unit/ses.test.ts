import { createHmac } from 'node:crypto';
import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FirehoseTransformConfig } from '../../shared/core/config/schema.js';
import { SesEventError } from '../../shared/core/errors.js';
import { compileTransform } from '../../shared/firehose-transform/firehose-transform.js';
import {
  emailDomain,
  headerMap,
  normalizeSesEvent,
  SES_TYPES,
  sesEventType,
} from '../../shared/firehose-transform/ses.js';
import { loadEvent, localConfig, type RawConfig } from '../helpers/fixtures.js';
import { type KeyPath, keyPaths, readAt, writeAt } from '../helpers/json-tree.js';

type Json = RawConfig;
const sample = (name: string) => loadEvent<Json>(`ses/${name}.json`);

describe('SES event normalisation', () => {
  it('has a sample of each of the ten event types, and normalises every one', () => {
    // Prepare
    const files = readdirSync('events/ses').sort();
    expect(files).toHaveLength(10);
    // Act
    const types = files.map((file) => normalizeSesEvent(loadEvent<Json>(`ses/${file}`)).eventType).sort();
    // Assess
    expect(types).toEqual([
      'bounce',
      'click',
      'complaint',
      'delivery',
      'delivery_delay',
      'open',
      'reject',
      'rendering_failure',
      'send',
      'subscription',
    ]);
  });

  it.each([
    ['send', '2026-11-21T08:00:00.000Z'],
    ['reject', '2026-11-21T08:00:00.000Z'],
    ['bounce', '2026-11-21T08:00:01.512Z'],
    ['complaint', '2026-11-21T09:12:44.000Z'],
    ['delivery', '2026-11-21T08:00:02.100Z'],
    ['open', '2026-11-21T10:05:00.000Z'],
    ['click', '2026-11-21T10:05:31.000Z'],
    ['rendering-failure', '2026-11-21T08:00:00.000Z'],
    ['delivery-delay', '2026-11-21T08:30:00.000Z'],
    ['subscription', '2026-11-21T11:00:00.000Z'],
  ])('takes @timestamp for %s from the best time the event has', (name, expected) => {
    // Act / Assess
    expect(normalizeSesEvent(sample(name))['@timestamp']).toBe(expected);
  });

  it('keeps the type-specific object under details and turns headers into a map', () => {
    // Prepare
    const event = sample('delivery');
    // Act
    const out = normalizeSesEvent(event) as Json;
    // Assess
    expect(out.details).toEqual(event.delivery);
    expect(out.mail.headers).toMatchObject({
      From: 'Shop <news@shop.example.com>',
      Subject: 'Your November offers',
      'X-Campaign': ['nov-2026', 'retention'],
    });
    expect(out.mail.recipientDomains).toEqual(['example.com']);
    expect(out.recipients).toEqual(['ana@example.com']);
    expect(out.smtpResponse).toBe('250 2.6.0 Message received');
  });

  it('surfaces bounce and complaint sub-types and diagnostic codes', () => {
    // Act / Assess
    expect(normalizeSesEvent(sample('bounce'))).toMatchObject({
      bounceType: 'Permanent',
      bounceSubType: 'General',
      recipients: ['missing@example.com'],
      diagnosticCodes: ['smtp; 550 5.1.1 user unknown'],
    });
    expect(normalizeSesEvent(sample('complaint'))).toMatchObject({
      complaintFeedbackType: 'abuse',
      complaintSubType: null,
      recipients: ['dee@example.com'],
    });
    expect(normalizeSesEvent(sample('delivery-delay'))).toMatchObject({
      delayType: 'TransientCommunicationFailure',
      diagnosticCodes: ['smtp; 421 4.4.1 Unable to connect to remote host'],
    });
  });

  it('keeps the user agent and link of opens and clicks', () => {
    // Act / Assess
    expect(normalizeSesEvent(sample('open'))).toMatchObject({
      userAgent: expect.stringContaining('iPhone'),
      ipAddress: '198.51.100.20',
    });
    expect(normalizeSesEvent(sample('click'))).toMatchObject({
      link: 'https://shop.example.com/offers?utm_source=email',
      userAgent: expect.stringContaining('Macintosh'),
    });
    expect(normalizeSesEvent(sample('rendering-failure'))).toMatchObject({ templateName: 'NovemberOffers' });
  });

  it('refuses what is not an SES event, with a typed error', () => {
    // Act / Assess
    expect(() => normalizeSesEvent({ hello: 1 })).toThrow(SesEventError);
    expect(() => normalizeSesEvent({ eventType: 'Nope', mail: {} })).toThrow(/not an SES event type/);
    expect(() => normalizeSesEvent({ eventType: 'Open' })).toThrow(/No mail object/);
    expect(() => normalizeSesEvent({ eventType: 'Open', mail: { timestamp: 'soon' } })).toThrow(
      /mail.timestamp/,
    );
  });

  it('reads notification-style events (notificationType) too', () => {
    // Prepare
    const event = sample('bounce');
    event.notificationType = event.eventType;
    delete event.eventType;
    // Act / Assess
    expect(normalizeSesEvent(event)).toMatchObject({ eventType: 'bounce', source: 'notification' });
  });

  it('extracts domains from display-name addresses, and keeps odd headers safe', () => {
    // Act / Assess
    expect(emailDomain('"Ana" <Ana@Example.COM>')).toBe('example.com');
    expect(emailDomain('no-at-sign')).toBeUndefined();
    const map = headerMap([{ name: '__proto__', value: 'x' }, { name: 'A', value: 'b' }, 'junk']);
    expect(Object.keys(map)).toEqual(['__proto__', 'A']);
    expect(({} as Json).x).toBeUndefined();
  });
});

describe('SES normalisation with the configured hashing', () => {
  const KEY = Buffer.from('ses-hash-key');
  /** HMAC-SHA256 computed here, not with the module's hasher: the oracle. */
  const hmac = (value: string) => createHmac('sha256', KEY).update(value).digest('base64url');
  // Every type is kept, so that all ten go through the hashing.
  const settings = {
    ...localConfig().firehoseTransform,
    keepEventTypes: undefined,
  } as FirehoseTransformConfig;
  const POOL = ['ana@example.com', 'bo@example.org', 'Cy <cy@example.net>', 'dee@example.com'];
  const SAMPLES = readdirSync('events/ses').map((file) => file.replace(/\.json$/, ''));

  const addresses = (minLength: number) => fc.array(fc.constantFrom(...POOL), { minLength, maxLength: 4 });
  // Recipients come from the destination, as in SES, so hashed fields must join.
  const spec = addresses(1).chain((destination) =>
    fc.record({
      destination: fc.constant(destination),
      to: addresses(0),
      cc: addresses(0),
      recipients: fc.array(fc.constantFrom(...destination), { minLength: 1, maxLength: 4 }),
    }),
  );
  type Spec = { destination: string[]; to: string[]; cc: string[]; recipients: string[] };

  /** A sample of one type, with its addresses (repeated across every field) from `spec`. */
  function sesEvent(name: string, { destination, to, cc, recipients }: Spec): RawConfig {
    const event = sample(name);
    event.mail.destination = destination;
    event.mail.commonHeaders.to = destination;
    event.mail.headers = [
      { name: 'From', value: 'Shop <news@shop.example.com>' },
      ...to.map((value) => ({ name: 'To', value })),
      ...cc.map((value) => ({ name: 'Cc', value })),
    ];
    const people = recipients.map((emailAddress) => ({ emailAddress, diagnosticCode: 'smtp; 550 5.1.1' }));
    if (event.bounce) event.bounce.bouncedRecipients = people;
    if (event.complaint) event.complaint.complainedRecipients = people;
    if (event.deliveryDelay) event.deliveryDelay.delayedRecipients = people;
    if (event.delivery) event.delivery.recipients = recipients;
    return event;
  }

  /** The normalised event as a plain tree (no shared references), before any hashing. */
  function unhashed(event: RawConfig): RawConfig {
    const doc = JSON.parse(JSON.stringify(normalizeSesEvent(structuredClone(event))));
    delete doc.mail.commonHeaders; // the configured removal
    return doc;
  }

  /** The oracle: each value a configured path reaches, in the tree, replaced by its HMAC. */
  function expectedHashing(tree: RawConfig): RawConfig {
    const expected = structuredClone(tree);
    for (const path of settings.hash) {
      for (const at of keyPaths(tree, path.split('.'))) {
        const value = readAt(tree, at);
        if (typeof value === 'string') writeAt(expected, at, hmac(value));
        else if (Array.isArray(value))
          writeAt(
            expected,
            at,
            value.map((item) => (typeof item === 'string' ? hmac(item) : item)),
          );
      }
    }
    return expected;
  }

  /** Every string in a document, with the key path it sits at. */
  function strings(value: unknown, at: KeyPath = []): [KeyPath, string][] {
    if (typeof value === 'string') return [[at, value]];
    if (typeof value !== 'object' || value === null) return [];
    return Object.entries(value).flatMap(([key, child]) => strings(child, [...at, key]));
  }

  it('hashes each configured path once, from the original, for all ten types and any repeated addresses', () => {
    const transform = compileTransform(settings, KEY);
    const twice = new Set(POOL.map((address) => hmac(hmac(address))));
    fc.assert(
      fc.property(fc.tuple(...SAMPLES.map(() => spec)), (specs) => {
        SAMPLES.forEach((name, i) => {
          // Prepare
          const event = sesEvent(name, specs[i] as Spec);
          // Act
          const outcome = transform(Buffer.from(JSON.stringify(event)).toString('base64'));
          // Assess: exactly the oracle's document ...
          if (outcome.result !== 'Ok') throw new Error(`${name}: expected Ok, got ${outcome.result}`);
          const doc = JSON.parse(Buffer.from(outcome.data, 'base64').toString('utf8'));
          expect(doc, name).toEqual(expectedHashing(unhashed(event)));
          // ... so no address is left in clear or hashed twice, and one address has one hash.
          const clear = strings(doc).filter(([, text]) => POOL.includes(text) || twice.has(text));
          expect(clear, `${name}: addresses in clear or hashed twice`).toEqual([]);
          const destination = new Set(doc.mail.destination);
          expect((doc.recipients ?? []).filter((hashed: string) => !destination.has(hashed))).toEqual([]);
        });
      }),
    );
  });

  it('never shares one array between two places of the normalised document', () => {
    // Act
    const out = normalizeSesEvent(sample('delivery'));
    // Assess
    expect(out.recipients).toEqual((out.details as RawConfig).recipients);
    expect(out.recipients).not.toBe((out.details as RawConfig).recipients);
  });
});

describe('SES normalisation, field by field', () => {
  const SAMPLES: [string, string][] = [
    ['send', 'send'],
    ['reject', 'reject'],
    ['bounce', 'bounce'],
    ['complaint', 'complaint'],
    ['delivery', 'delivery'],
    ['open', 'open'],
    ['click', 'click'],
    ['rendering-failure', 'failure'],
    ['delivery-delay', 'deliveryDelay'],
    ['subscription', 'subscription'],
  ];

  it.each(SAMPLES)('keeps the %s object (%s) whole under details', (name, key) => {
    // Prepare
    const event = sample(name);
    // Act / Assess
    expect(normalizeSesEvent(structuredClone(event)).details).toEqual(event[key]);
  });

  it('lifts what each type has to the top, and nothing from other types', () => {
    // Prepare
    const lifted = (name: string) => {
      const {
        '@timestamp': _t,
        eventType: _e,
        mail: _m,
        details: _d,
        subject,
        ...rest
      } = normalizeSesEvent(sample(name));
      // The subject is lifted for every type (from mail.commonHeaders).
      expect(subject, name).toBe(sample(name).mail.commonHeaders.subject);
      return rest;
    };
    // Act / Assess
    expect(lifted('send')).toEqual({});
    expect(lifted('subscription')).toEqual({});
    expect(lifted('reject')).toEqual({ reason: 'Bad content' });
    expect(lifted('rendering-failure')).toEqual({
      reason: "Attribute 'name' is not present in the rendering data.",
      templateName: 'NovemberOffers',
    });
    expect(Object.keys(lifted('open')).sort()).toEqual(['ipAddress', 'userAgent']);
    expect(Object.keys(lifted('click')).sort()).toEqual(['ipAddress', 'link', 'userAgent']);
    expect(lifted('delivery')).toEqual({
      recipients: ['ana@example.com'],
      smtpResponse: '250 2.6.0 Message received',
    });
    expect(Object.keys(lifted('bounce')).sort()).toEqual([
      'bounceSubType',
      'bounceType',
      'diagnosticCodes',
      'recipients',
    ]);
    expect(lifted('complaint')).toMatchObject({ userAgent: expect.any(String) });
    expect(lifted('delivery-delay')).toMatchObject({ recipients: ['slow@example.com'] });
  });

  it('lifts the subject only when the common headers have one as a string', () => {
    // Prepare
    const event = sample('send');
    const without = structuredClone(event);
    delete without.mail.commonHeaders;
    const odd = structuredClone(event);
    odd.mail.commonHeaders.subject = ['not', 'a string'];
    // Act / Assess
    expect(normalizeSesEvent(event).subject).toBe('Your November offers');
    expect(normalizeSesEvent(without)).not.toHaveProperty('subject');
    expect(normalizeSesEvent(odd)).not.toHaveProperty('subject');
  });

  it('keeps a complaint sub-type when SES gives one, and takes missing details as empty', () => {
    // Prepare
    const complaint = sample('complaint');
    complaint.complaint.complaintSubType = 'OnAccountSuppressionList';
    // Act / Assess
    expect(normalizeSesEvent(complaint).complaintSubType).toBe('OnAccountSuppressionList');
    const bare = sample('delivery');
    delete bare.delivery;
    expect(normalizeSesEvent(bare)).toMatchObject({
      details: {},
      recipients: [],
      '@timestamp': '2026-11-21T08:00:00.000Z',
    });
    const listless = sample('bounce');
    listless.bounce.bouncedRecipients = 'not a list';
    expect(normalizeSesEvent(listless)).toMatchObject({ recipients: [], diagnosticCodes: [] });
    const partial = sample('bounce');
    partial.bounce.bouncedRecipients = [
      { emailAddress: 'a@x.org' },
      'junk',
      { emailAddress: 7, diagnosticCode: 'd' },
    ];
    expect(normalizeSesEvent(partial)).toMatchObject({ recipients: ['a@x.org'], diagnosticCodes: ['d'] });
  });

  it('reads SES times in any ISO form, and refuses what is not a time string', () => {
    // Prepare
    const event = sample('open');
    event.mail.timestamp = '2026-11-21T09:00:00+01:00';
    event.open.timestamp = '2026-11-21T10:05:00Z';
    // Act / Assess
    expect(normalizeSesEvent(structuredClone(event))['@timestamp']).toBe('2026-11-21T10:05:00.000Z');
    event.open.timestamp = 1795300000000; // not a string: the mail's time is used
    expect(normalizeSesEvent(structuredClone(event))['@timestamp']).toBe('2026-11-21T08:00:00.000Z');
    event.open.timestamp = 'Sat, 21 Nov 2026 10:05:00 GMT';
    expect(normalizeSesEvent(structuredClone(event))['@timestamp']).toBe('2026-11-21T10:05:00.000Z');
    event.open.timestamp = '2026-11-21 10:05:00.000Z'; // 24 characters, not canonical
    expect(normalizeSesEvent(structuredClone(event))['@timestamp']).toBe('2026-11-21T10:05:00.000Z');
    event.mail.timestamp = 1795300000000;
    expect(() => normalizeSesEvent(event)).toThrow(/mail.timestamp/);
    expect(() => normalizeSesEvent({ eventType: 'Open', mail: null })).toThrow(/No mail object/);
  });

  it('names the type it refuses, and only notification-style events are marked as such', () => {
    // Act / Assess
    expect(() => sesEventType({})).toThrow('No eventType: not an SES event');
    expect(() => sesEventType({ eventType: 42 })).toThrow('eventType 42 is not an SES event type');
    expect(() => sesEventType({ eventType: 'x'.repeat(100) })).toThrow(`eventType "${'x'.repeat(39)} is not`);
    expect(() => sesEventType({ eventType: 'toString' })).toThrow(SesEventError);
    expect(sesEventType({ notificationType: 'Bounce' })).toBe('Bounce');
    expect(normalizeSesEvent(sample('bounce')).source).toBeUndefined();
    const both = sample('bounce');
    both.notificationType = 'Bounce';
    expect(normalizeSesEvent(both).source).toBeUndefined();
    for (const error of [() => normalizeSesEvent({ eventType: 'Open', mail: [] })]) {
      expect(error).toThrow(SesEventError);
    }
  });

  it('maps each type to the name a configuration set matches it by (SES MatchingEventTypes)', () => {
    // Act / Assess
    expect(Object.fromEntries(Object.entries(SES_TYPES).map(([type, t]) => [type, t.matchingType]))).toEqual({
      Send: 'send',
      Reject: 'reject',
      Bounce: 'bounce',
      Complaint: 'complaint',
      Delivery: 'delivery',
      Open: 'open',
      Click: 'click',
      'Rendering Failure': 'renderingFailure',
      DeliveryDelay: 'deliveryDelay',
      Subscription: 'subscription',
    });
  });

  it('maps headers, keeping every value of a repeated name in order and skipping malformed ones', () => {
    // Act / Assess
    expect(headerMap('not a list')).toEqual({});
    expect(
      headerMap([
        { name: 'To', value: 'a' },
        { name: 'To', value: 'b' },
        { name: 'To', value: 'c' },
        { name: 'X', value: 1 },
        { name: 2, value: 'y' },
        null,
      ]),
    ).toEqual({ To: ['a', 'b', 'c'] });
  });

  it('derives recipient domains once each, lower case, from display-name or bare addresses', () => {
    // Prepare
    const event = sample('send');
    event.mail.destination = [
      '"Ana" <ana@Example.com>',
      'bo@example.com',
      'ana@example.COM',
      7,
      'nobody',
      'x@',
    ];
    // Act / Assess
    expect((normalizeSesEvent(event).mail as RawConfig).recipientDomains).toEqual(['example.com']);
    event.mail.destination = 'ana@example.com';
    expect((normalizeSesEvent(event).mail as RawConfig).recipientDomains).toEqual([]);
    expect(emailDomain('ana@example.com trailing')).toBe('example.com');
    expect(emailDomain('a@b@Sub.Example.org')).toBe('sub.example.org');
    expect(emailDomain('ana@')).toBeUndefined();
  });
});
