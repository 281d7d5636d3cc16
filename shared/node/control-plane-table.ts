/**
 * The control plane's table (single-table design, keys `pk`/`sk`), and the two narrow
 * read-only views other services have of it: the experiment catalog and admin tokens.
 * The control plane writes it (control-plane/src/db/store.ts); the stats service only
 * reads through the views below.
 *
 * | pk                    | sk                 | item                                              |
 * | --------------------- | ------------------ | ------------------------------------------------- |
 * | `PROJECTS`            | `<project>`        | project (name, change counter `seq`)              |
 * | `PROJECT#<project>`   | `DEPLOYMENT#<key>` | deployment (client and server API keys)           |
 * | `PROJECT#<project>`   | `FLAG#<key>`       | flag or experiment, current version               |
 * | `PROJECT#<project>`   | `GROUP#<key>`      | mutual-exclusion group or holdout                 |
 * | `PROJECT#<project>`   | `PUBLISH#<key>`    | replication state of a deployment (version, lease)|
 * | `HISTORY#<p>#<flag>`  | `V#<version>`      | a past version of a flag with its audit entry     |
 * | `PROJECT#<project>`   | `METRIC#<key>`     | metric of the project's catalog, current version  |
 * | `MHISTORY#<p>#<key>`  | `V#<version>`      | a past version of a catalog metric                |
 * | `TOKENS`              | `<sha-256>`        | admin token (hash only), role and scope           |
 *
 * Records keep their JSON in `data`, next to the few attributes that conditions and
 * counters need (`version`, `seq`, lease fields). Each state change is one conditional
 * write on the item that owns it; what derives from it (history, published documents)
 * is written idempotently, keyed by version, and repaired by the reconcile pass.
 */
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import type { Flag } from "../authoring/schema.js";
import type { TokenLookup, TokenRecord } from "./admin-tokens.js";
import { queryAll, type Db } from "./dynamo.js";

export const keys = {
  projects: () => ({ pk: "PROJECTS" }),
  project: (project: string) => ({ pk: "PROJECTS", sk: project }),
  deployment: (project: string, key: string) => ({ pk: `PROJECT#${project}`, sk: `DEPLOYMENT#${key}` }),
  flag: (project: string, key: string) => ({ pk: `PROJECT#${project}`, sk: `FLAG#${key}` }),
  group: (project: string, key: string) => ({ pk: `PROJECT#${project}`, sk: `GROUP#${key}` }),
  publish: (project: string, deployment: string) => ({ pk: `PROJECT#${project}`, sk: `PUBLISH#${deployment}` }),
  history: (project: string, flag: string, version: number) => ({
    pk: `HISTORY#${project}#${flag}`,
    sk: `V#${String(version).padStart(10, "0")}`,
  }),
  historyOf: (project: string, flag: string) => ({ pk: `HISTORY#${project}#${flag}` }),
  metric: (project: string, key: string) => ({ pk: `PROJECT#${project}`, sk: `METRIC#${key}` }),
  metricHistory: (project: string, metric: string, version: number) => ({
    pk: `MHISTORY#${project}#${metric}`,
    sk: `V#${String(version).padStart(10, "0")}`,
  }),
  token: (hash: string) => ({ pk: "TOKENS", sk: hash }),
  tokens: () => ({ pk: "TOKENS" }),
};

/** The JSON record of an item, or undefined when absent (or a lease with no state yet). */
export async function readRecord<T>(
  db: Db,
  key: Record<string, string>,
): Promise<{ record: T; item: Record<string, unknown> } | undefined> {
  const { Item } = await db.client.send(new GetCommand({ TableName: db.table, Key: key, ConsistentRead: true }));
  return typeof Item?.["data"] === "string" ? { record: JSON.parse(Item["data"]) as T, item: Item } : undefined;
}

/** Every record under `pk` whose sort key starts with `prefix`. */
export async function readRecords<T>(db: Db, pk: string, prefix: string): Promise<T[]> {
  const items = await queryAll(db, {
    KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
    ExpressionAttributeValues: { ":pk": pk, ":prefix": prefix },
  });
  return items.map((item) => JSON.parse(item["data"] as string) as T);
}

/** What the stats service needs to know of flags: read-only. */
export interface FlagReader {
  getFlag(project: string, key: string): Promise<Flag | undefined>;
  listFlags(project: string): Promise<Flag[]>;
}

export const flagReader = (db: Db): FlagReader => ({
  getFlag: async (project, key) => (await readRecord<Flag>(db, keys.flag(project, key)))?.record,
  listFlags: (project) => readRecords<Flag>(db, `PROJECT#${project}`, "FLAG#"),
});

export const tokenLookup = (db: Db): TokenLookup => ({
  getToken: async (hash) => (await readRecord<TokenRecord>(db, keys.token(hash)))?.record,
});
