/** CloudFormation helpers and the IAM building blocks every function's role is made of. */

export type Cfn = Record<string, unknown>;

export const sub = (text: string) => ({ 'Fn::Sub': text });
export const getAtt = (id: string, attribute: string) => ({ 'Fn::GetAtt': [id, attribute] });

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

/** A Lambda execution role: its own log group, plus `statements`, nothing else. */
export function functionRole(functionName: string, statements: Cfn[]): Cfn {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ],
      },
      Policies: [
        {
          PolicyName: 'least-privilege',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [ownLogsStatement(functionName), ...statements],
          },
        },
      ],
    },
  };
}
