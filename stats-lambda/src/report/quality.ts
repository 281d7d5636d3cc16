/** Data quality and freshness: what the numbers leave out, and how current they are. */
import type { Report } from "../../../shared/report-schema.js";
import { MULTIPLE_VARIANTS, type Quality } from "../store.js";
import type { Cumulative } from "./cumulative.js";

export function dataQualityOf(
  data: Cumulative,
  variantKeys: readonly string[],
  quality: Quality,
): Report["dataQuality"] {
  const { last } = data;
  return {
    multipleVariantUnits:
      last >= 0 ? variantKeys.reduce((total, v) => total + data.at(v, MULTIPLE_VARIANTS, last).n, 0) : 0,
    rejectedExposures: quality.rejectedExposures,
    droppedValues: quality.droppedValues,
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
