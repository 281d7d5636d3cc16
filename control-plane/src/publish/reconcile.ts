/**
 * The repair pass for what follows a committed change (history entries, published
 * documents: steps 3 and 4 of ../commit/commit.ts) when a process stopped in between or a
 * dependency failed: writes missing history entries, and republishes every deployment whose
 * documents in KV are not what its flags compile to now (read from KV itself, not from the recorded publish state,
 * which a failure may have left behind), or whose last publish failed. Runs at start-up
 * and periodically.
 */
import { toEvaluationFlags } from "../../../shared/authoring/to-evaluation-model.js";
import { kvNameForApiKey } from "../../../shared/deployment-document.js";
import { recordMissingHistory } from "../commit/history.js";
import type { Deployment, Store } from "../db/store.js";
import { byKey } from "../segments/segment-store.js";
import type { KvWriter } from "./kv-writer.js";
import { contentHash, type Publisher } from "./publisher.js";

/** Whether both of the deployment's documents in KV carry this content. */
async function kvHolds(kv: KvWriter, deployment: Deployment, hash: string): Promise<boolean> {
  for (const key of [deployment.clientKey, deployment.serverKey]) {
    const text = await kv.get(kvNameForApiKey(key));
    if (!text) return false;
    try {
      if ((JSON.parse(text) as { contentHash?: unknown }).contentHash !== hash) return false;
    } catch {
      return false;
    }
  }
  return true;
}

export async function reconcile(
  store: Store,
  publisher: Publisher,
  kv: KvWriter,
): Promise<{ history: number; published: number }> {
  let history = 0;
  let published = 0;
  for (const project of await store.listProjects()) {
    const [flags, groups, deployments, segments] = await Promise.all([
      store.listFlags(project.key),
      store.listGroups(project.key),
      store.listDeployments(project.key),
      store.listSegments(project.key),
    ]);
    for (const flag of flags) if (await recordMissingHistory(store, project.key, flag)) history++;
    const groupMap = new Map(groups.map((g) => [g.key, g]));
    for (const deployment of deployments) {
      const state = await store.getPublishState(project.key, deployment.key);
      const hash = contentHash(
        deployment,
        toEvaluationFlags(deployment.key, flags, groupMap, byKey(segments)),
        project.breakdownProperties,
      );
      if (state?.status === "ok" && state.contentHash === hash && (await kvHolds(kv, deployment, hash))) continue;
      await publisher.publish(project.key, deployment.key);
      published++;
    }
  }
  return { history, published };
}
