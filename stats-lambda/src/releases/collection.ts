/**
 * What the stats service collects for release flags: only those a rollout plan's guardrails
 * watch right now (shared/authoring/to-evaluation-model.ts `guardedRollout`), whose units the
 * edge exposes on both sides of the rollout, the variant served and `off` held back. Their
 * exposures go to the event store beside the running experiments' (event-store/rows.ts); the
 * per-unit DynamoDB aggregates stay experiments' alone.
 */
import type { Flag } from "../../../shared/authoring/schema.js";
import { HELD_BACK_VARIANT } from "../../../shared/evaluation/flag-metadata.js";

/** Stored flags are read unparsed: a flag stored before guardrails existed has none. */
export const isGuardedRelease = (flag: Flag): boolean =>
  flag.type === "release" &&
  flag.status === "active" &&
  (flag.guardrailMetrics ?? []).length > 0 &&
  flag.rollout > 0 &&
  flag.rollout < 100;

/** Whether an exposure's variant is one the flag is counted under (a guarded release's held-back `off` too). */
export const collectsVariant = (flag: Flag, variant: string): boolean =>
  flag.variants.some((v) => v.key === variant) || (flag.type === "release" && variant === HELD_BACK_VARIANT);

/** The experiments among what the catalog collects for (the per-unit aggregates' work). */
export function experimentsOnly(collected: ReadonlyMap<string, Flag>): ReadonlyMap<string, Flag> {
  for (const flag of collected.values()) if (flag.type !== "experiment") return filtered(collected);
  return collected; // the common case: no guarded release, no copy
}

const filtered = (collected: ReadonlyMap<string, Flag>) =>
  new Map([...collected].filter(([, flag]) => flag.type === "experiment"));
