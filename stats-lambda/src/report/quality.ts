/** Data quality and freshness: what the numbers leave out, and how current they are. */
import type { Report } from "../../../shared/report-schema.js";
import { BEFORE_EXPOSURE, MULTIPLE_VARIANTS, NEVER_EXPOSED, type Quality } from "../store.js";
import type { Cumulative } from "./cumulative.js";

/** Units seen in more than one variant up to a look (counted once, in their first variant). */
const multipleVariantUnitsAt = (data: Cumulative, variantKeys: readonly string[], day: number) =>
  day >= 0 ? variantKeys.reduce((total, v) => total + data.at(v, MULTIPLE_VARIANTS, day).n, 0) : 0;

/**
 * The share of exposed units seen in more than one variant up to a look (0 before any):
 * the warnings stage warns above 1% and withholds trust above 5% (shared/report-warnings.ts).
 */
export function multipleVariantShareAt(data: Cumulative, variantKeys: readonly string[], day: number): number {
  const exposed = day >= 0 ? variantKeys.reduce((total, v) => total + data.exposures(v, day), 0) : 0;
  return exposed > 0 ? multipleVariantUnitsAt(data, variantKeys, day) / exposed : 0;
}

/**
 * Events no metric counted up to the last look (the event-store source sends them,
 * metric-engine/unattributed.ts; ingest's sends none): before their unit's exposure (by
 * variant) and of units never exposed (variant "").
 */
function unattributedAt(data: Cumulative, variantKeys: readonly string[], series: string): number {
  const { last } = data;
  if (last < 0) return 0;
  return [...variantKeys, ""].reduce((total, v) => total + data.at(v, series, last).n, 0);
}

export function dataQualityOf(
  data: Cumulative,
  variantKeys: readonly string[],
  quality: Quality,
): Report["dataQuality"] {
  const { last } = data;
  return {
    multipleVariantUnits: multipleVariantUnitsAt(data, variantKeys, last),
    multipleVariantShare: multipleVariantShareAt(data, variantKeys, last),
    rejectedExposures: quality.rejectedExposures,
    droppedValues: quality.droppedValues,
    eventsBeforeExposure: unattributedAt(data, variantKeys, BEFORE_EXPOSURE),
    eventsNeverExposed: unattributedAt(data, variantKeys, NEVER_EXPOSED),
  };
}

/** When ingest last wrote for the experiment and how long that delivery waited in the queue. */
export function freshnessOf(quality: Quality, now: number): Report["freshness"] {
  const { lastIngestedAt, queueLagMs } = quality;
  return {
    lastIngestedAt: lastIngestedAt === undefined ? null : new Date(lastIngestedAt).toISOString(),
    secondsSinceIngest: lastIngestedAt === undefined ? null : Math.max(0, Math.round((now - lastIngestedAt) / 1000)),
    queueLagSeconds: queueLagMs === undefined ? null : Math.round(queueLagMs / 100) / 10,
  };
}
