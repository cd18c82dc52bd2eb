/**
 * Generated SES events of all ten types, with every field SES documents for each (event
 * publishing, and notifications for bounces, complaints and deliveries), optional fields
 * present or not, sender-chosen header, tag and link-tag names, both IP families, times in
 * several ISO forms, and long and non-ASCII strings where SES passes text through.
 */
import fc from 'fast-check';
import { SES_EVENT_TYPES, type SesEventType } from '../../shared/core/config/schema.js';

type Json = Record<string, unknown>;

/** Optional fields: each present or absent. */
const optional = (fields: Record<string, fc.Arbitrary<unknown>>) =>
  fc.record(fields, { requiredKeys: [] }) as fc.Arbitrary<Json>;

const LOCAL = ['ana', 'bo', 'cy.d', 'x+tag', 'ünï'];
const DOMAINS = ['example.com', 'Example.ORG', 'mail.example.net', 'bücher.example'];
const address = fc
  .tuple(fc.constantFrom(...LOCAL), fc.constantFrom(...DOMAINS), fc.boolean())
  .map(([local, domain, named]) => (named ? `"${local}" <${local}@${domain}>` : `${local}@${domain}`));
const addresses = (minLength = 0) => fc.array(address, { minLength, maxLength: 4 });

/** Text as senders and receiving servers write it: any characters, now and then very long. */
const freeText = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme', maxLength: 60 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 300, maxLength: 3000 }) },
);
const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/);

/** Times as SES writes them, and other ISO 8601 forms a date field accepts. */
const time = fc
  .tuple(
    fc.date({
      min: new Date('2020-01-01T00:00:00Z'),
      max: new Date('2035-12-31T23:59:59Z'),
      noInvalidDate: true,
    }),
    fc.constantFrom('ms', 'seconds', 'offset'),
  )
  .map(([date, form]) => {
    const iso = date.toISOString();
    if (form === 'seconds') return `${iso.slice(0, 19)}Z`;
    if (form === 'offset') return `${iso.slice(0, 23)}+00:00`;
    return iso;
  });

const ipv4 = fc.ipV4();
const ip = fc.oneof(ipv4, fc.ipV6());
const stringMap = fc.dictionary(
  fc.oneof(token, fc.constantFrom('ses:source-ip', 'ses:from-domain', 'ses:caller-identity')),
  fc.array(fc.string({ maxLength: 30 }), { minLength: 1, maxLength: 3 }),
  { maxKeys: 6 },
);

const HEADER_NAMES = ['From', 'To', 'Cc', 'Subject', 'Date', 'Message-ID', 'MIME-Version', 'X-Campaign'];
const headers = fc.array(
  fc.record({ name: fc.oneof(fc.constantFrom(...HEADER_NAMES), token), value: fc.string({ maxLength: 80 }) }),
  { maxLength: 12 },
);

const commonHeaders = fc
  .tuple(
    fc.record({ from: addresses(1), to: addresses(1), messageId: token }),
    optional({
      cc: addresses(1),
      bcc: addresses(1),
      sender: addresses(1),
      replyTo: addresses(1),
      returnPath: address,
      date: fc.constant('Sat, 21 Nov 2026 08:00:00 +0000'),
      subject: freeText,
    }),
  )
  .map(([required, rest]) => ({ ...required, ...rest }));

function mailObject(notification: boolean): fc.Arbitrary<Json> {
  return fc
    .tuple(
      fc.record({
        timestamp: time,
        messageId: token,
        source: address,
        sourceArn: fc.constant('arn:aws:ses:us-east-1:123456789012:identity/example.com'),
        sendingAccountId: fc.constant('123456789012'),
        destination: addresses(1),
      }),
      optional({ headersTruncated: fc.boolean(), headers, commonHeaders, tags: stringMap }),
      notification ? fc.record({ sourceIp: ip, callerIdentity: token }) : fc.constant({}),
    )
    .map(([required, rest, extra]) => ({ ...required, ...rest, ...extra }));
}

const recipients = (extra: Record<string, fc.Arbitrary<unknown>>) =>
  fc.array(
    fc.tuple(fc.record({ emailAddress: address }), optional(extra)).map(([a, b]) => ({ ...a, ...b })),
    { minLength: 1, maxLength: 3 },
  );
const diagnostic = fc.oneof(fc.constant('smtp; 550 5.1.1 user unknown'), freeText);
const topics = fc.record({
  unsubscribeAll: fc.boolean(),
  topicSubscriptionStatus: fc.array(
    fc.record({ topicName: token, subscriptionStatus: fc.constantFrom('OptIn', 'OptOut') }),
    { maxLength: 3 },
  ),
});

/** The type-specific object of each type, with its documented fields. */
const DETAILS: Record<SesEventType, fc.Arbitrary<Json>> = {
  Send: fc.constant({}),
  Reject: fc.record({ reason: fc.constant('Bad content') }),
  Bounce: fc
    .tuple(
      fc.record({
        bounceType: fc.constantFrom('Undetermined', 'Permanent', 'Transient'),
        bounceSubType: fc.constantFrom('General', 'NoEmail', 'Suppressed', 'MailboxFull'),
        bouncedRecipients: recipients({
          action: fc.constant('failed'),
          status: token,
          diagnosticCode: diagnostic,
        }),
        timestamp: time,
        feedbackId: token,
      }),
      optional({ reportingMTA: freeText, remoteMtaIp: ip }),
    )
    .map(([a, b]) => ({ ...a, ...b })),
  Complaint: fc
    .tuple(
      fc.record({
        complainedRecipients: recipients({}),
        timestamp: time,
        feedbackId: token,
        complaintSubType: fc.constantFrom(null, 'OnAccountSuppressionList'),
      }),
      optional({
        userAgent: freeText,
        complaintFeedbackType: fc.constantFrom('abuse', 'fraud', 'other'),
        arrivalDate: time,
      }),
    )
    .map(([a, b]) => ({ ...a, ...b })),
  Delivery: fc
    .tuple(
      fc.record({
        timestamp: time,
        processingTimeMillis: fc.nat(600_000),
        recipients: addresses(1),
        smtpResponse: freeText,
        reportingMTA: token,
      }),
      optional({ remoteMtaIp: ip }),
    )
    .map(([a, b]) => ({ ...a, ...b })),
  Open: fc.record({ ipAddress: ip, timestamp: time, userAgent: freeText }),
  Click: fc
    .tuple(
      fc.record({
        ipAddress: ip,
        timestamp: time,
        userAgent: freeText,
        link: fc.webUrl({ withQueryParameters: true }),
      }),
      optional({ linkTags: stringMap }),
    )
    .map(([a, b]) => ({ ...a, ...b })),
  'Rendering Failure': fc.record({ templateName: token, errorMessage: freeText }),
  DeliveryDelay: fc
    .tuple(
      fc.record({
        delayType: fc.constantFrom(
          'InternalFailure',
          'General',
          'MailboxFull',
          'TransientCommunicationFailure',
        ),
        expirationTime: time,
        delayedRecipients: recipients({ status: token, diagnosticCode: diagnostic }),
        timestamp: time,
      }),
      optional({ reportingMTA: token }),
    )
    .map(([a, b]) => ({ ...a, ...b })),
  Subscription: fc.record({
    contactList: token,
    timestamp: time,
    source: token,
    newTopicPreferences: topics,
    oldTopicPreferences: topics,
  }),
};

/** Where each type keeps its details (SES's own names). */
const DETAIL_KEYS: Record<SesEventType, string> = {
  Send: 'send',
  Reject: 'reject',
  Bounce: 'bounce',
  Complaint: 'complaint',
  Delivery: 'delivery',
  Open: 'open',
  Click: 'click',
  'Rendering Failure': 'failure',
  DeliveryDelay: 'deliveryDelay',
  Subscription: 'subscription',
};

/** SES sends notifications (notificationType) for these three types only. */
const NOTIFIED = new Set<SesEventType>(['Bounce', 'Complaint', 'Delivery']);

/** One SES event of `type`, as event publishing (or, for three types, a notification) writes it. */
export function sesEventOf(type: SesEventType): fc.Arbitrary<Json> {
  const detailKey = DETAIL_KEYS[type];
  return fc
    .boolean()
    .chain((asNotification) => {
      const notification = asNotification && NOTIFIED.has(type);
      return fc.tuple(fc.constant(notification), mailObject(notification), DETAILS[type]);
    })
    .map(([notification, mail, detail]) => ({
      ...(notification ? { notificationType: type } : { eventType: type }),
      mail,
      [detailKey]: detail,
    }));
}

/** One event of every type, in SES_EVENT_TYPES order. */
export const allTenTypes = fc.tuple(...SES_EVENT_TYPES.map(sesEventOf));

/** Values that do not belong where they land: any JSON (lone surrogates too), lists, long text. */
const stray = fc.oneof(
  fc.jsonValue({ maxDepth: 2, stringUnit: 'binary' }),
  fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), address), { maxLength: 3 }),
  fc.string({ unit: 'grapheme', minLength: 2000, maxLength: 6000 }),
);

/** Keys that trip up naive object code, and keys the normaliser writes itself. */
const ODD_KEYS = [
  ...['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'length', '0', '1', ''],
  ...['headers', 'recipientDomains', 'timestamp', 'eventType', 'notificationType', 'subject', 'mail'],
];

/** One change to an event: a value set (under an existing or an odd key) or removed, somewhere. */
interface Damage {
  where: 'root' | 'mail' | 'detail' | 'anywhere';
  at: number;
  key: string | undefined;
  pick: number;
  remove: boolean;
  value: unknown;
}

const damage: fc.Arbitrary<Damage> = fc.record({
  where: fc.constantFrom('root', 'mail', 'detail', 'anywhere'),
  at: fc.nat(),
  key: fc.option(fc.constantFrom(...ODD_KEYS), { nil: undefined }),
  pick: fc.nat(),
  remove: fc.boolean(),
  value: stray,
});

/** Every object and array in a value, depth first. */
function containers(value: unknown, into: object[] = []): object[] {
  if (typeof value !== 'object' || value === null) return into;
  into.push(value);
  for (const child of Object.values(value)) containers(child, into);
  return into;
}

function applyDamage(event: Json, { where, at, key, pick, remove, value }: Damage): void {
  const detailKey = Object.keys(event).find((k) => !['eventType', 'notificationType', 'mail'].includes(k));
  const pool =
    where === 'root'
      ? [event]
      : where === 'mail'
        ? containers(event.mail).slice(0, 1)
        : where === 'detail' && detailKey !== undefined
          ? containers(event[detailKey]).slice(0, 1)
          : containers(event);
  const target = pool[at % Math.max(pool.length, 1)] as Record<string, unknown> | undefined;
  if (target === undefined) return;
  const own = Object.keys(target);
  const name = key ?? own[pick % Math.max(own.length, 1)];
  // A list keeps only elements (JSON has nothing else to write of it).
  if (name === undefined || (Array.isArray(target) && !/^\d+$/.test(name))) return;
  if (remove) {
    if (Array.isArray(target)) target.splice(Number(name), 1);
    else delete target[name];
  } else {
    Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  }
}

/**
 * An SES event of any type, then damaged a few times: values replaced by any JSON (objects
 * and lists where text belongs, lone surrogates, long text), odd keys added (`__proto__`,
 * `headers`, `0`), fields removed; most often in the event itself, its mail or its details.
 */
export const damagedSesEvent: fc.Arbitrary<Json> = fc
  .tuple(fc.constantFrom(...SES_EVENT_TYPES).chain(sesEventOf), fc.array(damage, { maxLength: 5 }))
  .map(([event, damages]) => {
    const copy = structuredClone(event);
    for (const change of damages) applyDamage(copy, change);
    return copy;
  });
