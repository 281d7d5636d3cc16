/**
 * The running experiments the stats service counts for, read from the control plane's
 * table and cached briefly per project (a status change shows within `ttlMs`).
 */
import type { Flag, Metric } from "../../shared/authoring/schema.js";
import type { Store } from "../../control-plane/src/db/store.js";

export interface Catalog {
  /** Running experiments of a project by flag key. */
  running(project: string): Promise<Map<string, Flag>>;
  /** A running experiment; an unknown key reloads the project (an experiment may have just started). */
  runningExperiment(project: string, key: string): Promise<Flag | undefined>;
  /** Any experiment of the project, running or not (for reports). */
  experiment(project: string, key: string): Promise<Flag | undefined>;
}

/** Primary, secondary and guardrail metrics of an experiment, each once, with its role. */
export function metricsOf(flag: Flag): Array<Metric & { role: "primary" | "secondary" | "guardrail" }> {
  const seen = new Set<string>();
  const all = [
    ...(flag.primaryMetric ? [{ ...flag.primaryMetric, role: "primary" as const }] : []),
    ...flag.secondaryMetrics.map((m) => ({ ...m, role: "secondary" as const })),
    ...flag.guardrailMetrics.map((m) => ({ ...m, role: "guardrail" as const })),
  ];
  return all.filter((m) => !seen.has(m.key) && !!seen.add(m.key));
}

export function createCatalog(store: Store, ttlMs = 2000, reloadAfterMs = 100): Catalog {
  const cache = new Map<string, { at: number; flags: Map<string, Flag> }>();
  const load = async (project: string) => {
    const flags = new Map((await store.listFlags(project)).filter((f) => f.type === "experiment" && f.status === "running").map((f) => [f.key, f]));
    cache.set(project, { at: Date.now(), flags });
    return flags;
  };
  return {
    async running(project) {
      const cached = cache.get(project);
      return cached && Date.now() - cached.at < ttlMs ? cached.flags : load(project);
    },
    async runningExperiment(project, key) {
      const flags = await this.running(project);
      const found = flags.get(key);
      if (found) return found;
      const cached = cache.get(project);
      return cached && Date.now() - cached.at < reloadAfterMs ? undefined : (await load(project)).get(key);
    },
    experiment: (project, key) => store.getFlag(project, key),
  };
}
