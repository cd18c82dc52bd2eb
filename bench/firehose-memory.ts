/**
 * Child process of the Firehose bench: peak memory of one batch, as Lambda would see it.
 * argv: full|naive COUNT BYTES. Prints {"peakBytes", "batchBytes"}: how far the handler
 * raised the process's peak RSS over what it held with the parsed request in hand, and the
 * request's size.
 */
import { checkedArgs, choiceOption, countOption, parseCli, UsageError } from '../tools/cli-args.js';
import { fullTransform, naiveTransform } from './firehose-work.js';
import { batchBytes, sesBatch } from './ses-batches.js';

const [variant, count, bytes] = checkedArgs(
  'firehose-memory',
  'firehose-memory.ts full|naive COUNT BYTES',
  () => {
    const { positionals } = parseCli(process.argv.slice(2), {}, true);
    if (positionals.length !== 3) throw new UsageError('takes three arguments');
    const [kind, n, size] = positionals as [string, string, string];
    return [
      choiceOption('variant', kind, ['full', 'naive']),
      countOption('count', n),
      countOption('bytes', size),
    ];
  },
);
const transform =
  variant === 'full' ? fullTransform() : async (e: Parameters<typeof naiveTransform>[0]) => naiveTransform(e);
const request = JSON.stringify(sesBatch(Number(count), Number(bytes)));
// As on Lambda, the runtime has parsed the request before the handler runs.
const event = JSON.parse(request);
(globalThis as { gc?: () => void }).gc?.();
// maxRSS is the process's high-water mark, so the first (and only) batch is the one measured.
const before = process.memoryUsage().rss;
const response = await transform(event);
const peak = process.resourceUsage().maxRSS * 1024 - before;
console.log(
  JSON.stringify({ peakBytes: peak, batchBytes: batchBytes(event), records: response.records.length }),
);
