/**
 * npm run cost [-- --stage NAME] [--param key=value ...]
 *
 * What each stage's template holds that costs money while it sits there, counted from the
 * template `serverless package` makes (not from hand-written numbers), and its fixed monthly
 * cost at AWS's list prices. Traffic (requests, payload units, GB, invocations) is extra.
 */
import { packageTime } from '../infra/package-time.js';
import { checkedArgs, paramsOf, parseCli, STAGE_OPTIONS, UsageError } from './cli-args.js';
import { readStages } from './lib/config-files.js';

/** List prices (US East, N. Virginia; other regions differ a little), per hour or per month. */
export const PRICES = {
  shardHour: 0.015,
  onDemandStreamHour: 0.04,
  kmsKeyMonth: 1,
  alarmMonth: 0.1,
  dashboardMonth: 3,
  /** OpenSearch Serverless: at least 2 OCUs (indexing and search, redundancy on) per account. */
  ocuHour: 0.24,
} as const;
const HOURS_PER_MONTH = 730;

export interface StageCost {
  stage: string;
  shards: number;
  onDemandStreams: number;
  kmsKeys: number;
  alarms: number;
  dashboards: number;
  collections: number;
  monthly: number;
}

type Resource = { Type: string; Properties?: Record<string, unknown> };

/** Counts the fixed-cost resources of one stage's template. */
export function stageCost(stage: string, cliParams: string[] = []): StageCost {
  const built = packageTime({ service: 'streaming-pipeline', stage, cliParams, root: process.cwd() });
  const resources = Object.values(built.resources.Resources as Record<string, Resource>);
  const streams = resources.filter((r) => r.Type === 'AWS::Kinesis::Stream');
  const mode = (r: Resource) =>
    (r.Properties?.StreamModeDetails as { StreamMode?: string } | undefined)?.StreamMode;
  const of = (type: string) => resources.filter((r) => r.Type === type).length;
  const cost: Omit<StageCost, 'monthly'> = {
    stage,
    shards: streams
      .filter((r) => mode(r) !== 'ON_DEMAND')
      .reduce((sum, r) => sum + Number(r.Properties?.ShardCount ?? 0), 0),
    onDemandStreams: streams.filter((r) => mode(r) === 'ON_DEMAND').length,
    kmsKeys: of('AWS::KMS::Key'),
    alarms: of('AWS::CloudWatch::Alarm'),
    dashboards: of('AWS::CloudWatch::Dashboard'),
    collections: of('AWS::OpenSearchServerless::Collection'),
  };
  const monthly =
    cost.shards * PRICES.shardHour * HOURS_PER_MONTH +
    cost.onDemandStreams * PRICES.onDemandStreamHour * HOURS_PER_MONTH +
    cost.kmsKeys * PRICES.kmsKeyMonth +
    cost.alarms * PRICES.alarmMonth +
    cost.dashboards * PRICES.dashboardMonth +
    cost.collections * 2 * PRICES.ocuHour * HOURS_PER_MONTH;
  return { ...cost, monthly: Math.round(monthly) };
}

/** The cost table as Markdown, one row per stage. */
export function costTable(rows: readonly StageCost[]): string {
  const lines = [
    '| stage | provisioned shards | on-demand streams | KMS keys | alarms | dashboards | OpenSearch collections | fixed cost a month |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.stage} | ${r.shards} | ${r.onDemandStreams} | ${r.kmsKeys} | ${r.alarms} | ${r.dashboards} | ${r.collections} | about $${r.monthly} |`,
    ),
  ];
  return lines.join('\n');
}

/** The table the README shows: every declared stage but `local`, then dev with OpenSearch on. */
export function readmeCostRows(): StageCost[] {
  const stages = Object.keys(readStages())
    .filter((s) => s !== 'default' && s !== 'local')
    .sort();
  return [
    ...stages.map((stage) => stageCost(stage)),
    { ...stageCost('dev', ['openSearch=true']), stage: 'dev, openSearch=true' },
  ];
}

const invokedDirectly = process.argv[1]?.endsWith('cost.ts');
if (invokedDirectly) {
  const USAGE = 'npm run cost [-- --stage NAME] [--param key=value ...]';
  const { stage, params } = checkedArgs('cost', USAGE, () => {
    const { values } = parseCli(process.argv.slice(2), STAGE_OPTIONS);
    const declared = Object.keys(readStages()).filter((s) => s !== 'default');
    if (values.stage !== undefined && !declared.includes(values.stage)) {
      throw new UsageError(
        `--stage ${values.stage}: not in config/stages.json (known stages: ${declared.sort().join(', ')})`,
      );
    }
    paramsOf(values.param); // key=value, or a usage error
    return { stage: values.stage, params: values.param ?? [] };
  });
  const rows = stage ? [stageCost(stage, params)] : readmeCostRows();
  console.log(costTable(rows));
  console.log(
    `\nList prices (US East): shard-hour $${PRICES.shardHour}, on-demand stream-hour $${PRICES.onDemandStreamHour}, KMS key $${PRICES.kmsKeyMonth}/month, alarm $${PRICES.alarmMonth}/month, dashboard $${PRICES.dashboardMonth}/month, OCU-hour $${PRICES.ocuHour} (a collection: 2 OCUs at least). Traffic is extra.`,
  );
}
