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
 */
import { ATTRIBUTION_BOUND_MS, BEFORE_EXPOSURE, NEVER_EXPOSED } from "../store.js";
import { dayOf, seriesRow } from "./expressions.js";
import { sqlInteger, sqlString } from "./sql.js";

export function unattributedSql(): { ctes: string[]; series: string[] } {
  // One outer join of the event rows to the units for both series.
  const kind =
    "CASE WHEN u.unit_key IS NULL THEN CASE WHEN e.event_ms + " +
    `${sqlInteger(ATTRIBUTION_BOUND_MS)} <= h.ms THEN ${sqlString(NEVER_EXPOSED)} END ` +
    `WHEN e.event_ms < u.exposed_ms THEN ${sqlString(BEFORE_EXPOSURE)} END`;
  return {
    ctes: [
      "attribution_horizon AS (SELECT greatest(coalesce((SELECT max(exposed_ms) FROM exposed), 0), " +
        "coalesce((SELECT max(event_ms) FROM event_rows), 0)) AS ms)",
      `unattributed AS (SELECT ${dayOf("e.event_ms")} AS day_no, coalesce(u.variant, '') AS variant, ${kind} AS kind ` +
        "FROM event_rows e LEFT JOIN units u ON e.unit_key = u.unit_key CROSS JOIN attribution_horizon h " +
        "WHERE e.unit_key IS NOT NULL)",
    ],
    series: [
      `${seriesRow("day_no", "variant", "kind", "count(*)", "0", "0")} FROM unattributed WHERE kind IS NOT NULL GROUP BY 1, 2, 3`,
    ],
  };
}
