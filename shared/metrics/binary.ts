/**
 * Which metrics are 0/1 per unit (the stats service's binary kind, the console's "% of units"),
 * apart from definition.ts so that the console can ask without bundling zod's schemas.
 */
import type { MetricDefinition } from "./definition.js";

/** Metric types whose per-unit value is 0 or 1 (the binary gates and variance apply). */
export const isBinaryMetric = (metric: { type: MetricDefinition["type"] | (string & {}) }): boolean =>
  metric.type === "unique_conversions" || metric.type === "funnel" || metric.type === "retention";
