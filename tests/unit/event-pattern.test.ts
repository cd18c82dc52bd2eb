/** The test helper that judges templates offline must itself be right: EventBridge's documented matching. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchesPattern, policyAllowsPutEvents, resolveCfn } from '../helpers/event-pattern.js';
import { loadEvent } from '../helpers/fixtures.js';

const sample = () => loadEvent<Record<string, unknown>>('eventbridge-valid.json');

describe('event pattern matcher (test helper)', () => {
  it('matches a field when the event value is any of the listed values, and only then', () => {
    fc.assert(
      fc.property(fc.string(), fc.array(fc.string(), { minLength: 1, maxLength: 4 }), (source, listed) => {
        // Prepare
        const event = { ...sample(), source };
        // Act / Assess
        expect(matchesPattern({ source: listed }, event)).toBe(listed.includes(source));
      }),
    );
  });

  it('needs every named field to match; fields it does not name are free', () => {
    // Prepare
    const event = sample();
    // Act / Assess
    expect(matchesPattern({ source: ['cwi.servicea'], account: ['555555555555'] }, event)).toBe(true);
    expect(matchesPattern({ source: ['cwi.servicea'], account: ['123456789012'] }, event)).toBe(false);
    expect(matchesPattern({ 'detail-type': ['NEW_WIDGET'] }, event)).toBe(true);
    expect(matchesPattern({ region: ['eu-west-1'] }, event)).toBe(false);
    expect(matchesPattern({}, event)).toBe(true);
  });

  it('matches nested detail fields, array values by any element, and a missing field never equals', () => {
    // Prepare
    const event = sample();
    // Act / Assess
    expect(matchesPattern({ detail: { price: { currency: ['EUR'] } } }, event)).toBe(true);
    expect(matchesPattern({ detail: { price: { currency: ['USD'] } } }, event)).toBe(false);
    expect(matchesPattern({ detail: { tags: ['small'] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { colour: ['blue'] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { name: { colour: ['blue'] } } }, event)).toBe(false);
  });

  it('knows prefix, exists and anything-but, and refuses what it does not know', () => {
    // Prepare
    const event = sample();
    // Act / Assess
    expect(matchesPattern({ source: [{ prefix: 'cwi.' }] }, event)).toBe(true);
    expect(matchesPattern({ source: [{ prefix: 'valid.' }] }, event)).toBe(false);
    expect(matchesPattern({ detail: { widgetId: [{ exists: true }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { colour: [{ exists: false }] } }, event)).toBe(true);
    expect(matchesPattern({ source: [{ 'anything-but': ['cwi.servicea'] }] }, event)).toBe(false);
    expect(matchesPattern({ source: [{ 'anything-but': 'x' }] }, event)).toBe(true);
    expect(() => matchesPattern({ source: [{ wildcard: 'cwi.*' }] }, event)).toThrow(/wildcard/);
    expect(() => matchesPattern({ source: 'cwi.servicea' }, event)).toThrow(/array or an object/);
  });

  it('resolves the pseudo parameters a template uses for one account', () => {
    // Prepare
    const pseudo = { AccountId: '123456789012', Region: 'eu-west-1', Partition: 'aws' };
    // Act / Assess
    expect(resolveCfn({ account: [{ Ref: 'AWS::AccountId' }] }, pseudo)).toEqual({
      account: ['123456789012'],
    });
    expect(resolveCfn({ 'Fn::Sub': 'arn:${AWS::Partition}:events:${AWS::Region}:x' }, pseudo)).toBe(
      'arn:aws:events:eu-west-1:x',
    );
  });
});

describe('bus policy evaluator (test helper)', () => {
  const statement = {
    Effect: 'Allow',
    Principal: { AWS: ['arn:aws:iam::555555555555:root'] },
    Action: 'events:PutEvents',
    Condition: { 'ForAllValues:StringEquals': { 'events:source': ['cwi.servicea'] } },
  };

  it('allows a listed account to put a listed source, nothing else', () => {
    // Act / Assess
    expect(policyAllowsPutEvents([statement], { account: '555555555555', sources: ['cwi.servicea'] })).toBe(
      true,
    );
    expect(
      policyAllowsPutEvents([statement], { account: '555555555555', sources: ['valid.cwi.servicea'] }),
    ).toBe(false);
    expect(
      policyAllowsPutEvents([statement], { account: '555555555555', sources: ['cwi.servicea', 'valid.x'] }),
    ).toBe(false);
    expect(policyAllowsPutEvents([statement], { account: '999999999999', sources: ['cwi.servicea'] })).toBe(
      false,
    );
  });

  it('models ForAllValues as IAM does (an empty set passes) and the Null guard that closes it', () => {
    // Act / Assess
    expect(policyAllowsPutEvents([statement], { account: '555555555555', sources: [] })).toBe(true);
    const guarded = {
      ...statement,
      Condition: { ...statement.Condition, Null: { 'events:source': 'false' } },
    };
    expect(policyAllowsPutEvents([guarded], { account: '555555555555', sources: [] })).toBe(false);
  });
});
