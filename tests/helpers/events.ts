/**
 * Generated Lambda events of every kind a function can be invoked with, each labelled with
 * what it is and the phrase an error message should use for it. Built from the samples in
 * events/ where we have one, and by hand (after AWS's documented shapes) where we do not.
 */
import fc from 'fast-check';
import { loadEvent } from './fixtures.js';

export type EventLabel =
  | 'sqs'
  | 'sqs-record-gaps'
  | 'empty-records'
  | 'kinesis'
  | 'kinesis-window'
  | 'kinesis-window-record-gaps'
  | 'kinesis-window-empty'
  | 'dynamodb'
  | 'dynamodb-window'
  | 'sns'
  | 's3'
  | 'records-mixed'
  | 'eventbridge'
  | 'eventbridge-malformed'
  | 'pipes-array'
  | 'firehose'
  | 'firehose-record-gaps'
  | 'http'
  | 'cloudwatch-logs'
  | 'kafka'
  | 'null'
  | 'undefined'
  | 'primitive'
  | 'empty-object'
  | 'random';

export interface LabelledEvent {
  label: EventLabel;
  /** What the "got ..." half of an EventShapeError must say (undefined: not pinned). */
  got?: string;
  event: unknown;
}

type Dict = Record<string, unknown>;

const labelled = (label: EventLabel, got: string | undefined) => (event: unknown) =>
  ({ label, event, ...(got === undefined ? {} : { got }) }) as LabelledEvent;

/** `count` copies of a sample's records (1..count), each made distinct by `id`. */
function records(sample: Dict, count: number, id: (record: Dict, i: number) => void): Dict[] {
  const source = sample.Records as Dict[];
  return Array.from({ length: count }, (_, i) => {
    const record = structuredClone(source[i % source.length] as Dict);
    id(record, i);
    return record;
  });
}

const sqsSample = fc.constantFrom(
  'sqs-standard.json',
  'sqs-fifo.json',
  'sqs-multi-queue.json',
  'sqs-malformed.json',
);
const windowSample = fc.constantFrom(
  'kinesis-window-plain.json',
  'kinesis-window-kpl.json',
  'kinesis-window-final.json',
  'kinesis-window-bad.json',
);

const sqsEvent = fc
  .tuple(sqsSample, fc.integer({ min: 1, max: 6 }))
  .map(([name, n]) => ({ Records: records(loadEvent<Dict>(name), n, (r, i) => (r.messageId = `m-${i}`)) }));

const windowEvent = fc.tuple(windowSample, fc.integer({ min: 1, max: 6 })).map(([name, n]) => {
  const event = loadEvent<Dict>(name);
  event.Records = records(
    event,
    n,
    (r, i) => ((r.kinesis as Dict).sequenceNumber = `4965${String(i).padStart(52, '0')}`),
  );
  return event;
});

/** Deletes a chosen subset of `fields` (dotted: one level down) from every record. */
function withGaps(event: Dict, fields: readonly string[]): Dict {
  for (const record of event.Records as Dict[]) {
    for (const field of fields) {
      const [outer, inner] = field.split('.') as [string, string | undefined];
      if (inner === undefined) delete record[outer];
      else if (typeof record[outer] === 'object' && record[outer] !== null)
        delete (record[outer] as Dict)[inner];
    }
  }
  return event;
}

const SQS_FIELDS = [
  'body',
  'messageId',
  'attributes',
  'messageAttributes',
  'eventSourceARN',
  'receiptHandle',
];
const KINESIS_FIELDS = [
  'kinesis',
  'kinesis.data',
  'kinesis.sequenceNumber',
  'kinesis.partitionKey',
  'eventSourceARN',
];
const gaps = (fields: string[]) => fc.subarray(fields, { minLength: 1 });

const windowOf = { start: '2026-11-21T09:00:00Z', end: '2026-11-21T09:01:00Z' };
const dynamodbRecord = {
  eventID: '1',
  eventName: 'INSERT',
  eventSource: 'aws:dynamodb',
  eventSourceARN: 'arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026',
  dynamodb: { Keys: { id: { S: 'a' } }, SequenceNumber: '111', StreamViewType: 'NEW_IMAGE' },
};
const snsRecord = {
  EventSource: 'aws:sns',
  EventVersion: '1.0',
  Sns: {
    Type: 'Notification',
    MessageId: 'n-1',
    TopicArn: 'arn:aws:sns:us-east-1:123456789012:t',
    Message: '{}',
  },
};
const s3Record = {
  eventVersion: '2.1',
  eventSource: 'aws:s3',
  eventName: 'ObjectCreated:Put',
  s3: { bucket: { name: 'b', arn: 'arn:aws:s3:::b' }, object: { key: 'k', size: 1 } },
};
const many = (record: Dict) =>
  fc.integer({ min: 1, max: 4 }).map((n) => Array.from({ length: n }, () => structuredClone(record)));

/** A malformed EventBridge event: a sample with fields removed or of the wrong type. */
const malformedEventBridge = fc
  .tuple(
    fc.subarray(
      ['version', 'id', 'detail-type', 'source', 'account', 'time', 'region', 'resources', 'detail'],
      { minLength: 1 },
    ),
    fc.jsonValue(),
  )
  .map(([broken, value]) => {
    const event = loadEvent<Dict>('eventbridge-valid.json');
    for (const [i, key] of broken.entries()) {
      if (i % 2 === 0) delete event[key];
      else event[key] = value;
    }
    return event;
  });

/** Random JSON, plus objects that look like events at a glance (a Records list, an eventSource). */
const randomEvent = fc.oneof(
  fc.jsonValue(),
  fc.dictionary(fc.string(), fc.jsonValue()),
  fc.record({ Records: fc.array(fc.jsonValue(), { maxLength: 4 }) }),
  fc.record({
    Records: fc.array(
      fc.record(
        {
          eventSource: fc.oneof(fc.constantFrom('aws:sqs', 'aws:kinesis', 'aws:s3'), fc.string()),
          body: fc.jsonValue(),
        },
        { requiredKeys: [] },
      ),
      { maxLength: 4 },
    ),
    window: fc.option(fc.record({ start: fc.jsonValue(), end: fc.jsonValue() }), { nil: undefined }),
  }),
  fc.record(
    { invocationId: fc.jsonValue(), records: fc.array(fc.jsonValue(), { maxLength: 3 }) },
    { requiredKeys: [] },
  ),
);

/** Every kind of event, each labelled; `weight`s keep the known kinds frequent beside random JSON. */
export const anyEvent: fc.Arbitrary<LabelledEvent> = fc.oneof(
  sqsEvent.map(labelled('sqs', 'an SQS event')),
  fc
    .tuple(sqsEvent, gaps(SQS_FIELDS))
    .map(([event, fields]) => withGaps(event, fields))
    .map(labelled('sqs-record-gaps', 'an SQS event')),
  fc.constant({ Records: [] }).map(labelled('empty-records', 'an event and an empty Records list')),
  windowEvent
    .map(({ window, state, shardId, isFinalInvokeForWindow, isWindowTerminatedEarly, ...rest }) => rest)
    .map(labelled('kinesis', 'a Kinesis stream event')),
  windowEvent.map(labelled('kinesis-window', 'a Kinesis stream event with a tumbling window')),
  fc
    .tuple(windowEvent, gaps(KINESIS_FIELDS))
    .map(([event, fields]) => withGaps(event, fields))
    .map(labelled('kinesis-window-record-gaps', 'a Kinesis stream event with a tumbling window')),
  windowSample
    .map((name) => ({ ...loadEvent<Dict>(name), Records: [] }))
    .map(
      labelled(
        'kinesis-window-empty',
        'a Kinesis stream event with a tumbling window and an empty Records list',
      ),
    ),
  many(dynamodbRecord)
    .map((Records) => ({ Records }))
    .map(labelled('dynamodb', 'a DynamoDB stream event')),
  many(dynamodbRecord)
    .map((Records) => ({ Records, window: windowOf, state: {}, shardId: 's' }))
    .map(labelled('dynamodb-window', 'a DynamoDB stream event with a tumbling window')),
  many(snsRecord)
    .map((Records) => ({ Records }))
    .map(labelled('sns', 'an SNS event')),
  many(s3Record)
    .map((Records) => ({ Records }))
    .map(labelled('s3', 'an S3 event')),
  fc
    .tuple(sqsEvent, windowEvent)
    .map(([sqs, kinesis]) => ({ Records: [...(sqs.Records as Dict[]), ...(kinesis.Records as Dict[])] }))
    .map(labelled('records-mixed', 'a Records list that mixes "aws:sqs", "aws:kinesis"')),
  fc
    .constant(null)
    .map(() => loadEvent('eventbridge-valid.json'))
    .map(labelled('eventbridge', 'an EventBridge event')),
  malformedEventBridge.map(labelled('eventbridge-malformed', undefined)),
  fc
    .tuple(fc.constant(null), fc.nat({ max: 5 }))
    .map(([, n]) => loadEvent<unknown[]>('eventbridge-batch.json').slice(0, n))
    .map(labelled('pipes-array', 'an array of')),
  fc
    .constantFrom('firehose-ses.json', 'firehose-kinesis-source.json', 'firehose-bad-input.json')
    .map((name) => loadEvent(name))
    .map(labelled('firehose', 'a Firehose transformation event')),
  fc
    .tuple(
      fc.constantFrom('firehose-ses.json', 'firehose-bad-input.json'),
      fc.constantFrom('recordId', 'data'),
    )
    .map(([name, field]) => {
      const event = loadEvent<Dict>(name);
      delete ((event.records as Dict[])[0] as Dict)[field];
      return event;
    })
    .map(labelled('firehose-record-gaps', 'a Firehose transformation event')),
  fc
    .constantFrom(
      { httpMethod: 'GET', path: '/', headers: {}, requestContext: { stage: 'dev' }, body: null },
      { version: '2.0', routeKey: 'GET /', rawPath: '/', requestContext: { http: { method: 'GET' } } },
    )
    .map((e) => structuredClone(e))
    .map(labelled('http', 'an API Gateway (HTTP) event')),
  fc
    .constant({ awslogs: { data: 'H4sI' } })
    .map(labelled('cloudwatch-logs', 'a CloudWatch Logs subscription event')),
  fc
    .constant({ eventSource: 'aws:kafka', records: { 't-0': [] } })
    .map((e) => structuredClone(e))
    .map(labelled('kafka', 'an event from "aws:kafka"')),
  fc.constant(null).map(labelled('null', 'null')),
  fc.constant(undefined).map(labelled('undefined', 'no event (undefined)')),
  fc
    .oneof(fc.string(), fc.double(), fc.boolean())
    .map((value) => labelled('primitive', `a ${typeof value}`)(value)),
  fc
    .constant({})
    .map(() => ({}))
    .map(labelled('empty-object', 'an empty object')),
  randomEvent.map(labelled('random', undefined)),
);

/** The kinds of event each handler takes; every other kind it refuses with an EventShapeError. */
export const ACCEPTED = {
  'sqs-to-kinesis': ['sqs', 'sqs-record-gaps', 'empty-records'],
  'firehose-transform': ['firehose'],
  'kinesis-aggregator': ['kinesis-window', 'kinesis-window-record-gaps', 'kinesis-window-empty'],
  'event-validator': [
    'eventbridge',
    'eventbridge-malformed',
    'pipes-array',
    'sqs',
    'sqs-record-gaps',
    'empty-records',
    'empty-object',
  ],
} as const satisfies Record<string, readonly EventLabel[]>;
