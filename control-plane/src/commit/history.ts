/**
 * History entries: one per version of a flag or catalog metric, with the change's actor, action
 * and diff. Derived from the committed item and keyed by its version, so writing one again
 * (a retried request, the replicator, reconcile) changes nothing. Step 3 of commit.ts.
 */
import diff from "microdiff";
import type { Flag } from "../../../shared/authoring/schema.js";
import type { CatalogMetric, MetricHistoryEntry } from "../db/records.js";
import type { HistoryEntry, Store } from "../db/store.js";

/**
 * A DynamoDB item holds at most 400 KB, and a flag's history entry carries the flag and its
 * diff: with the flag bounded at 128 KiB of JSON (services/flags.ts), a kept diff of at most
 * 128 KiB keeps every write of a change inside that limit.
 */
const MAX_DIFF_JSON_BYTES = 128 * 1024;
export const utf8JsonBytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length;

/** Fields every version changes: not part of what a change changed. */
const BOOKKEEPING_FIELDS = new Set(["version", "updatedAt", "lastChange"]);

/** What changed from `previous` to `next`, field by field, bookkeeping left out. */
export const changesBetween = (previous: object, next: object): HistoryEntry["diff"] =>
  diff(previous as Record<string, unknown>, next as Record<string, unknown>).filter(
    (change) => !BOOKKEEPING_FIELDS.has(String(change.path[0])),
  );

/**
 * What changed from `previous` to `flag`, field by field. A diff too large to keep
 * (replacing thousands of IDs) names the top-level fields that changed, without values:
 * both full versions stay readable in the history.
 */
export function flagDiff(previous: Flag | undefined, flag: Flag): HistoryEntry["diff"] {
  if (!previous) return [];
  const changes = changesBetween(previous, flag);
  if (utf8JsonBytes(changes) <= MAX_DIFF_JSON_BYTES) return changes;
  const fields = [...new Set(changes.map((change) => String(change.path[0])))];
  return fields.map((field) => ({ type: "CHANGE", path: [field] }));
}

/** Writes the history entry of `flag`'s version: idempotent, so reconcile can redo it. */
export async function recordHistory(
  store: Pick<Store, "putHistory">,
  project: string,
  flag: Flag,
  previous: Flag | undefined,
): Promise<void> {
  await store.putHistory(project, {
    version: flag.version,
    flag,
    actor: flag.lastChange.actor,
    at: flag.lastChange.at,
    action: flag.lastChange.action,
    diff: flagDiff(previous, flag),
  });
}

/** The version before `flag`'s, as its history holds it (undefined for a first version). */
export async function previousVersion(
  store: Pick<Store, "getHistory">,
  project: string,
  flag: Flag,
): Promise<Flag | undefined> {
  return flag.version > 1 ? (await store.getHistory(project, flag.key, flag.version - 1))?.flag : undefined;
}

/** Writes `flag`'s history entry if its version has none (a process stopped after the write); true if it did. */
export async function recordMissingHistory(
  store: Pick<Store, "getHistory" | "putHistory">,
  project: string,
  flag: Flag,
): Promise<boolean> {
  if (await store.getHistory(project, flag.key, flag.version)) return false;
  await recordHistory(store, project, flag, await previousVersion(store, project, flag));
  return true;
}

/** Writes the history entry of a catalog metric's version. */
export async function recordMetricHistory(
  store: Pick<Store, "putMetricHistory">,
  project: string,
  metric: CatalogMetric,
  previous: CatalogMetric | undefined,
): Promise<void> {
  const entry: MetricHistoryEntry = {
    version: metric.version,
    actor: metric.lastChange.actor,
    at: metric.lastChange.at,
    action: metric.lastChange.action,
    diff: previous ? changesBetween(previous, metric) : [],
    metric,
  };
  await store.putMetricHistory(project, entry);
}
