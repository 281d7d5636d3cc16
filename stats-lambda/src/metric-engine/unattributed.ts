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
  return {
    ctes: [
      "attribution_horizon AS (SELECT greatest(coalesce((SELECT max(exposed_ms) FROM exposed), 0), " +
        "coalesce((SELECT max(event_ms) FROM event_rows), 0)) AS ms)",
    ],
    series: [
      `${seriesRow(dayOf("e.event_ms"), "u.variant", sqlString(BEFORE_EXPOSURE), "count(*)", "0", "0")} ` +
        "FROM event_rows e JOIN units u ON e.unit_key = u.unit_key WHERE e.event_ms < u.exposed_ms GROUP BY 1, 2",
      `${seriesRow(dayOf("e.event_ms"), "''", sqlString(NEVER_EXPOSED), "count(*)", "0", "0")} ` +
        "FROM event_rows e, attribution_horizon h WHERE e.unit_key IS NOT NULL " +
        `AND e.event_ms + ${sqlInteger(ATTRIBUTION_BOUND_MS)} <= h.ms ` +
        "AND NOT EXISTS (SELECT 1 FROM units u WHERE u.unit_key = e.unit_key) GROUP BY 1, 2",
    ],
  };
}
