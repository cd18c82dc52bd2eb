/**
 * Amazon SES sending events, normalised for search: a top-level `@timestamp`, a stable
 * `eventType`, the type-specific object always under `details`, headers as a name->value
 * map, recipient domains, and the fields people filter on (subject, bounce and complaint
 * types, diagnostic codes, user agent, link) lifted to the top. Its fields and their types
 * are described in ses-document.ts.
 */
import { SES_EVENT_TYPES, type SesEventType } from '../core/config/constants.js';
import { SesEventError } from '../core/errors.js';
import { defineOwn } from '../core/json-path.js';

/**
 * Per event type: the object it keeps its details under, its `eventType` in the output (lower
 * case, words joined by `_`), and its name in a configuration set's MatchingEventTypes.
 */
export const SES_TYPES: Record<SesEventType, { detailKey: string; name: string; matchingType: string }> = {
  Send: { detailKey: 'send', name: 'send', matchingType: 'send' },
  Reject: { detailKey: 'reject', name: 'reject', matchingType: 'reject' },
  Bounce: { detailKey: 'bounce', name: 'bounce', matchingType: 'bounce' },
  Complaint: { detailKey: 'complaint', name: 'complaint', matchingType: 'complaint' },
  Delivery: { detailKey: 'delivery', name: 'delivery', matchingType: 'delivery' },
  Open: { detailKey: 'open', name: 'open', matchingType: 'open' },
  Click: { detailKey: 'click', name: 'click', matchingType: 'click' },
  'Rendering Failure': { detailKey: 'failure', name: 'rendering_failure', matchingType: 'renderingFailure' },
  DeliveryDelay: { detailKey: 'deliveryDelay', name: 'delivery_delay', matchingType: 'deliveryDelay' },
  Subscription: { detailKey: 'subscription', name: 'subscription', matchingType: 'subscription' },
};

const EVENT_TYPES = new Set<string>(SES_EVENT_TYPES);

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Already in the form toISOString gives (as SES writes its times). */
export const CANONICAL_ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** An ISO timestamp from an SES time string, or undefined when it is not one. */
function isoTime(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (value.length === 24 && CANONICAL_ISO.test(value)) return value;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** The event's type, from `eventType` (event publishing) or `notificationType` (notifications). */
export function sesEventType(event: Json): SesEventType {
  const type = event.eventType ?? event.notificationType;
  if (typeof type !== 'string' || !EVENT_TYPES.has(type)) {
    throw new SesEventError(
      type === undefined
        ? 'No eventType: not an SES event'
        : `eventType ${JSON.stringify(type).slice(0, 40)} is not an SES event type`,
    );
  }
  return type as SesEventType;
}

/** `[{name, value}]` headers as a map; a repeated name keeps every value, in order. */
export function headerMap(headers: unknown): Record<string, string | string[]> {
  // A plain object built in place (no null-prototype copy): own-property reads, and
  // defineOwn for writes, so `__proto__` or `toString` are names like any other.
  const out: Record<string, string | string[]> = {};
  if (!Array.isArray(headers)) return out;
  for (const header of headers) {
    if (!isObject(header) || typeof header.name !== 'string' || typeof header.value !== 'string') continue;
    const { name, value } = header;
    const previous = Object.hasOwn(out, name) ? out[name] : undefined;
    if (previous === undefined) defineOwn(out, name, value);
    else defineOwn(out, name, Array.isArray(previous) ? [...previous, value] : [previous, value]);
  }
  return out;
}

/** The domain of an address such as `"Ana" <ana@Example.com>`: `example.com`. */
export function emailDomain(address: string): string | undefined {
  const at = address.lastIndexOf('@');
  if (at < 0) return undefined;
  let domain = address.slice(at + 1);
  // What follows a `>` or a space goes; a domain with neither (the usual) has nothing to cut.
  if (!printableWithoutAngle(domain)) domain = domain.replace(/[>\s].*$/, '');
  domain = domain.toLowerCase();
  return domain.length > 0 ? domain : undefined;
}

/** Only printable ASCII other than `>`: no character that `[>\s]` matches. */
function printableWithoutAngle(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x3e) return false;
  }
  return true;
}

function recipientDomains(destination: unknown): string[] {
  if (!Array.isArray(destination)) return [];
  const domains = new Set<string>();
  for (const address of destination) {
    if (typeof address !== 'string') continue;
    const domain = emailDomain(address);
    if (domain) domains.add(domain);
  }
  return [...domains];
}

function strings(list: unknown, field: string): string[] {
  const out: string[] = [];
  if (!Array.isArray(list)) return out;
  for (const item of list) {
    if (!isObject(item)) continue;
    const value = item[field];
    if (typeof value === 'string') out.push(value);
  }
  return out;
}

/** The top-level fields each event type adds, from its own details object. */
const TYPE_FIELDS: Partial<Record<SesEventType, (detail: Json) => Json>> = {
  Bounce: (d) => ({
    bounceType: d.bounceType,
    bounceSubType: d.bounceSubType,
    recipients: strings(d.bouncedRecipients, 'emailAddress'),
    diagnosticCodes: strings(d.bouncedRecipients, 'diagnosticCode'),
  }),
  Complaint: (d) => ({
    complaintFeedbackType: d.complaintFeedbackType,
    complaintSubType: d.complaintSubType ?? null,
    recipients: strings(d.complainedRecipients, 'emailAddress'),
    userAgent: d.userAgent,
  }),
  DeliveryDelay: (d) => ({
    delayType: d.delayType,
    recipients: strings(d.delayedRecipients, 'emailAddress'),
    diagnosticCodes: strings(d.delayedRecipients, 'diagnosticCode'),
  }),
  // A copy: the document never holds one array in two places (details.recipients).
  Delivery: (d) => ({
    recipients: Array.isArray(d.recipients) ? [...d.recipients] : [],
    smtpResponse: d.smtpResponse,
  }),
  Open: (d) => ({ userAgent: d.userAgent, ipAddress: d.ipAddress }),
  Click: (d) => ({ userAgent: d.userAgent, ipAddress: d.ipAddress, link: d.link }),
  Reject: (d) => ({ reason: d.reason }),
  'Rendering Failure': (d) => ({ reason: d.errorMessage, templateName: d.templateName }),
};

/** Normalises one SES event. Throws SesEventError when it is not one. The event is left as it was. */
export function normalizeSesEvent(event: Json): Json {
  const type = sesEventType(event);
  return normalize(event, type, checkedMail(event), (mail) => ({
    ...mail,
    headers: headerMap(mail.headers),
    recipientDomains: recipientDomains(mail.destination),
  })).doc;
}

/** The document and whether it is a tree: no object or array in it reachable by two paths. */
export interface SesDocument {
  doc: Json;
  tree: boolean;
}

/**
 * As normalizeSesEvent, for an event the caller has just parsed (a tree, as JSON.parse gives)
 * and owns, whose type it has read with sesEventType: its `mail` object becomes the
 * document's, its headers and recipient domains set in place, instead of being copied. The
 * document is the same, key for key and in the same order; the event is not to be used after.
 */
export function normalizeParsedSesEvent(event: Json, type: SesEventType): SesDocument {
  return normalize(event, type, checkedMail(event), (mail) => {
    mail.headers = headerMap(mail.headers);
    mail.recipientDomains = recipientDomains(mail.destination);
    return mail;
  });
}

function checkedMail(event: Json): Json {
  const mail = event.mail;
  if (!isObject(mail)) throw new SesEventError('No mail object: not an SES event');
  return mail;
}

/**
 * The document, with `mail` made into the document's by `withMailFields` (it adds the
 * headers map and the recipient domains, keeping the keys' order).
 */
function normalize(
  event: Json,
  type: SesEventType,
  mail: Json,
  withMailFields: (mail: Json) => Json,
): SesDocument {
  const mailTime = isoTime(mail.timestamp);
  if (!mailTime) throw new SesEventError('mail.timestamp is missing or not a time');
  const details = event[SES_TYPES[type].detailKey];
  const detail: Json = isObject(details) ? details : {};
  const subject = isObject(mail.commonHeaders) ? mail.commonHeaders.subject : undefined;
  // Built field by field, in the order the document lists them (no spread of partial objects).
  const out: Json = {
    // The type's own time (a bounce's, an open's) places the event better than the send time.
    '@timestamp': isoTime(detail.timestamp) ?? mailTime,
    eventType: SES_TYPES[type].name,
  };
  // Lifted so that it stays searchable when mail.commonHeaders is removed.
  if (typeof subject === 'string') out.subject = subject;
  out.mail = withMailFields(mail);
  out.details = detail;
  const fields = TYPE_FIELDS[type]?.(detail);
  if (fields) Object.assign(out, fields);
  if (event.eventType === undefined && event.notificationType !== undefined) out.source = 'notification';
  return { doc: out, tree: fields === undefined || liftsNoContainer(fields, detail) };
}

/** An object or an array: something two places of a document could share. */
const isContainer = (value: unknown): boolean => typeof value === 'object' && value !== null;

/**
 * Whether a type's lifted fields keep the document a tree. Its mail and its details are
 * disjoint parts of the event and every other container in it is a fresh array, except a
 * value lifted from the details as it is (a `bounceType` that is an object or an array) and
 * the elements of the copied Delivery recipients: the document is a tree when each field is
 * a plain value, or a list of plain values that is not one of the details' own values.
 */
function liftsNoContainer(fields: Json, detail: Json): boolean {
  for (const key in fields) {
    const value = fields[key];
    if (!isContainer(value)) continue;
    if (!Array.isArray(value) || value.some(isContainer) || isOwnValueOf(detail, value)) return false;
  }
  return true;
}

function isOwnValueOf(object: Json, value: unknown): boolean {
  for (const key in object) if (Object.hasOwn(object, key) && object[key] === value) return true;
  return false;
}
