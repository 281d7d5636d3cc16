/**
 * Data access for the metric catalog: the current version of each metric (one conditional
 * write per change, as flags) and its history (derived, idempotent per version). Kept apart
 * from store.ts so the catalog's reads and writes sit in one place.
 */
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { keys, prefixes, readRecords } from "../../../shared/node/control-plane-table.js";
import { writeIf, type Db } from "../../../shared/node/dynamo.js";
import { historyRecords } from "./history-records.js";
import type { CatalogMetric, MetricHistoryEntry } from "./records.js";

/** The outcome of a conditional write: written, or lost to the version stored now (absent: no item). */
export type VersionedWrite = { written: true } | { written: false; current: number | undefined };

export function createMetricStore(db: Db) {
  const { client, table: TableName } = db;
  const history = historyRecords<MetricHistoryEntry>(db, {
    key: keys.metricHistory,
    prefix: prefixes.metricHistory,
    resourceOf: (entry) => entry.metric.key,
  });

  async function get<T>(key: Record<string, string>): Promise<T | undefined> {
    const { Item } = await client.send(new GetCommand({ TableName, Key: key, ConsistentRead: true }));
    return typeof Item?.["data"] === "string" ? (JSON.parse(Item["data"]) as T) : undefined;
  }

  return {
    getMetric: (project: string, key: string) => get<CatalogMetric>(keys.metric(project, key)),
    listMetrics: (project: string) => readRecords<CatalogMetric>(db, prefixes.metrics(project)),
    /** Writes `metric` if the stored version is `expected` (`undefined`: it must not exist yet). */
    async putMetric(project: string, metric: CatalogMetric, expected: number | undefined): Promise<VersionedWrite> {
      const written = await writeIf(
        db,
        new PutCommand({
          TableName,
          Item: { ...keys.metric(project, metric.key), data: JSON.stringify(metric), version: metric.version },
          ...(expected === undefined
            ? { ConditionExpression: "attribute_not_exists(pk)" }
            : { ConditionExpression: "version = :expected", ExpressionAttributeValues: { ":expected": expected } }),
        }),
      );
      if (written) return { written: true };
      return { written: false, current: (await get<CatalogMetric>(keys.metric(project, metric.key)))?.version };
    },
    putMetricHistory: history.put,
    getMetricHistory: history.get,
    listMetricHistory: history.list,
  };
}

export type MetricStore = ReturnType<typeof createMetricStore>;
