/** The IAM building blocks every function's role is made of. */
import { type Cfn, sub } from './cfn.js';

export function logGroupArn(functionName: string) {
  return sub(
    `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${functionName}:*`,
  );
}

export function ownLogsStatement(functionName: string): Cfn {
  return {
    Sid: 'OwnLogs',
    Effect: 'Allow',
    Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    Resource: [logGroupArn(functionName)],
  };
}

/**
 * A role a service assumes, allowed `statements` and nothing else. With `sameAccountOnly`,
 * the trust policy only lets the service act for this account (confused-deputy guard).
 */
export function serviceRole(service: string, statements: Cfn[], sameAccountOnly = true): Cfn {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: service },
            Action: 'sts:AssumeRole',
            ...(sameAccountOnly
              ? { Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } }
              : {}),
          },
        ],
      },
      Policies: [
        { PolicyName: 'least-privilege', PolicyDocument: { Version: '2012-10-17', Statement: statements } },
      ],
    },
  };
}

/** A Lambda execution role: its own log group, plus `statements`, nothing else. */
export function functionRole(functionName: string, statements: Cfn[]): Cfn {
  return serviceRole('lambda.amazonaws.com', [ownLogsStatement(functionName), ...statements], false);
}
