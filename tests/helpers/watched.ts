/**
 * The places a template keeps data waiting, and whether each has its alarm: an independent
 * reading of the template (what a reviewer would list), not the code that makes the alarms.
 */
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are read as loose JSON here.
export type Resource = { Type: string; Properties: Record<string, any> };
export interface Template {
  Resources: Record<string, Resource>;
}

/** Every (place, metric) that must have an alarm, with the dimension value naming the place. */
function expectedWatches(template: Template, functions: Record<string, unknown>) {
  const watches: { place: string; metric: string; dimension: unknown }[] = [];
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type === 'AWS::SQS::Queue') {
      // A queue that feeds a function (it has a dead-letter queue) waits by age; others hold failures.
      const metric = resource.Properties.RedrivePolicy
        ? 'ApproximateAgeOfOldestMessage'
        : 'ApproximateNumberOfMessagesVisible';
      watches.push({ place: `queue ${id}`, metric, dimension: { 'Fn::GetAtt': [id, 'QueueName'] } });
    }
    if (resource.Type === 'AWS::Kinesis::Stream' && id === 'DLQStream') {
      watches.push({ place: `stream ${id}`, metric: 'IncomingRecords', dimension: { Ref: id } });
    }
    if (resource.Type === 'AWS::KinesisFirehose::DeliveryStream') {
      const toS3 = 'ExtendedS3DestinationConfiguration' in resource.Properties;
      watches.push({
        place: `delivery stream ${id}`,
        metric: toS3 ? 'DeliveryToS3.DataFreshness' : 'DeliveryToAmazonOpenSearchServerless.DataFreshness',
        dimension: { Ref: id },
      });
      watches.push({
        place: `delivery stream ${id}`,
        metric: 'ExecuteProcessing.Success',
        dimension: { Ref: id },
      });
    }
  }
  for (const [name, fn] of Object.entries(functions)) {
    const ref = { Ref: `${name[0]?.toUpperCase()}${name.slice(1)}LambdaFunction` };
    watches.push({ place: `function ${name}`, metric: 'Errors', dimension: ref });
    watches.push({ place: `function ${name}`, metric: 'Throttles', dimension: ref });
    const kinesisInput = ((fn as { events?: { stream?: { type?: string } }[] }).events ?? []).some(
      (event) => event.stream?.type === 'kinesis',
    );
    if (kinesisInput)
      watches.push({ place: `function ${name} (Kinesis input)`, metric: 'IteratorAge', dimension: ref });
  }
  return watches;
}

/** The places whose alarm is missing, as `place: metric`; empty when every one is watched. */
export function placesWithoutAlarm(template: Template, functions: Record<string, unknown>): string[] {
  const alarms = Object.values(template.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
  return expectedWatches(template, functions)
    .filter(
      (watch) =>
        !alarms.some(
          (alarm) =>
            alarm.Properties.MetricName === watch.metric &&
            JSON.stringify(alarm.Properties.Dimensions?.[0]?.Value) === JSON.stringify(watch.dimension),
        ),
    )
    .map((watch) => `${watch.place}: ${watch.metric}`);
}

/** The functions of a packaged template, in the shape serverless's `functions` has (name, Kinesis events). */
export function packagedFunctions(template: Template): Record<string, unknown> {
  const functions: Record<string, { events: { stream?: { type: string } }[] }> = {};
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function' || !id.endsWith('LambdaFunction')) continue;
    functions[`${id[0]?.toLowerCase()}${id.slice(1, -'LambdaFunction'.length)}`] = { events: [] };
  }
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::EventSourceMapping') continue;
    const target = JSON.stringify(resource.Properties.FunctionName);
    const name = Object.keys(functions).find((fn) =>
      target.includes(`${fn[0]?.toUpperCase()}${fn.slice(1)}LambdaFunction`),
    );
    if (name && JSON.stringify(resource.Properties.EventSourceArn).includes('Stream')) {
      functions[name]?.events.push({ stream: { type: 'kinesis' } });
    }
  }
  return functions;
}
