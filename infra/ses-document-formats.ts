/**
 * The SES document description (shared/firehose-transform/ses-document.ts) in the forms the
 * stores need: the OpenSearch index mappings, the Glue columns Athena reads the S3 copy
 * with, and the partition projection that finds the S3 copy's Hive-style folders. All are
 * generated, from the description and from the same partition keys the transform uses, so
 * the index, the table and the delivered folders cannot drift apart.
 */

import type { FirehoseTransformConfig } from '../shared/core/config/schema.js';
import { SES_EVENT_TYPES } from '../shared/core/config/schema.js';
import { ConfigError } from '../shared/core/errors.js';
import { SES_TYPES } from '../shared/firehose-transform/ses.js';
import {
  type DocumentField,
  isObjectField,
  KEYWORD_IGNORE_ABOVE,
  type LeafKind,
  type ObjectField,
  TEXT_KEYWORD_IGNORE_ABOVE,
} from '../shared/firehose-transform/ses-document.js';
import type { Cfn } from './cfn.js';

/** OpenSearch's mapping of one described field (arrays map as their element type). */
function openSearchField(field: DocumentField): Cfn {
  if (isObjectField(field)) return { properties: openSearchProperties(field) };
  switch (field.kind) {
    case 'keyword':
      return { type: 'keyword', ignore_above: KEYWORD_IGNORE_ABOVE };
    case 'text':
      return {
        type: 'text',
        fields: { keyword: { type: 'keyword', ignore_above: TEXT_KEYWORD_IGNORE_ABOVE } },
      };
    case 'opaque':
      // Kept in the document as sent, not indexed: names chosen by senders never become fields.
      return { type: 'object', enabled: false };
    default:
      return { type: field.kind };
  }
}

function openSearchProperties(object: ObjectField): Cfn {
  return Object.fromEntries(
    Object.entries(object.fields).map(([name, field]) => [name, openSearchField(field)]),
  );
}

/**
 * The index's mappings. `dynamic: false`: a field the description does not know (a future
 * SES field) is kept in the stored document but not indexed, so it can neither reject the
 * document nor grow the mapping; add it to the description to make it searchable.
 */
export function openSearchMappings(description: ObjectField): Cfn {
  return { dynamic: 'false', properties: openSearchProperties(description) };
}

/** The Hive type Athena reads a described field as. */
export function glueType(field: DocumentField): string {
  const element = isObjectField(field)
    ? `struct<${Object.entries(field.fields)
        .map(([name, child]) => `${name}:${glueType(child)}`)
        .join(',')}>`
    : GLUE_LEAF[field.kind];
  return field.list ? `array<${element}>` : element;
}

/**
 * Dates and IPs as their ISO / dotted text (read them with from_iso8601_timestamp and the IP
 * functions); an opaque object as its JSON text (read it with json_extract).
 */
const GLUE_LEAF: Record<LeafKind, string> = {
  date: 'string',
  keyword: 'string',
  text: 'string',
  ip: 'string',
  long: 'bigint',
  boolean: 'boolean',
  opaque: 'string',
};

/** A Glue column name for a document field: lower case, `@timestamp` -> `timestamp`. */
export const columnName = (field: string) => field.toLowerCase().replace(/[^a-z0-9_]/g, '');

export interface GlueColumns {
  columns: { Name: string; Type: string }[];
  /** Column -> document field, where the names differ (the JSON SerDe's `mapping.*`). */
  renamed: Record<string, string>;
}

/** The table's columns: every top-level field but those a partition column already gives. */
export function glueColumns(description: ObjectField, fromPartitions: ReadonlySet<string>): GlueColumns {
  const columns: GlueColumns['columns'] = [];
  const renamed: Record<string, string> = {};
  for (const [field, spec] of Object.entries(description.fields)) {
    if (fromPartitions.has(field)) continue;
    const name = columnName(field);
    columns.push({ Name: name, Type: glueType(spec) });
    if (name !== field.toLowerCase()) renamed[name] = field;
  }
  return { columns, renamed };
}

export interface PartitionProjection {
  /** The partition columns, in folder order. */
  columns: { Name: string; Type: string }[];
  /** The table parameters that turn projection on and describe each column. */
  parameters: Record<string, string>;
  /** The folders under the bucket, with `${column}` where each partition value goes. */
  locationTemplate: string;
  /** Document fields that partition columns give (the same value, so not a column again). */
  fromDocument: Set<string>;
}

/** The values a partition key takes, as Athena's projection describes them. */
function projectionOf(
  transform: FirehoseTransformConfig & { mode: 'ses' },
  key: { path: string; as: string },
): Record<string, string> {
  switch (key.as) {
    case 'date':
      return {
        type: 'date',
        format: 'yyyy-MM-dd',
        range: '2020-01-01,NOW+1DAYS',
        interval: '1',
        'interval.unit': 'DAYS',
      };
    case 'year':
      return { type: 'integer', range: '2020,2100' };
    case 'month':
      return { type: 'integer', range: '1,12', digits: '2' };
    case 'day':
      return { type: 'integer', range: '1,31', digits: '2' };
    case 'hour':
      return { type: 'integer', range: '0,23', digits: '2' };
    default: {
      if (key.path === 'eventType') {
        const kept = transform.keepEventTypes ?? SES_EVENT_TYPES;
        return { type: 'enum', values: kept.map((type) => SES_TYPES[type].name).join(',') };
      }
      // Any other value: queries must name it (WHERE key = '...').
      return { type: 'injected' };
    }
  }
}

/** The `!{partitionKeyFromLambda:key}` expressions of a Firehose prefix, in order. */
const PARTITION_EXPRESSION = /!\{partitionKeyFromLambda:([A-Za-z0-9_]+)\}/g;

/**
 * Partition projection for the S3 copy, read from the Firehose prefix the delivery stream is
 * given (`deliveryPrefix`, with its `!{partitionKeyFromLambda:...}` expressions), so the
 * table finds exactly the folders Firehose writes.
 */
export function partitionProjection(
  transform: FirehoseTransformConfig & { mode: 'ses' },
  deliveryPrefix: string,
  description: ObjectField,
): PartitionProjection {
  const keys = transform.partitionKeys ?? {};
  const parameters: Record<string, string> = { 'projection.enabled': 'true' };
  const columns: PartitionProjection['columns'] = [];
  const fromDocument = new Set<string>();
  const locationTemplate = deliveryPrefix.replace(PARTITION_EXPRESSION, (_, name: string) => {
    const key = keys[name];
    if (!key)
      throw new ConfigError([`firehoseTransform.partitionKeys: the prefix uses ${name}, which is not a key`]);
    const column = columnName(name);
    const clash = Object.keys(description.fields).find((field) => columnName(field) === column);
    if (clash !== undefined) {
      // A column and a partition column of one name must hold the same value.
      if (key.as !== 'value' || key.path !== clash) {
        throw new ConfigError([
          `firehoseTransform.partitionKeys.${name}: the Athena table would have two columns named ${column}; rename the key or read ${clash} as a value`,
        ]);
      }
      fromDocument.add(clash);
    }
    columns.push({ Name: column, Type: 'string' });
    for (const [setting, value] of Object.entries(projectionOf(transform, key))) {
      parameters[`projection.${column}.${setting}`] = value;
    }
    return `\${${column}}`;
  });
  return { columns, parameters, locationTemplate, fromDocument };
}
