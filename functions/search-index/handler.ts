/**
 * search-index: the CloudFormation custom resource that makes the `ses` index with the
 * explicit mappings generated from the SES document description (infra/ses-search.ts says
 * why a custom resource). It answers CloudFormation itself; it never throws at it.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { fromEnv } from '@aws-sdk/credential-provider-env';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { handleIndexEvent } from '../../shared/search-index/search-index.js';
import { cfnResponder, signedSender } from '../../shared/search-index/signed-http.js';

const logger = new Logger({ serviceName: 'search-index' });
const send = signedSender({ region: process.env.AWS_REGION ?? 'us-east-1', credentials: fromEnv() });
const respond = cfnResponder();

export const handler = async (event: CloudFormationCustomResourceEvent, context: Context): Promise<void> => {
  logger.addContext(context);
  await handleIndexEvent(event, {
    send,
    respond,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
    logger,
  });
};
