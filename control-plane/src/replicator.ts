/**
 * What a batch of table changes (DynamoDB stream records) means for the edge: the
 * deployments to republish and the history entries to write. Shared by the replicator
 * Lambda; pure apart from the store and publisher it is given.
 */
import type { Flag } from "../../shared/authoring/schema.js";
import { parseProjectKey } from "../../shared/node/control-plane-table.js";
import type { Store } from "./db/store.js";
import type { Publisher } from "./publish/publisher.js";
import { recordHistory } from "./services/flags.js";

export interface TableChange {
  pk: string;
  sk: string;
  oldData?: string;
  newData?: string;
}

export async function replicate(
  changes: TableChange[],
  store: Store,
  publisher: Publisher,
): Promise<Array<[string, string]>> {
  const targets = new Map<string, [string, string]>();
  const add = (project: string, deployment: string) =>
    targets.set(`${project}\u0000${deployment}`, [project, deployment]);
  const everyDeployment = async (project: string) => {
    for (const d of await store.listDeployments(project)) add(project, d.key);
  };

  for (const change of changes) {
    const item = parseProjectKey(change);
    if (!item) continue; // history, tokens, the project list: nothing to publish
    const { project, kind, key } = item;
    if (kind === "flag") {
      const oldFlag = change.oldData ? (JSON.parse(change.oldData) as Flag) : undefined;
      const newFlag = change.newData ? (JSON.parse(change.newData) as Flag) : undefined;
      if (newFlag) await recordHistory(store, project, newFlag, oldFlag);
      for (const d of new Set([...(oldFlag?.deployments ?? []), ...(newFlag?.deployments ?? [])])) add(project, d);
    } else if (kind === "deployment") {
      if (change.newData) add(project, key);
    } else if (kind === "group") {
      await everyDeployment(project);
    }
    // Publish states are our own replication state (reacting to them would loop); catalog metrics publish nothing.
  }
  for (const [project, deployment] of targets.values()) await publisher.publish(project, deployment);
  return [...targets.values()];
}
