/**
 * The repair pass for what follows a committed change (history entries, published
 * documents) when a process stopped in between: writes missing history entries, and
 * republishes every deployment whose published content differs from what its flags
 * compile to now, or whose last publish failed. Runs at start-up and periodically.
 */
import { compileDeployment } from "../../../shared/authoring/compile.js";
import type { Store } from "../db/store.js";
import { recordHistory } from "../services/flags.js";
import { contentHash, type Publisher } from "./publisher.js";

export async function reconcile(store: Store, publisher: Publisher): Promise<{ history: number; published: number }> {
  let history = 0;
  let published = 0;
  for (const project of await store.listProjects()) {
    const [flags, groups, deployments] = await Promise.all([store.listFlags(project.key), store.listGroups(project.key), store.listDeployments(project.key)]);
    for (const flag of flags) {
      if (await store.getHistory(project.key, flag.key, flag.version)) continue;
      const previous = flag.version > 1 ? await store.getHistory(project.key, flag.key, flag.version - 1) : undefined;
      await recordHistory(store, project.key, flag, previous?.flag);
      history++;
    }
    const groupMap = new Map(groups.map((g) => [g.key, g]));
    for (const deployment of deployments) {
      const state = await store.getPublishState(project.key, deployment.key);
      const hash = contentHash(deployment, compileDeployment(deployment.key, flags, groupMap));
      if (state?.status === "ok" && state.contentHash === hash) continue;
      await publisher.publish(project.key, deployment.key);
      published++;
    }
  }
  return { history, published };
}
