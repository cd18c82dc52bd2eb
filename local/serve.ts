/**
 * npm run emulators: starts the emulators with the local stage's streams and queues, prints
 * the variables that point the SDK (and `serverless invoke local`) at them, and waits for
 * Ctrl-C. Use it for invoking a handler by hand against the emulators.
 */
import { createQueue, createStreams } from './provision.js';
import { startLocalSession } from './session.js';

const session = await startLocalSession();
const streams = await createStreams(session.kinesis, session.stage.config);
for (const route of session.stage.config.sqsToKinesis?.routes ?? []) {
  await createQueue(session.sqs, route.queueArn, route.visibilityTimeoutSeconds);
}
console.log(`streams: ${streams.join(', ')}`);
console.log('In another shell:\n');
for (const [name, value] of Object.entries(session.aws.env)) console.log(`export ${name}=${value}`);
console.log('npx serverless invoke local -f sqsToKinesis --stage local -p events/sqs-standard.json\n');
console.log('Ctrl-C stops the emulators.');
const stop = async () => {
  await session.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
setInterval(() => {}, 1 << 30);
