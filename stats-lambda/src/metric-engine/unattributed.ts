/**
 * The events of the metrics' types that no metric counts (issue 22, 10), as two pseudo-series
 * (store.ts): with the event store nothing is lost by delivery order (an event delivered
 * before its unit's exposure counts once the exposure is stored), but an event can still go
 * uncounted:
 * - `$beforeExposure`: stamped before its unit's first exposure in the period (metrics count
 *   from exposure on), under the unit's variant;
 * - `$neverExposed`: its unit has no exposure in the period, and the event is older than
 *   ATTRIBUTION_BOUND_MS at the data's horizon (the latest exposure or event read): a later
 *   exposure would still attribute the younger ones. For a preview or an experiment shown to
 *   part of the traffic, this also counts the events of units outside it.
 * Stored rows are counted (a copy delivered twice counts twice).
 * Both are sums over event types (each row has one), so the unit state keeps them per event
 * type (unit-state.ts).
 */
import { ATTRIBUTION_BOUND_MS, BEFORE_EXPOSURE, NEVER_EXPOSED } from "../store.js";
import { cutBy, dayOf, seriesRow } from "./expressions.js";
import { sqlInteger, sqlString } from "./sql.js";

/** Between a data-quality series and its event type, when the query splits them by type (`byType`). */
export const EVENT_TYPE_SEPARATOR = "|";

/**
 * `byType` (the unit state's build, deferred only): each series per event type, named
 * `<series>|<event type>` (the series' names hold no `|`, so the first one splits them).
 */
export function unattributedSql(
  deferred = false,
  byType = false,
  settledAt?: bigint,
): { ctes: string[]; series: string[] } {
  const bound = `e.event_ms + ${sqlInteger(ATTRIBUTION_BOUND_MS)}`;
  // One outer join of the event rows to the units for both series. Deferred (the unit state,
  // compile.ts): no horizon, a never-exposed event counting from its bound on (`cut_ms`).
  const never = deferred ? sqlString(NEVER_EXPOSED) : `CASE WHEN ${bound} <= h.ms THEN ${sqlString(NEVER_EXPOSED)} END`;
  const base = `CASE WHEN u.unit_key IS NULL THEN ${never} WHEN e.event_ms < u.exposed_ms THEN ${sqlString(BEFORE_EXPOSURE)} END`;
  const kind = byType ? `${base} || ${sqlString(EVENT_TYPE_SEPARATOR)} || e.event_type` : base;
  const horizon = deferred
    ? ""
    : "attribution_horizon AS (SELECT greatest(coalesce((SELECT max(exposed_ms) FROM exposed), 0), " +
      "coalesce((SELECT max(event_ms) FROM event_rows), 0)) AS ms)";
  return {
    ctes: [
      ...(deferred ? [] : [horizon]),
      `unattributed AS (SELECT ${dayOf("e.event_ms")} AS day_no, coalesce(u.variant, '') AS variant, ${kind} AS kind` +
        `${deferred ? `, ${cutBy(`CASE WHEN u.unit_key IS NULL THEN ${bound} END`, settledAt)} AS cut_ms` : ""} ` +
        `FROM event_rows e LEFT JOIN units u ON e.unit_key = u.unit_key${deferred ? "" : " CROSS JOIN attribution_horizon h"} ` +
        "WHERE e.unit_key IS NOT NULL)",
    ],
    series: [
      deferred
        ? `${seriesRow("day_no", "variant", "kind", "count(*)", "0", "0", { cut: "cut_ms" })} FROM unattributed WHERE kind IS NOT NULL GROUP BY 1, 2, 3, 7`
        : `${seriesRow("day_no", "variant", "kind", "count(*)", "0", "0")} FROM unattributed WHERE kind IS NOT NULL GROUP BY 1, 2, 3`,
    ],
  };
}
