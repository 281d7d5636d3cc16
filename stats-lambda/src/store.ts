/**
 * The stats table (its own DynamoDB table, keys `pk`/`sk`):
 *
 * | pk                | sk                 | item                                                         |
 * | ----------------- | ------------------ | ------------------------------------------------------------ |
 * | `EXP#<p>#<flag>`  | `UNIT#<unit>`      | variant, first exposure, metric states, pending contributions |
 * | `EXP#<p>#<flag>`  | `AGG#<day>#<shard>#<variant>#<metric>` | the variant's n, Σx, Σx² and histogram buckets |
 *
 * An aggregate's sums are exact (scaled integers); it also names the runs not yet settled that added to it.
 * | `EXP#<p>#<flag>`  | `RUN#<run>`        | a settled run (its aggregates and event markers are written) |
 * | `EXP#<p>#<flag>`  | `QUALITY`          | freshness and data-quality counters                          |
 * | `EVENT#<p>#<id>`  | `-`                | an applied event id (dedup without a window)                 |
 *
 * `EXP#<p>#<flag>` is suffixed `@<n>` from an experiment's second analysis period on: a
 * restart counts afresh. A run adds to one shard of each (day, variant, metric) it touches
 * (chosen by its id), so concurrent runs spread their writes, one update stays within
 * DynamoDB's expression limits however many metrics an experiment has, and the report
 * reads O(days × shards × variants × metrics) items whatever the number of units. Markers
 * carry `expiresAt` (DynamoDB TTL in the cloud; dynalite has no TTL, so locally they stay):
 * 7 days, beyond any queue retry.
 */
import { GetCommand, type NumberValue } from "@aws-sdk/lib-dynamodb";
import { createHash } from "node:crypto";
import { queryAll, type Db } from "../../shared/node/dynamo.js";

export const SHARDS = 8;
/** Pseudo-metrics kept beside the real ones: exposed units, units seen in a second variant. */
export const EXPOSURES = "$exposures";
export const MULTIPLE_VARIANTS = "$multipleVariants";
/** Exposed units by the allocation they were assigned under: `$alloc:control=90,treatment=10`. */
export const ALLOCATION_PREFIX = "$alloc:";
/**
 * A metric's series over the units assigned under one allocation (an epoch):
 * `<series>@<allocation>` (`conversion@control=90,treatment=10`, its buckets
 * `revenue@control=50,treatment=50~7`), for post-stratification across a ramped split.
 * A source that sends them sends them for every unit it records an allocation for.
 */
export const EPOCH_SEPARATOR = "@";
export function epochSeries(series: string, allocation: string): string {
  const bucket = series.indexOf(BUCKET_SEPARATOR);
  return bucket < 0
    ? `${series}${EPOCH_SEPARATOR}${allocation}`
    : `${series.slice(0, bucket)}${EPOCH_SEPARATOR}${allocation}${series.slice(bucket)}`;
}
/**
 * A metric's series over the units whose window closed (metrics with a window end): per day,
 * the units whose window `[exposure, exposure + endHours)` ended that day, with their value in
 * the window: `<metric>:closed` (and `:closed:den`, `:closed:cross`, `:closed~<bucket>`), and
 * the count of those units, `$closed:<endHours>` (report/closed-window.ts reads them).
 */
export const CLOSED_SUFFIX = ":closed";
export const CLOSED_UNITS_PREFIX = "$closed:";
/**
 * Events the metrics never count (issue 22, 10), by the day of the event: stamped before
 * their unit's first exposure (`$beforeExposure`, under the unit's variant), and of units
 * with no exposure 24 h on (`$neverExposed`, variant ""). The event store keeps both.
 */
export const BEFORE_EXPOSURE = "$beforeExposure";
export const NEVER_EXPOSED = "$neverExposed";
/** How long an event waits for its unit's exposure before it counts as never exposed. */
export const ATTRIBUTION_BOUND_MS = 86_400_000;
/** A metric's histogram bucket (shared/stats/winsorize.ts): `<metric>~<bucket>`. */
export const BUCKET_SEPARATOR = "~";

/** `control=90,treatment=10` → shares by variant. */
export function parseAllocation(allocation: string): Record<string, number> {
  const shares: Record<string, number> = {};
  for (const part of allocation.split(",")) {
    const at = part.lastIndexOf("=");
    const share = Number(part.slice(at + 1));
    if (at > 0 && Number.isFinite(share)) shares[part.slice(0, at)] = share;
  }
  return shares;
}

/** The metric an aggregate series belongs to (its histogram buckets belong to it too). */
export const baseMetric = (metric: string) =>
  metric.includes(BUCKET_SEPARATOR) ? metric.slice(0, metric.indexOf(BUCKET_SEPARATOR)) : metric;
/** How long dedup and settle markers live. */
export const MARKER_TTL_MS = 7 * 86_400_000;

export const dayOf = (time: number) => new Date(time).toISOString().slice(0, 10);
/**
 * An experiment's partition for one analysis period: `flag` is the flag key, suffixed
 * `@<period>` from the second period on (see analysisKey).
 */
const experiment = (project: string, flag: string) => `EXP#${project}#${flag}`;

/** The key an experiment's data is kept under in its current (or given) analysis period. */
export const analysisKey = (
  flag: { key: string; analysisPeriods?: unknown[] | undefined },
  period = flag.analysisPeriods?.length ?? 0,
) => (period > 1 ? `${flag.key}@${period}` : flag.key);

/**
 * DynamoDB bounds keys (a sort key to 1,024 bytes, a partition key to 2,048) and the edge
 * accepts ids of 1,024 characters: a long unit or event id is keyed by its SHA-256.
 */
const bounded = (id: string) =>
  id.length <= 256 ? id : `sha256:${createHash("sha256").update(id).digest("base64url")}`;

export const statsKeys = {
  experiment,
  unit: (project: string, flag: string, unit: string) => ({
    pk: experiment(project, flag),
    sk: `UNIT#${bounded(unit)}`,
  }),
  aggregate: (project: string, flag: string, day: string, shard: number, variant: string, metric: string) => ({
    pk: experiment(project, flag),
    sk: `AGG#${day}#${shard}#${variant}#${baseMetric(metric)}`,
  }),
  run: (project: string, flag: string, run: string) => ({ pk: experiment(project, flag), sk: `RUN#${run}` }),
  quality: (project: string, flag: string) => ({ pk: experiment(project, flag), sk: "QUALITY" }),
  event: (project: string, id: string) => ({ pk: `EVENT#${project}#${bounded(id)}`, sk: "-" }),
};

/** Aggregate attributes: `n|<variant>|<metric>` and likewise `s|` (Σx) and `q|` (Σx²), all scaled. */
export const aggregateAttribute = (stat: "n" | "s" | "q", variant: string, metric: string) =>
  `${stat}|${variant}|${metric}`;
/** Aggregate attributes naming the unsettled runs that added to it: `run|<id>` = start time. */
export const RUN_ATTRIBUTE = "run|";

/** A day's sums of one series, exact and scaled by VALUE_SCALE. */
export interface AggregateRow {
  day: string;
  variant: string;
  metric: string;
  n: number;
  sum: bigint;
  sumSquares: bigint;
}

export interface Quality {
  lastIngestedAt?: number;
  /** How long the oldest message of the latest delivery had waited in the queue. */
  queueLagMs?: number;
  rejectedExposures: number;
  droppedValues: Record<string, number>;
}

const numberOf = (value: unknown): bigint =>
  value === undefined ? 0n : BigInt(String((value as NumberValue).value ?? value));

export function createStatsStore(db: Db) {
  const { client, table: TableName } = db;
  return {
    db,

    /** Every daily aggregate of the experiment, shards summed, exact and scaled. */
    async aggregates(project: string, flag: string): Promise<AggregateRow[]> {
      const rows = new Map<string, AggregateRow>();
      const items = await queryAll(db, {
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :agg)",
        ExpressionAttributeValues: { ":pk": experiment(project, flag), ":agg": "AGG#" },
      });
      for (const item of items) {
        const day = (item["sk"] as string).split("#")[1]!;
        for (const [name, value] of Object.entries(item)) {
          const [stat, variant, metric] = name.split("|");
          if (metric === undefined || (stat !== "n" && stat !== "s" && stat !== "q")) continue;
          const key = `${day}|${variant}|${metric}`;
          let row = rows.get(key);
          if (!row) rows.set(key, (row = { day, variant: variant!, metric, n: 0, sum: 0n, sumSquares: 0n }));
          if (stat === "n") row.n += Number(numberOf(value));
          else if (stat === "s") row.sum += numberOf(value);
          else row.sumSquares += numberOf(value);
        }
      }
      return [...rows.values()];
    },

    async quality(project: string, flag: string): Promise<Quality> {
      const { Item } = await client.send(
        new GetCommand({ TableName, Key: statsKeys.quality(project, flag), ConsistentRead: true }),
      );
      const droppedValues: Record<string, number> = {};
      for (const [name, value] of Object.entries(Item ?? {}))
        if (name.startsWith("dropped|")) droppedValues[name.slice(8)] = Number(numberOf(value));
      const lastIngestedAt = Item?.["lastIngestedAt"];
      const queueLagMs = Item?.["queueLagMs"];
      return {
        ...(lastIngestedAt === undefined ? {} : { lastIngestedAt: Number(numberOf(lastIngestedAt)) }),
        ...(queueLagMs === undefined ? {} : { queueLagMs: Number(numberOf(queueLagMs)) }),
        rejectedExposures: Number(numberOf(Item?.["rejectedExposures"])),
        droppedValues,
      };
    },
  };
}

export type StatsStore = ReturnType<typeof createStatsStore>;
