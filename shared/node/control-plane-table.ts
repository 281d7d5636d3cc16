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
 * | `PROJECT#<project>`   | `SEGMENT#<key>`    | reusable segment, current version                 |
 * | `SHISTORY#<p>#<key>`  | `V#<version>`      | a past version of a segment                       |
 * | `GHISTORY#<p>#<key>`  | `V#<version>`      | a past version of a group                         |
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

/** The kinds of item under a project's partition, by their sort-key prefix. */
const PROJECT_ITEMS = {
  deployment: "DEPLOYMENT#",
  flag: "FLAG#",
  group: "GROUP#",
  publish: "PUBLISH#",
  metric: "METRIC#",
  segment: "SEGMENT#",
} as const;
export type ProjectItemKind = keyof typeof PROJECT_ITEMS;

const projectPk = (project: string) => `PROJECT#${project}`;
/** History versions sort as numbers: zero-padded to 10 digits. */
const versionSk = (version: number) => `V#${String(version).padStart(10, "0")}`;
const projectItem = (kind: ProjectItemKind) => (project: string, key: string) => ({
  pk: projectPk(project),
  sk: `${PROJECT_ITEMS[kind]}${key}`,
});

/** One item's key. */
export const keys = {
  project: (project: string) => ({ pk: "PROJECTS", sk: project }),
  deployment: projectItem("deployment"),
  flag: projectItem("flag"),
  group: projectItem("group"),
  publish: projectItem("publish"),
  metric: projectItem("metric"),
  segment: projectItem("segment"),
  history: (project: string, flag: string, version: number) => ({
    pk: `HISTORY#${project}#${flag}`,
    sk: versionSk(version),
  }),
  metricHistory: (project: string, metric: string, version: number) => ({
    pk: `MHISTORY#${project}#${metric}`,
    sk: versionSk(version),
  }),
  segmentHistory: (project: string, segment: string, version: number) => ({
    pk: `SHISTORY#${project}#${segment}`,
    sk: versionSk(version),
  }),
  groupHistory: (project: string, group: string, version: number) => ({
    pk: `GHISTORY#${project}#${group}`,
    sk: versionSk(version),
  }),
  token: (hash: string) => ({ pk: "TOKENS", sk: hash }),
};

/** A set of items: a partition and the prefix their sort keys share. */
export interface KeyPrefix {
  pk: string;
  prefix: string;
}

const projectItems = (kind: ProjectItemKind) => (project: string) => ({
  pk: projectPk(project),
  prefix: PROJECT_ITEMS[kind],
});

/** The items of a kind, for `readRecords`. */
export const prefixes = {
  projects: (): KeyPrefix => ({ pk: "PROJECTS", prefix: "" }),
  deployments: projectItems("deployment"),
  flags: projectItems("flag"),
  groups: projectItems("group"),
  metrics: projectItems("metric"),
  segments: projectItems("segment"),
  history: (project: string, flag: string): KeyPrefix => ({ pk: `HISTORY#${project}#${flag}`, prefix: "V#" }),
  metricHistory: (project: string, metric: string): KeyPrefix => ({
    pk: `MHISTORY#${project}#${metric}`,
    prefix: "V#",
  }),
  segmentHistory: (project: string, segment: string): KeyPrefix => ({
    pk: `SHISTORY#${project}#${segment}`,
    prefix: "V#",
  }),
  groupHistory: (project: string, group: string): KeyPrefix => ({ pk: `GHISTORY#${project}#${group}`, prefix: "V#" }),
  tokens: (): KeyPrefix => ({ pk: "TOKENS", prefix: "" }),
};

/**
 * What a key names when it is one of a project's items (deployment, flag, group, publish
 * state, catalog metric); undefined for the rest (the project list, history, tokens) and
 * for a key of no known kind. The inverse of `keys.<kind>(project, key)`.
 */
export function parseProjectKey(key: {
  pk: string;
  sk: string;
}): { project: string; kind: ProjectItemKind; key: string } | undefined {
  if (!key.pk.startsWith("PROJECT#")) return undefined;
  const project = key.pk.slice("PROJECT#".length);
  for (const [kind, prefix] of Object.entries(PROJECT_ITEMS) as Array<[ProjectItemKind, string]>)
    if (key.sk.startsWith(prefix)) return { project, kind, key: key.sk.slice(prefix.length) };
  return undefined;
}

/** The JSON record of an item, or undefined when absent (or a lease with no state yet). */
export async function readRecord<T>(
  db: Db,
  key: Record<string, string>,
): Promise<{ record: T; item: Record<string, unknown> } | undefined> {
  const { Item } = await db.client.send(new GetCommand({ TableName: db.table, Key: key, ConsistentRead: true }));
  return typeof Item?.["data"] === "string" ? { record: JSON.parse(Item["data"]) as T, item: Item } : undefined;
}

/** Every record of a set of items. */
export async function readRecords<T>(db: Db, { pk, prefix }: KeyPrefix): Promise<T[]> {
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
  listFlags: (project) => readRecords<Flag>(db, prefixes.flags(project)),
});

export const tokenLookup = (db: Db): TokenLookup => ({
  getToken: async (hash) => (await readRecord<TokenRecord>(db, keys.token(hash)))?.record,
});
