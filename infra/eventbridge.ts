/**
 * The EventBridge side of the template: the central bus (with a policy that lets each producer
 * account put only its configured input sources, never a `valid.*` one), one input rule per
 * configured source matching it exactly (so a republished `valid.*` event can never match it
 * again), the validator function with its retry policy, rule dead-letter queue and on-failure
 * destination, and one forwarding rule per consumer bus that takes only events put by the
 * bus's own account (the validator's), so a forged `valid.*` event is never forwarded.
 */
import { outputSourceOf, producerSources } from '../shared/core/config/rules.js';
import type { EventValidatorConfig } from '../shared/core/config/schema.js';
import { type Cfn, getAtt, type InfraPart, logicalId, sub } from './cfn.js';
import { functionRole, serviceRole } from './iam.js';

export const EVENT_VALIDATOR = 'eventValidator';
const FUNCTION_ID = 'EventValidatorLambdaFunction';

const busArnOf = (bus: string) =>
  bus.startsWith('arn:')
    ? bus
    : sub(`arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/${bus}`);

export interface EventBridgeInfraInput {
  service: string;
  stage: string;
  validator: EventValidatorConfig;
  /** DLQStream's ARN. */
  dlqStreamArn: Cfn;
  environment: Cfn;
}

type SourceSettings = EventValidatorConfig['sources'][string];

/**
 * The input rule's pattern: the source exactly, and every detail-type (an unknown one reaches
 * the function and goes to the DLQ stream as NO_SCHEMA), unless the source says `ignore`:
 * then only its configured detail-types, and EventBridge drops the others.
 */
export function inputPattern(source: string, settings: SourceSettings): Cfn {
  return {
    source: [source],
    ...(settings.unknownDetailType === 'ignore' ? { 'detail-type': Object.keys(settings.detailTypes) } : {}),
  };
}

/** A forwarding rule's pattern: its output sources, put by the central bus's own account only. */
export function forwardPattern(sources: readonly string[]): Cfn {
  return { source: [...sources], account: [{ Ref: 'AWS::AccountId' }] };
}

/**
 * One bus-policy statement per group of producer accounts that may put the same sources
 * (`ForAllValues:StringEquals` on `events:source`, as AWS documents for PutEvents; the
 * `Null` check refuses a request without a source, which ForAllValues alone would let by).
 */
export function busPolicies(validator: EventValidatorConfig, busArn: Cfn): Cfn {
  const byGrant = new Map<string, { accounts: string[]; sources: string[] }>();
  for (const [account, sources] of producerSources(validator)) {
    const key = JSON.stringify([...sources].sort());
    const grant = byGrant.get(key) ?? { accounts: [], sources: [...sources].sort() };
    grant.accounts.push(account);
    byGrant.set(key, grant);
  }
  const resources: Cfn = {};
  [...byGrant.values()].forEach((grant, i) => {
    resources[i === 0 ? 'CentralEventBusPolicy' : `CentralEventBusPolicy${i + 1}`] = {
      Type: 'AWS::Events::EventBusPolicy',
      Properties: {
        EventBusName: { Ref: 'CentralEventBus' },
        StatementId: i === 0 ? 'producer-accounts' : `producer-accounts-${i + 1}`,
        Statement: {
          Effect: 'Allow',
          Principal: { AWS: grant.accounts.map((account) => `arn:aws:iam::${account}:root`) },
          Action: 'events:PutEvents',
          Resource: busArn,
          Condition: {
            'ForAllValues:StringEquals': { 'events:source': grant.sources },
            Null: { 'events:source': 'false' },
          },
        },
      },
    };
  });
  return resources;
}

const CENTRAL_ARN = getAtt('CentralEventBus', 'Arn');
const FOURTEEN_DAYS = 1_209_600;

/** The central bus, the rules' dead-letter queue, and the function's on-failure destination. */
function centralResources(validator: EventValidatorConfig): Cfn {
  return {
    CentralEventBus: { Type: 'AWS::Events::EventBus', Properties: { Name: validator.centralBus.name } },
    ValidatorRuleDlq: {
      Type: 'AWS::SQS::Queue',
      Properties: { SqsManagedSseEnabled: true, MessageRetentionPeriod: FOURTEEN_DAYS },
    },
    ValidatorFailureQueue: {
      Type: 'AWS::SQS::Queue',
      Properties: { SqsManagedSseEnabled: true, MessageRetentionPeriod: FOURTEEN_DAYS },
    },
    ValidatorInvokeConfig: {
      Type: 'AWS::Lambda::EventInvokeConfig',
      Properties: {
        FunctionName: { Ref: FUNCTION_ID },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: getAtt('ValidatorFailureQueue', 'Arn') } },
      },
    },
    ...busPolicies(validator, CENTRAL_ARN),
  };
}

/** One rule per input source to the function, with its permission to invoke it. */
function inputRule(validator: EventValidatorConfig, source: string, id: string): Cfn {
  const settings = validator.sources[source] as SourceSettings;
  return {
    [id]: {
      Type: 'AWS::Events::Rule',
      Properties: {
        EventBusName: { Ref: 'CentralEventBus' },
        Description: `Events from ${source} to the validator (exact match: republished events never match)`,
        EventPattern: inputPattern(source, settings),
        State: 'ENABLED',
        Targets: [
          {
            Id: 'validator',
            Arn: getAtt(FUNCTION_ID, 'Arn'),
            RetryPolicy: {
              MaximumRetryAttempts: validator.ruleTarget.maximumRetryAttempts,
              MaximumEventAgeInSeconds: validator.ruleTarget.maximumEventAgeSeconds,
            },
            DeadLetterConfig: { Arn: getAtt('ValidatorRuleDlq', 'Arn') },
          },
        ],
      },
    },
    [`${id}Permission`]: {
      Type: 'AWS::Lambda::Permission',
      Properties: {
        Action: 'lambda:InvokeFunction',
        FunctionName: getAtt(FUNCTION_ID, 'Arn'),
        Principal: 'events.amazonaws.com',
        SourceArn: getAtt(id, 'Arn'),
      },
    },
  };
}

/** The input rules, and the dead-letter queue's policy that only they may send to it. */
function inputRules(validator: EventValidatorConfig): Cfn {
  const ids = Object.keys(validator.sources).map((source) => [
    source,
    `ValidatorInputRule${logicalId(source)}`,
  ]);
  const rules = ids.map(([source, id]) => inputRule(validator, source as string, id as string));
  const deadLetters = {
    Sid: 'InputRulesDeadLetters',
    Effect: 'Allow',
    Principal: { Service: 'events.amazonaws.com' },
    Action: 'sqs:SendMessage',
    Resource: getAtt('ValidatorRuleDlq', 'Arn'),
    Condition: { ArnEquals: { 'aws:SourceArn': ids.map(([, id]) => getAtt(id as string, 'Arn')) } },
  };
  return Object.assign({}, ...rules, {
    ValidatorRuleDlqPolicy: {
      Type: 'AWS::SQS::QueuePolicy',
      Properties: {
        Queues: [{ Ref: 'ValidatorRuleDlq' }],
        PolicyDocument: { Version: '2012-10-17', Statement: [deadLetters] },
      },
    },
  });
}

/** One forwarding rule per consumer bus, and the role EventBridge forwards with. */
function forwarding(validator: EventValidatorConfig): Cfn {
  if (validator.consumers.length === 0) return {};
  const resources: Cfn = {
    ForwardingRole: serviceRole(
      'events.amazonaws.com',
      [
        {
          Sid: 'ForwardToConsumerBuses',
          Effect: 'Allow',
          Action: ['events:PutEvents'],
          Resource: [...new Set(validator.consumers.map((c) => c.busArn))],
        },
      ],
      false,
    ),
  };
  for (const consumer of validator.consumers) {
    resources[`Forward${logicalId(consumer.name)}Rule`] = {
      Type: 'AWS::Events::Rule',
      Properties: {
        EventBusName: { Ref: 'CentralEventBus' },
        Description: `Valid events to ${consumer.name}`,
        EventPattern: forwardPattern(consumer.sources),
        State: 'ENABLED',
        Targets: [{ Id: consumer.name, Arn: consumer.busArn, RoleArn: getAtt('ForwardingRole', 'Arn') }],
      },
    };
  }
  return resources;
}

/** The function's role: republish to its target buses, write the DLQ stream, its failure queue. */
function validatorRole(input: EventBridgeInfraInput): Cfn {
  const { validator } = input;
  const targetBuses = [
    ...new Set(Object.values(validator.sources).map((s) => s.targetBus ?? validator.centralBus.name)),
  ].map((bus) => (bus === validator.centralBus.name ? CENTRAL_ARN : busArnOf(bus)));
  return functionRole(`${input.service}-${input.stage}-${EVENT_VALIDATOR}`, [
    { Sid: 'RepublishValidEvents', Effect: 'Allow', Action: ['events:PutEvents'], Resource: targetBuses },
    {
      Sid: 'WriteDlqStream',
      Effect: 'Allow',
      Action: ['kinesis:PutRecord', 'kinesis:PutRecords'],
      Resource: [input.dlqStreamArn],
    },
    {
      Sid: 'OnFailureDestination',
      Effect: 'Allow',
      Action: ['sqs:SendMessage'],
      Resource: [getAtt('ValidatorFailureQueue', 'Arn')],
    },
  ]);
}

export function eventBridgeInfra(input: EventBridgeInfraInput): InfraPart {
  const { validator } = input;
  const resources: Cfn = {
    ...centralResources(validator),
    ...inputRules(validator),
    ...forwarding(validator),
    EventValidatorRole: validatorRole(input),
  };
  const functions: Cfn = {
    [EVENT_VALIDATOR]: {
      handler: 'functions/event-validator/handler.handler',
      description:
        'Validates events on the central bus against their JSON Schema; republishes the valid ones',
      timeout: validator.timeoutSeconds,
      memorySize: validator.memorySize,
      role: 'EventValidatorRole',
      environment: input.environment,
    },
  };
  const outputs: Cfn = {
    CentralEventBusArn: { Value: CENTRAL_ARN },
    ValidatorFailureQueueUrl: { Value: { Ref: 'ValidatorFailureQueue' } },
    ValidatorRuleDlqUrl: { Value: { Ref: 'ValidatorRuleDlq' } },
    ValidatedSources: {
      Value: Object.keys(validator.sources)
        .map((s) => `${s} -> ${outputSourceOf(validator, s)}`)
        .join(', '),
    },
  };
  return { functions, resources, outputs };
}
