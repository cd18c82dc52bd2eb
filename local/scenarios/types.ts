/** What every local scenario gets, and what it gives back. Other handlers plug in here. */
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { StageConfig } from '../../tools/lib/config-files.js';
import type { LocalAws } from '../emulators.js';

export interface LocalRunContext {
  aws: LocalAws;
  kinesis: KinesisClient;
  sqs: SQSClient;
  stage: StageConfig;
  log(line: string): void;
}

export interface Scenario {
  name: string;
  /** Runs and prints; resolves to false when something did not end where it should. */
  run(ctx: LocalRunContext): Promise<boolean>;
}
