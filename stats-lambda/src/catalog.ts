/**
 * The experiments the stats service counts for, read from the control plane's table
 * through its read-only flag view, and cached briefly per project (a status change
 * shows within `ttlMs`). A delivery with messages newer than the cached read reads it
 * again: a message sent after a start, stop or restart is counted under the experiment's
 * state at that time, never a stale one.
 */
import type { Flag, Metric } from "../../shared/authoring/schema.js";
import type { FlagReader } from "../../shared/node/control-plane-table.js";
import { isGuardedRelease } from "./releases/collection.js";

export interface Catalog {
  /**
   * Running experiments of a project by flag key, and the release flags a rollout's guardrails
   * watch (releases/collection.ts), as read after `newest` (a message's time) when given.
   */
  running(project: string, newest?: number): Promise<Map<string, Flag>>;
  /** The same, read again unless read in the last `reloadAfterMs` (an experiment may have just started). */
  refresh(project: string): Promise<Map<string, Flag>>;
  /** Any experiment of the project, running or not (for reports). */
  experiment(project: string, key: string): Promise<Flag | undefined>;
}

/** Primary, secondary and guardrail metrics of an experiment, each once, with its role. */
export function metricsOf(
  flag: Pick<Flag, "primaryMetric" | "secondaryMetrics" | "guardrailMetrics">,
): Array<Metric & { role: "primary" | "secondary" | "guardrail" }> {
  const seen = new Set<string>();
  const all = [
    ...(flag.primaryMetric ? [{ ...flag.primaryMetric, role: "primary" as const }] : []),
    ...flag.secondaryMetrics.map((m) => ({ ...m, role: "secondary" as const })),
    ...flag.guardrailMetrics.map((m) => ({ ...m, role: "guardrail" as const })),
  ];
  return all.filter((m) => !seen.has(m.key) && !!seen.add(m.key));
}

export function createCatalog(flags: FlagReader, ttlMs = 2000, reloadAfterMs = 100): Catalog {
  const cache = new Map<string, { at: number; flags: Promise<Map<string, Flag>> }>();
  const load = (project: string) => {
    const loaded = flags
      .listFlags(project)
      .then(
        (list) =>
          new Map(
            list
              .filter((f) => (f.type === "experiment" && f.status === "running") || isGuardedRelease(f))
              .map((f) => [f.key, f]),
          ),
      );
    cache.set(project, { at: Date.now(), flags: loaded });
    loaded.catch(() => cache.delete(project)); // a failed read is not remembered
    return loaded;
  };
  const fresh = (project: string, maxAge: number, newest = 0) => {
    const cached = cache.get(project);
    return cached && Date.now() - cached.at < maxAge && cached.at > newest ? cached.flags : load(project);
  };
  return {
    running: (project, newest) => fresh(project, ttlMs, newest),
    refresh: (project) => fresh(project, reloadAfterMs),
    experiment: (project, key) => flags.getFlag(project, key),
  };
}
