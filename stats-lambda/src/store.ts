/**
 * The stats table (its own DynamoDB table, keys `pk`/`sk`):
 *
 * | pk               | sk                                    | item                                             |
 * | ---------------- | ------------------------------------- | ------------------------------------------------ |
 * | `EXP#<p>#<flag>` | `USER#<user>`                         | variant, first exposure, per-metric state, the insert ids applied |
 * | `EXP#<p>#<flag>` | `AGG#<day>#<variant>#<metric>#<shard>` | n, Σx, Σx² added that day (atomic ADD)          |
 * | `EXP#<p>#<flag>` | `QUALITY`                             | users seen in more than one variant              |
 *
 * Aggregates are write-sharded (a user's shard is a hash of its id) so hot variants
 * spread their writes, and kept per day, so the report reads O(days × variants ×
 * metrics × shards) items whatever the number of users, and the daily items are the
 * snapshots of the over-time view.
 */
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { isConditionFailure, type Db } from "../../control-plane/src/db/table.js";
import { murmur3 } from "../../shared/evaluation/murmur3.js";
import type { SufficientStats } from "../../shared/stats/index.js";
import type { UserMetricState } from "./metrics.js";

export const SHARDS = 8;
export const EXPOSURES = "$exposures";
/** How many applied event ids a user item remembers (dedup of redeliveries). */
const REMEMBERED_EVENTS = 200;

export interface UserRecord {
  variant: string;
  firstExposure: number;
  version: number;
  metrics: Record<string, UserMetricState>;
  applied: string[];
  multipleVariants?: boolean;
}

export interface AggregateRow extends SufficientStats {
  day: string;
  variant: string;
  metric: string;
}

const experimentKey = (project: string, flag: string) => `EXP#${project}#${flag}`;
export const dayOf = (time: number) => new Date(time).toISOString().slice(0, 10);
const shardOf = (user: string) => murmur3(user) % SHARDS;

export function createStatsStore({ client, table: TableName }: Db) {
  return {
    /** Records a first exposure; false when the user was already exposed. */
    async addUser(project: string, flag: string, user: string, variant: string, time: number): Promise<boolean> {
      try {
        const record: UserRecord = { variant, firstExposure: time, version: 1, metrics: {}, applied: [] };
        await client.send(new PutCommand({ TableName, Item: { pk: experimentKey(project, flag), sk: `USER#${user}`, ...record }, ConditionExpression: "attribute_not_exists(pk)" }));
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    async getUser(project: string, flag: string, user: string): Promise<UserRecord | undefined> {
      const { Item } = await client.send(new GetCommand({ TableName, Key: { pk: experimentKey(project, flag), sk: `USER#${user}` }, ConsistentRead: true }));
      return Item as UserRecord | undefined;
    },

    /** Marks a user seen in a second variant; true the first time (so it is counted once). */
    async markMultipleVariants(project: string, flag: string, user: string): Promise<boolean> {
      try {
        await client.send(
          new UpdateCommand({
            TableName,
            Key: { pk: experimentKey(project, flag), sk: `USER#${user}` },
            UpdateExpression: "SET multipleVariants = :yes",
            ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(multipleVariants)",
            ExpressionAttributeValues: { ":yes": true },
          }),
        );
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
      await client.send(
        new UpdateCommand({ TableName, Key: { pk: experimentKey(project, flag), sk: "QUALITY" }, UpdateExpression: "ADD multipleVariantUsers :one", ExpressionAttributeValues: { ":one": 1 } }),
      );
      return true;
    },

    /**
     * Saves the user's new metric states if nobody changed the user since `version`
     * was read and the event was not applied before; false otherwise (re-read and retry,
     * or skip a duplicate).
     */
    async updateUserMetrics(project: string, flag: string, user: string, previous: UserRecord, metrics: Record<string, UserMetricState>, eventId: string): Promise<boolean> {
      const applied = [...previous.applied, eventId].slice(-REMEMBERED_EVENTS);
      try {
        await client.send(
          new UpdateCommand({
            TableName,
            Key: { pk: experimentKey(project, flag), sk: `USER#${user}` },
            UpdateExpression: "SET #metrics = :metrics, #applied = :applied, #version = :next",
            ConditionExpression: "#version = :version",
            ExpressionAttributeNames: { "#metrics": "metrics", "#applied": "applied", "#version": "version" },
            ExpressionAttributeValues: { ":metrics": metrics, ":applied": applied, ":next": previous.version + 1, ":version": previous.version },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    async addToAggregate(project: string, flag: string, day: string, variant: string, metric: string, user: string, delta: SufficientStats): Promise<void> {
      await client.send(
        new UpdateCommand({
          TableName,
          Key: { pk: experimentKey(project, flag), sk: `AGG#${day}#${variant}#${metric}#${shardOf(user)}` },
          UpdateExpression: "ADD n :n, #sum :sum, sumSquares :sumSquares",
          ExpressionAttributeNames: { "#sum": "sum" },
          ExpressionAttributeValues: { ":n": delta.n, ":sum": delta.sum, ":sumSquares": delta.sumSquares },
        }),
      );
    },

    /** Every daily, sharded aggregate of the experiment, shards summed. */
    async aggregates(project: string, flag: string): Promise<AggregateRow[]> {
      const rows = new Map<string, AggregateRow>();
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await client.send(
          new QueryCommand({
            TableName,
            KeyConditionExpression: "pk = :pk AND begins_with(sk, :agg)",
            ExpressionAttributeValues: { ":pk": experimentKey(project, flag), ":agg": "AGG#" },
            ConsistentRead: true,
            ExclusiveStartKey,
          }),
        );
        for (const item of page.Items ?? []) {
          const [, day, variant, metric] = (item["sk"] as string).split("#") as [string, string, string, string];
          const key = `${day}#${variant}#${metric}`;
          const row = rows.get(key) ?? { day, variant, metric, n: 0, sum: 0, sumSquares: 0 };
          row.n += (item["n"] as number) ?? 0;
          row.sum += (item["sum"] as number) ?? 0;
          row.sumSquares += (item["sumSquares"] as number) ?? 0;
          rows.set(key, row);
        }
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return [...rows.values()];
    },

    async multipleVariantUsers(project: string, flag: string): Promise<number> {
      const { Item } = await client.send(new GetCommand({ TableName, Key: { pk: experimentKey(project, flag), sk: "QUALITY" }, ConsistentRead: true }));
      return (Item?.["multipleVariantUsers"] as number | undefined) ?? 0;
    },
  };
}

export type StatsStore = ReturnType<typeof createStatsStore>;
