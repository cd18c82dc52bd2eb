import { describe, expect, it } from 'vitest';
import {
  columnName,
  glueColumns,
  glueType,
  openSearchMappings,
  partitionProjection,
} from '../../infra/ses-document-formats.js';
import type { FirehoseTransformConfig } from '../../shared/core/config/schema.js';
import { ConfigError } from '../../shared/core/errors.js';
import type { ObjectField } from '../../shared/firehose-transform/ses-document.js';
import { localConfig } from '../helpers/fixtures.js';

/** A small description with one field of every kind, a list, and nested objects. */
const SMALL: ObjectField = {
  fields: {
    '@timestamp': { kind: 'date' },
    eventType: { kind: 'keyword' },
    subject: { kind: 'text' },
    ip: { kind: 'ip' },
    n: { kind: 'long' },
    ok: { kind: 'boolean' },
    headers: { kind: 'opaque' },
    tags: { kind: 'keyword', list: true },
    who: {
      list: true,
      fields: { address: { kind: 'keyword' }, inner: { fields: { at: { kind: 'date' } } } },
    },
  },
};

type SesTransform = FirehoseTransformConfig & { mode: 'ses' };
const sesTransform = (patch: Partial<SesTransform> = {}) =>
  ({ ...(localConfig().firehoseTransform as SesTransform), ...patch }) as SesTransform;

describe('the SES document in the stores', () => {
  it('maps every kind to its OpenSearch type', () => {
    // Act / Assess
    expect(openSearchMappings(SMALL)).toEqual({
      dynamic: 'false',
      properties: {
        '@timestamp': { type: 'date' },
        eventType: { type: 'keyword', ignore_above: 1024 },
        subject: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } },
        ip: { type: 'ip' },
        n: { type: 'long' },
        ok: { type: 'boolean' },
        headers: { type: 'object', enabled: false },
        tags: { type: 'keyword', ignore_above: 1024 },
        who: {
          properties: {
            address: { type: 'keyword', ignore_above: 1024 },
            inner: { properties: { at: { type: 'date' } } },
          },
        },
      },
    });
  });

  it('maps every kind to its Hive type, lists as arrays and objects as structs', () => {
    // Act / Assess
    expect(
      Object.fromEntries(Object.entries(SMALL.fields).map(([name, field]) => [name, glueType(field)])),
    ).toEqual({
      '@timestamp': 'string',
      eventType: 'string',
      subject: 'string',
      ip: 'string',
      n: 'bigint',
      ok: 'boolean',
      headers: 'string',
      tags: 'array<string>',
      who: 'array<struct<address:string,inner:struct<at:string>>>',
    });
  });

  it('names columns in lower case, maps back only the renamed ones, and leaves out partition fields', () => {
    // Act
    const { columns, renamed } = glueColumns(SMALL, new Set(['eventType']));
    // Assess
    expect(columns.map((c) => c.Name)).toEqual([
      'timestamp',
      'subject',
      'ip',
      'n',
      'ok',
      'headers',
      'tags',
      'who',
    ]);
    expect(renamed).toEqual({ timestamp: '@timestamp' });
    expect(columnName('bounceSubType')).toBe('bouncesubtype');
    expect(columnName('a-b.c@d_e')).toBe('abcd_e');
    expect(glueColumns(SMALL, new Set()).columns[1]).toEqual({ Name: 'eventtype', Type: 'string' });
  });

  it('projects each kind of partition key as Athena describes its values', () => {
    // Prepare
    const keys = {
      eventType: { path: 'eventType', as: 'value' },
      tenant: { path: 'mail.source', as: 'value' },
      y: { path: '@timestamp', as: 'year' },
      m: { path: '@timestamp', as: 'month' },
      d: { path: '@timestamp', as: 'day' },
      h: { path: '@timestamp', as: 'hour' },
      day: { path: '@timestamp', as: 'date' },
    } as SesTransform['partitionKeys'];
    const prefix = `x/${Object.keys(keys ?? {})
      .map((k) => `${k}=!{partitionKeyFromLambda:${k}}/`)
      .join('')}`;
    // Act
    const projection = partitionProjection(
      sesTransform({ partitionKeys: keys, keepEventTypes: ['Open', 'Click'] }),
      prefix,
      SMALL,
    );
    // Assess
    expect(projection.locationTemplate).toBe(
      'x/eventType=${eventtype}/tenant=${tenant}/y=${y}/m=${m}/d=${d}/h=${h}/day=${day}/',
    );
    expect(projection.columns).toEqual(
      ['eventtype', 'tenant', 'y', 'm', 'd', 'h', 'day'].map((Name) => ({ Name, Type: 'string' })),
    );
    expect(projection.fromDocument).toEqual(new Set(['eventType']));
    expect(projection.parameters).toEqual({
      'projection.enabled': 'true',
      'projection.eventtype.type': 'enum',
      'projection.eventtype.values': 'open,click',
      'projection.tenant.type': 'injected',
      'projection.y.type': 'integer',
      'projection.y.range': '2020,2100',
      'projection.m.type': 'integer',
      'projection.m.range': '1,12',
      'projection.m.digits': '2',
      'projection.d.type': 'integer',
      'projection.d.range': '1,31',
      'projection.d.digits': '2',
      'projection.h.type': 'integer',
      'projection.h.range': '0,23',
      'projection.h.digits': '2',
      'projection.day.type': 'date',
      'projection.day.format': 'yyyy-MM-dd',
      'projection.day.range': '2020-01-01,NOW+1DAYS',
      'projection.day.interval': '1',
      'projection.day.interval.unit': 'DAYS',
    });
  });

  it('projects every SES type when all are kept', () => {
    // Act
    const projection = partitionProjection(
      sesTransform({ keepEventTypes: undefined }),
      'ses/eventType=!{partitionKeyFromLambda:eventType}/',
      SMALL,
    );
    // Assess
    expect(projection.parameters['projection.eventtype.values']).toBe(
      'send,reject,bounce,complaint,delivery,open,click,rendering_failure,delivery_delay,subscription',
    );
  });

  it('refuses a prefix naming a key that is not configured, and a column clash of another value', () => {
    // Act / Assess
    expect(() =>
      partitionProjection(sesTransform(), 'ses/x=!{partitionKeyFromLambda:nokey}/', SMALL),
    ).toThrow(
      new ConfigError(['firehoseTransform.partitionKeys: the prefix uses nokey, which is not a key']),
    );
    const clash = (key: { path: string; as: string }) => () =>
      partitionProjection(
        sesTransform({ partitionKeys: { eventType: key } as SesTransform['partitionKeys'] }),
        'ses/eventType=!{partitionKeyFromLambda:eventType}/',
        SMALL,
      );
    expect(clash({ path: 'subject', as: 'value' })).toThrow(
      'firehoseTransform.partitionKeys.eventType: the Athena table would have two columns named eventtype; rename the key or read eventType as a value',
    );
    expect(clash({ path: 'eventType', as: 'date' })).toThrow(/two columns named eventtype/);
    expect(clash({ path: 'eventType', as: 'value' })).not.toThrow();
  });
});
