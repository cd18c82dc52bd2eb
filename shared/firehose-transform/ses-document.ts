/**
 * The one description of the document `normalizeSesEvent` produces (before the configured
 * removals and hashing, which only take fields away or replace strings by strings): every
 * field, its type, and whether it is for exact filtering (`keyword`) or full text (`text`,
 * which also gets an exact `keyword` sub-field). The OpenSearch index mappings and the
 * Athena (Glue) columns are both generated from it (infra/ses-analytics.ts), so the two
 * cannot drift from each other or from the transform; tests check every document of all
 * ten SES types against it.
 */

/** What a leaf holds. `opaque`: an object with names chosen by the sender (headers, tags). */
export type LeafKind = 'date' | 'keyword' | 'text' | 'ip' | 'long' | 'boolean' | 'opaque';

export interface LeafField {
  kind: LeafKind;
  /** An array of such values (OpenSearch maps arrays as their element type). */
  list?: true;
}

export interface ObjectField {
  fields: Record<string, DocumentField>;
  /** An array of such objects. */
  list?: true;
}

export type DocumentField = LeafField | ObjectField;

export const isObjectField = (field: DocumentField): field is ObjectField => 'fields' in field;

/** Longest keyword (characters) OpenSearch indexes; longer ones are kept in the source only. */
export const KEYWORD_IGNORE_ABOVE = 1024;
/** Longest text value whose `.keyword` sub-field is indexed. */
export const TEXT_KEYWORD_IGNORE_ABOVE = 256;

const keyword: LeafField = { kind: 'keyword' };
const keywords: LeafField = { kind: 'keyword', list: true };
const text: LeafField = { kind: 'text' };
const date: LeafField = { kind: 'date' };
const ip: LeafField = { kind: 'ip' };
const opaque: LeafField = { kind: 'opaque' };

const recipientStatus = (extra: Record<string, DocumentField>): ObjectField => ({
  list: true,
  fields: { emailAddress: keyword, status: keyword, diagnosticCode: text, ...extra },
});

const topicPreferences: ObjectField = {
  fields: {
    unsubscribeAll: { kind: 'boolean' },
    topicSubscriptionStatus: { list: true, fields: { topicName: keyword, subscriptionStatus: keyword } },
  },
};

/**
 * The type-specific object (`details`): the union of what the ten SES event types keep
 * there (SES's event publishing and notification contents), one type per name across types.
 */
const details: ObjectField = {
  fields: {
    timestamp: date,
    // Bounce
    bounceType: keyword,
    bounceSubType: keyword,
    bouncedRecipients: recipientStatus({ action: keyword }),
    feedbackId: keyword,
    reportingMTA: keyword,
    remoteMtaIp: ip,
    // Complaint
    complainedRecipients: { list: true, fields: { emailAddress: keyword } },
    complaintFeedbackType: keyword,
    complaintSubType: keyword,
    arrivalDate: date,
    userAgent: text,
    // Delivery
    processingTimeMillis: { kind: 'long' },
    recipients: keywords,
    smtpResponse: text,
    // Open, Click
    ipAddress: ip,
    link: keyword,
    linkTags: opaque,
    // Reject, Rendering Failure
    reason: text,
    errorMessage: text,
    templateName: keyword,
    // DeliveryDelay
    delayType: keyword,
    delayedRecipients: recipientStatus({}),
    expirationTime: date,
    // Subscription
    contactList: keyword,
    source: keyword,
    newTopicPreferences: topicPreferences,
    oldTopicPreferences: topicPreferences,
  },
};

const mail: ObjectField = {
  fields: {
    timestamp: date,
    messageId: keyword,
    source: keyword,
    sourceArn: keyword,
    sourceIp: ip,
    sendingAccountId: keyword,
    callerIdentity: keyword,
    destination: keywords,
    headersTruncated: { kind: 'boolean' },
    // A name -> value map of whatever headers the sender set: one field, never one per name.
    headers: opaque,
    commonHeaders: {
      fields: {
        from: keywords,
        to: keywords,
        cc: keywords,
        bcc: keywords,
        sender: keywords,
        replyTo: keywords,
        returnPath: keyword,
        messageId: keyword,
        date: keyword,
        subject: text,
      },
    },
    tags: opaque,
    recipientDomains: keywords,
  },
};

/** The normalised SES document: what normalizeSesEvent returns, field by field. */
export const SES_DOCUMENT: ObjectField = {
  fields: {
    '@timestamp': date,
    eventType: keyword,
    subject: text,
    mail,
    details,
    bounceType: keyword,
    bounceSubType: keyword,
    complaintFeedbackType: keyword,
    complaintSubType: keyword,
    delayType: keyword,
    recipients: keywords,
    diagnosticCodes: { kind: 'text', list: true },
    smtpResponse: text,
    userAgent: text,
    ipAddress: ip,
    link: keyword,
    reason: text,
    templateName: keyword,
    source: keyword,
  },
};
