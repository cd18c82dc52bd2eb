/**
 * Who can make a `valid.*` event, and what reaches the validator, judged on the template the
 * config generates (buildInfra: what `serverless package` embeds, without packaging): its
 * rules run through an EventBridge pattern matcher and its bus policy through an IAM
 * evaluator (tests/helpers/event-pattern.ts).
 */
import type { EventBridgeEvent } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildInfra } from '../../infra/template.js';
import { checkConfig, stageParams } from '../../shared/core/config/load.js';
import { outputSourceOf } from '../../shared/core/config/rules.js';
import { readRawConfig, readStages } from '../../tools/lib/config-files.js';
import {
  matchesPattern,
  type PolicyStatement,
  type Pseudo,
  policyAllowsPutEvents,
  resolveCfn,
} from '../helpers/event-pattern.js';
import { loadEvent, type RawConfig } from '../helpers/fixtures.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are read as loose JSON here.
type Resource = { Type: string; Properties: Record<string, any> };
type Event = EventBridgeEvent<string, unknown>;

const STAGE = 'dev';

/** The stage's template, optionally from a patched config, resolved for the stage's own account. */
function template(patch: (raw: RawConfig) => void = () => {}) {
  const raw = structuredClone(readRawConfig()) as RawConfig;
  patch(raw);
  const params = stageParams(readStages(), STAGE);
  const { config } = checkConfig(raw, { stage: STAGE, params });
  const infra = buildInfra({
    service: 'streaming-pipeline',
    stage: STAGE,
    raw,
    config,
    params,
    functionParams: {},
  });
  const pseudo: Pseudo = {
    AccountId: params.accountId as string,
    Region: params.region as string,
    Partition: 'aws',
  };
  const resources = resolveCfn(infra.resources.Resources, pseudo) as Record<string, Resource>;
  const validator = config.eventValidator as NonNullable<typeof config.eventValidator>;
  return { resources, validator, centralAccount: pseudo.AccountId };
}

const rulesOf = (resources: Record<string, Resource>, prefix: string) =>
  Object.entries(resources).filter(([id, r]) => r.Type === 'AWS::Events::Rule' && id.startsWith(prefix));
const forwardedBy = (resources: Record<string, Resource>, event: unknown) =>
  rulesOf(resources, 'Forward')
    .filter(([, rule]) => matchesPattern(rule.Properties.EventPattern, event))
    .map(([, rule]) => rule.Properties.Targets[0].Arn as string);
const policyOf = (resources: Record<string, Resource>) =>
  Object.values(resources)
    .filter((r) => r.Type === 'AWS::Events::EventBusPolicy')
    .map((r) => r.Properties.Statement as PolicyStatement);

describe('only the validator can make a valid.* event', () => {
  const { resources, validator, centralAccount } = template();
  const producer = validator.centralBus.producerAccounts[0] as string;
  const outputSource = outputSourceOf(validator, 'cwi.servicea');

  it('does not forward a forged valid.* event put by a producer account, and forwards the republished one', () => {
    // Prepare: the same event, once as a producer would forge it, once as the validator republishes it.
    const forged = { ...loadEvent<Event>('eventbridge-valid.json'), source: outputSource, account: producer };
    const republished = { ...structuredClone(forged), account: centralAccount };
    // Act
    const forgedTo = forwardedBy(resources, forged);
    const republishedTo = forwardedBy(resources, republished);
    // Assess
    expect(forgedTo).toEqual([]);
    expect(republishedTo.sort()).toEqual(validator.consumers.map((c) => c.busArn).sort());
  });

  it('forwards an event iff the central account put it and a consumer takes its source (generated)', () => {
    const sources = fc.constantFrom(outputSource, 'cwi.servicea', 'valid.other', `${outputSource}x`);
    const accounts = fc.constantFrom(centralAccount, producer, '999999999999');
    fc.assert(
      fc.property(sources, accounts, (source, account) => {
        // Prepare
        const event = { ...loadEvent<Event>('eventbridge-valid.json'), source, account };
        const expected = validator.consumers.filter(
          (c) => account === centralAccount && c.sources.includes(source),
        );
        // Act / Assess
        expect(forwardedBy(resources, event).sort()).toEqual(expected.map((c) => c.busArn).sort());
      }),
    );
  });

  it('lets a producer put only its configured input sources on the bus, never a valid.* one', () => {
    // Prepare
    const statements = policyOf(resources);
    // Act / Assess
    expect(statements.length).toBeGreaterThan(0);
    expect(policyAllowsPutEvents(statements, { account: producer, sources: ['cwi.servicea'] })).toBe(true);
    expect(policyAllowsPutEvents(statements, { account: producer, sources: [outputSource] })).toBe(false);
    expect(
      policyAllowsPutEvents(statements, { account: producer, sources: ['cwi.servicea', outputSource] }),
    ).toBe(false);
    expect(policyAllowsPutEvents(statements, { account: producer, sources: [] })).toBe(false);
    expect(policyAllowsPutEvents(statements, { account: '999999999999', sources: ['cwi.servicea'] })).toBe(
      false,
    );
  });

  it('gives each producer account listed with sources just those sources', () => {
    // Prepare: two sources; one account may put both, another only the second.
    const { resources: limited } = template((raw) => {
      raw.eventValidator.sources['cwi.serviceb'] = { detailTypes: {} };
      raw.eventValidator.centralBus.producerAccounts = [
        '555555555555',
        { account: '888888888888', sources: ['cwi.serviceb'] },
      ];
    });
    const statements = policyOf(limited);
    // Act / Assess
    expect(policyAllowsPutEvents(statements, { account: '555555555555', sources: ['cwi.servicea'] })).toBe(
      true,
    );
    expect(policyAllowsPutEvents(statements, { account: '555555555555', sources: ['cwi.serviceb'] })).toBe(
      true,
    );
    expect(policyAllowsPutEvents(statements, { account: '888888888888', sources: ['cwi.serviceb'] })).toBe(
      true,
    );
    expect(policyAllowsPutEvents(statements, { account: '888888888888', sources: ['cwi.servicea'] })).toBe(
      false,
    );
    expect(
      policyAllowsPutEvents(statements, { account: '888888888888', sources: ['valid.cwi.serviceb'] }),
    ).toBe(false);
  });
});

describe('what reaches the validator', () => {
  const inputRule = (resources: Record<string, Resource>) =>
    resources.ValidatorInputRuleCwiServicea?.Properties.EventPattern as unknown;

  it('with reject (the default), delivers every detail-type of the source, the unknown one included', () => {
    // Prepare
    const { resources } = template();
    const pattern = inputRule(resources);
    // Act / Assess
    expect(matchesPattern(pattern, loadEvent('eventbridge-no-schema.json'))).toBe(true);
    expect(matchesPattern(pattern, loadEvent('eventbridge-valid.json'))).toBe(true);
    expect(matchesPattern(pattern, loadEvent('eventbridge-invalid.json'))).toBe(true);
    expect(pattern).toEqual({ source: ['cwi.servicea'] });
  });

  it('never delivers a republished or looping event back to the validator', () => {
    // Prepare
    const { resources, validator, centralAccount } = template();
    const pattern = inputRule(resources);
    const republished = {
      ...loadEvent<Event>('eventbridge-valid.json'),
      source: outputSourceOf(validator, 'cwi.servicea'),
      account: centralAccount,
    };
    // Act / Assess
    expect(matchesPattern(pattern, republished)).toBe(false);
    expect(matchesPattern(pattern, loadEvent('eventbridge-loop.json'))).toBe(false);
  });

  it('with accept, delivers every detail-type too; with ignore, only the configured ones (a documented drop)', () => {
    // Prepare
    const setting = (value: string) =>
      inputRule(
        template((raw) => {
          raw.eventValidator.sources['cwi.servicea'].unknownDetailType = value;
        }).resources,
      );
    // Act / Assess
    expect(setting('accept')).toEqual({ source: ['cwi.servicea'] });
    const ignoring = setting('ignore');
    expect(ignoring).toEqual({ source: ['cwi.servicea'], 'detail-type': ['NEW_WIDGET', 'WIDGET_DELETED'] });
    expect(matchesPattern(ignoring, loadEvent('eventbridge-no-schema.json'))).toBe(false);
    expect(matchesPattern(ignoring, loadEvent('eventbridge-valid.json'))).toBe(true);
  });
});
