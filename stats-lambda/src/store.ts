/**
 * The stats table (its own DynamoDB table, keys `pk`/`sk`):
 *
 * | pk                | sk                 | item                                                         |
 * | ----------------- | ------------------ | ------------------------------------------------------------ |
 * | `EXP#<p>#<flag>`  | `UNIT#<unit>`      | variant, first exposure, metric states, pending contributions |
 * | `EXP#<p>#<flag>`  | `AGG#<day>#<shard>`| per variant and metric n, Σx, Σx² (exact, scaled), and the runs not yet settled that added to it |
 * | `EXP#<p>#<flag>`  | `RUN#<run>`        | a settled run (its aggregates and event markers are written) |
 * | `EXP#<p>#<flag>`  | `QUALITY`          | freshness and data-quality counters                          |
 * | `EVENT#<p>#<id>`  | `-`                | an applied event id (dedup without a window)                 |
 *
 * A run adds to one shard of each day it touches (chosen by its id), so concurrent runs
 * spread their writes and the report reads O(days × shards) items whatever the number
 * of units. Markers carry `expiresAt` (DynamoDB TTL in the cloud; the local server
 * sweeps them, see sweep.ts): 7 days, beyond any queue retry.
 */
import { GetCommand, type NumberValue } from "@aws-sdk/lib-dynamodb";
import { VALUE_SCALE } from "../../shared/metric-values.js";
import { queryAll, type Db } from "../../shared/node/dynamo.js";
import type { SufficientStats } from "../../shared/stats/index.js";

export const SHARDS = 8;
/** Pseudo-metrics kept beside the real ones: exposed units, units seen in a second variant. */
export const EXPOSURES = "$exposures";
export const MULTIPLE_VARIANTS = "$multipleVariants";
/** How long dedup and settle markers live. */
export const MARKER_TTL_MS = 7 * 86_400_000;

export const dayOf = (time: number) => new Date(time).toISOString().slice(0, 10);
const experiment = (project: string, flag: string) => `EXP#${project}#${flag}`;

export const statsKeys = {
  experiment,
  unit: (project: string, flag: string, unit: string) => ({ pk: experiment(project, flag), sk: `UNIT#${unit}` }),
  aggregate: (project: string, flag: string, day: string, shard: number) => ({ pk: experiment(project, flag), sk: `AGG#${day}#${shard}` }),
  run: (project: string, flag: string, run: string) => ({ pk: experiment(project, flag), sk: `RUN#${run}` }),
  quality: (project: string, flag: string) => ({ pk: experiment(project, flag), sk: "QUALITY" }),
  event: (project: string, id: string) => ({ pk: `EVENT#${project}#${id}`, sk: "-" }),
};

/** Aggregate attributes: `n|<variant>|<metric>` and likewise `s|` (Σx) and `q|` (Σx²), all scaled. */
export const aggregateAttribute = (stat: "n" | "s" | "q", variant: string, metric: string) => `${stat}|${variant}|${metric}`;
/** Aggregate attributes naming the unsettled runs that added to it: `run|<id>` = start time. */
export const RUN_ATTRIBUTE = "run|";

export interface AggregateRow extends SufficientStats {
  day: string;
  variant: string;
  metric: string;
}

export interface Quality {
  lastIngestedAt?: number;
  /** How long the oldest message of the latest delivery had waited in the queue. */
  queueLagMs?: number;
  rejectedExposures: number;
  droppedValues: Record<string, number>;
}

const numberOf = (value: unknown): bigint => (value === undefined ? 0n : BigInt(String((value as NumberValue).value ?? value)));

export function createStatsStore(db: Db) {
  const { client, table: TableName } = db;
  return {
    db,

    /** Every daily aggregate of the experiment, shards summed, unscaled. */
    async aggregates(project: string, flag: string): Promise<AggregateRow[]> {
      const exact = new Map<string, { day: string; variant: string; metric: string; n: bigint; s: bigint; q: bigint }>();
      const items = await queryAll(db, { KeyConditionExpression: "pk = :pk AND begins_with(sk, :agg)", ExpressionAttributeValues: { ":pk": experiment(project, flag), ":agg": "AGG#" } });
      for (const item of items) {
        const day = (item["sk"] as string).split("#")[1]!;
        for (const [name, value] of Object.entries(item)) {
          const [stat, variant, metric] = name.split("|");
          if (metric === undefined || (stat !== "n" && stat !== "s" && stat !== "q")) continue;
          const key = `${day}|${variant}|${metric}`;
          const row = exact.get(key) ?? { day, variant: variant!, metric, n: 0n, s: 0n, q: 0n };
          row[stat] += numberOf(value);
          exact.set(key, row);
        }
      }
      const scale = BigInt(VALUE_SCALE);
      return [...exact.values()].map(({ day, variant, metric, n, s, q }) => ({
        day,
        variant,
        metric,
        n: Number(n),
        // Integer parts first, so dividing loses nothing a double could have kept.
        sum: Number(s / scale) + Number(s % scale) / VALUE_SCALE,
        sumSquares: Number(q / (scale * scale)) + Number(q % (scale * scale)) / VALUE_SCALE ** 2,
      }));
    },

    async quality(project: string, flag: string): Promise<Quality> {
      const { Item } = await client.send(new GetCommand({ TableName, Key: statsKeys.quality(project, flag), ConsistentRead: true }));
      const droppedValues: Record<string, number> = {};
      for (const [name, value] of Object.entries(Item ?? {})) if (name.startsWith("dropped|")) droppedValues[name.slice(8)] = Number(numberOf(value));
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
