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
import { type Cfn, functionRole, getAtt, serviceRole, sub } from './iam.js';

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

/** A logical id made from a name: letters and digits only. */
const idOf = (text: string) =>
  text
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => (word[0] as string).toUpperCase() + word.slice(1))
    .join('');

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

export function eventBridgeInfra(input: EventBridgeInfraInput): {
  functions: Cfn;
  resources: Cfn;
  outputs: Cfn;
} {
  const { service, stage, validator } = input;
  const functionName = `${service}-${stage}-${EVENT_VALIDATOR}`;
  const centralArn = getAtt('CentralEventBus', 'Arn');
  const resources: Cfn = {
    CentralEventBus: { Type: 'AWS::Events::EventBus', Properties: { Name: validator.centralBus.name } },
    ValidatorRuleDlq: {
      Type: 'AWS::SQS::Queue',
      Properties: { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1_209_600 },
    },
    ValidatorFailureQueue: {
      Type: 'AWS::SQS::Queue',
      Properties: { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1_209_600 },
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
  };
  Object.assign(resources, busPolicies(validator, centralArn));

  const ruleIds: string[] = [];
  for (const [source, settings] of Object.entries(validator.sources)) {
    const id = `ValidatorInputRule${idOf(source)}`;
    ruleIds.push(id);
    resources[id] = {
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
    };
    resources[`${id}Permission`] = {
      Type: 'AWS::Lambda::Permission',
      Properties: {
        Action: 'lambda:InvokeFunction',
        FunctionName: getAtt(FUNCTION_ID, 'Arn'),
        Principal: 'events.amazonaws.com',
        SourceArn: getAtt(id, 'Arn'),
      },
    };
  }
  resources.ValidatorRuleDlqPolicy = {
    Type: 'AWS::SQS::QueuePolicy',
    Properties: {
      Queues: [{ Ref: 'ValidatorRuleDlq' }],
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'InputRulesDeadLetters',
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Resource: getAtt('ValidatorRuleDlq', 'Arn'),
            Condition: { ArnEquals: { 'aws:SourceArn': ruleIds.map((id) => getAtt(id, 'Arn')) } },
          },
        ],
      },
    },
  };

  if (validator.consumers.length > 0) {
    resources.ForwardingRole = serviceRole(
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
    );
    for (const consumer of validator.consumers) {
      resources[`Forward${idOf(consumer.name)}Rule`] = {
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
  }

  const targetBuses = [
    ...new Set(Object.values(validator.sources).map((s) => s.targetBus ?? validator.centralBus.name)),
  ].map((bus) => (bus === validator.centralBus.name ? centralArn : busArnOf(bus)));
  resources.EventValidatorRole = functionRole(functionName, [
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
    CentralEventBusArn: { Value: centralArn },
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
