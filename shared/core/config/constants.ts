/**
 * Values of the config that the bundled code needs as values, kept apart from the schema so
 * that importing them does not load zod (the bundles carry the checked config, not its schema).
 */

/** Kinesis record size bounds, in KiB: 1 MiB by default, raisable per stream to 10 MiB. */
export const DEFAULT_MAX_RECORD_SIZE_KIB = 1024;
export const MAX_MAX_RECORD_SIZE_KIB = 10 * 1024;

/** SES event types, as `eventType` names them in event publishing. */
export const SES_EVENT_TYPES = [
  'Send',
  'Reject',
  'Bounce',
  'Complaint',
  'Delivery',
  'Open',
  'Click',
  'Rendering Failure',
  'DeliveryDelay',
  'Subscription',
] as const;
export type SesEventType = (typeof SES_EVENT_TYPES)[number];
