/**
 * Stale flags in the flags list (docs/control-plane.md#stale-flags): each flag's staleness from
 * `GET /projects/{p}/stale-flags`, a "stale" badge with the reason beside its status, and the
 * list's staleness filter. A control plane that takes no evaluation counts marks nothing stale.
 */
import { api } from "../api.js";
import { useLoad } from "../components.js";

export interface Staleness {
  flag: string;
  stale: boolean;
  reason?: "single_variant" | "not_evaluated";
  /** Why, and for how long: "one variant to everyone for 34 days (on)". */
  message?: string;
}

export type StaleFilter = "" | "stale" | "live";
export const STALE_FILTERS = [
  ["", "Stale or not"],
  ["stale", "Stale only"],
  ["live", "Not stale"],
] as const;

/** The project's stale flags by key (empty while loading, or where staleness is not available). */
export function useStaleFlags(project: string): ReadonlyMap<string, Staleness> {
  const state = useLoad(
    () => api.get<Staleness[]>(`/projects/${project}/stale-flags?stale=true`).catch(() => [] as Staleness[]),
    [project],
  );
  return new Map((state.data ?? []).map((s) => [s.flag, s]));
}

export const passesStaleFilter = (filter: StaleFilter, stale: ReadonlyMap<string, Staleness>, flag: string) =>
  filter === "" || stale.has(flag) === (filter === "stale");

/** The badge and its reason, under the flag's status. */
export function StaleNote({ staleness }: { staleness: Staleness | undefined }) {
  if (!staleness) return null;
  return (
    <div class="stale-note" data-testid={`stale-${staleness.flag}`}>
      <span class="badge stale">stale</span> <span class="muted">{staleness.message}</span>
    </div>
  );
}
