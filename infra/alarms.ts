/** Where the template's alarms go (an encrypted SNS topic, optionally to an email) and the alarms. */
import type { PipelineConfig } from '../shared/core/config/schema.js';
import { type Cfn, sub } from './cfn.js';
import { DLQ_STREAM_ID } from './streams.js';

export interface AlarmInput {
  service: string;
  stage: string;
  config: PipelineConfig;
  /** Where the topic sends alarms; none when empty. */
  alarmEmail: string | undefined;
}

/** The KMS key that encrypts the alarm topic, usable by CloudWatch. */
function alarmTopicKey(service: string, stage: string): Cfn {
  return {
    Type: 'AWS::KMS::Key',
    Properties: {
      Description: `${service}-${stage}: encrypts the alarm topic (CloudWatch must be able to use it)`,
      EnableKeyRotation: true,
      KeyPolicy: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AccountAdmin',
            Effect: 'Allow',
            Principal: { AWS: sub('arn:${AWS::Partition}:iam::${AWS::AccountId}:root') },
            Action: 'kms:*',
            Resource: '*',
          },
          {
            Sid: 'CloudWatchAlarmsPublish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Resource: '*',
          },
        ],
      },
    },
  };
}

/** Records arriving on the DLQ stream. */
function dlqAlarm({ service, stage, config }: AlarmInput): Cfn {
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: `${service}-${stage}-dlq-incoming-records`,
      AlarmDescription: `Records arrived on the DLQ stream ${config.dlq.stream}: look at their envelopes' reason`,
      Namespace: 'AWS/Kinesis',
      // IncomingRecords counts what is put into the stream; GetRecords.Records stays 0 on a stream nobody reads.
      MetricName: 'IncomingRecords',
      Dimensions: [{ Name: 'StreamName', Value: { Ref: DLQ_STREAM_ID } }],
      Statistic: 'Sum',
      Period: config.dlq.alarm.periodSeconds,
      EvaluationPeriods: 1,
      Threshold: config.dlq.alarm.threshold,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: 'AlarmTopic' }],
      OKActions: [{ Ref: 'AlarmTopic' }],
    },
  };
}

export function alarmsPart(input: AlarmInput): { resources: Cfn; outputs: Cfn } {
  const { service, stage, alarmEmail } = input;
  const resources: Cfn = {
    AlarmTopicKey: alarmTopicKey(service, stage),
    AlarmTopic: {
      Type: 'AWS::SNS::Topic',
      Properties: { TopicName: `${service}-${stage}-alarms`, KmsMasterKeyId: { Ref: 'AlarmTopicKey' } },
    },
    DLQAlarm: dlqAlarm(input),
  };
  if (alarmEmail) {
    resources.AlarmEmailSubscription = {
      Type: 'AWS::SNS::Subscription',
      Properties: { TopicArn: { Ref: 'AlarmTopic' }, Protocol: 'email', Endpoint: alarmEmail },
    };
  }
  return { resources, outputs: { AlarmTopicArn: { Value: { Ref: 'AlarmTopic' } } } };
}
