import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { emailDomain, headerMap, normalizeSesEvent, SesEventError } from '../../shared/ses.js';
import { loadEvent, type RawConfig } from '../helpers/fixtures.js';

type Json = RawConfig;
const sample = (name: string) => loadEvent<Json>(`ses/${name}.json`);

describe('SES event normalisation', () => {
  it('has a sample of each of the ten event types, and normalises every one', () => {
    const files = readdirSync('events/ses').sort();
    expect(files).toHaveLength(10);
    const types = files.map((file) => normalizeSesEvent(loadEvent<Json>(`ses/${file}`)).eventType).sort();
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
    expect(normalizeSesEvent(sample(name))['@timestamp']).toBe(expected);
  });

  it('keeps the type-specific object under details and turns headers into a map', () => {
    const event = sample('delivery');
    const out = normalizeSesEvent(event) as Json;
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
    expect(() => normalizeSesEvent({ hello: 1 })).toThrow(SesEventError);
    expect(() => normalizeSesEvent({ eventType: 'Nope', mail: {} })).toThrow(/not an SES event type/);
    expect(() => normalizeSesEvent({ eventType: 'Open' })).toThrow(/No mail object/);
    expect(() => normalizeSesEvent({ eventType: 'Open', mail: { timestamp: 'soon' } })).toThrow(
      /mail.timestamp/,
    );
  });

  it('reads notification-style events (notificationType) too', () => {
    const event = sample('bounce');
    event.notificationType = event.eventType;
    delete event.eventType;
    expect(normalizeSesEvent(event)).toMatchObject({ eventType: 'bounce', source: 'notification' });
  });

  it('extracts domains from display-name addresses, and keeps odd headers safe', () => {
    expect(emailDomain('"Ana" <Ana@Example.COM>')).toBe('example.com');
    expect(emailDomain('no-at-sign')).toBeUndefined();
    const map = headerMap([{ name: '__proto__', value: 'x' }, { name: 'A', value: 'b' }, 'junk']);
    expect(Object.keys(map)).toEqual(['__proto__', 'A']);
    expect(({} as Json).x).toBeUndefined();
  });
});
