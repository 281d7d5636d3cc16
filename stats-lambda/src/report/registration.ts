/**
 * Which metrics a report shows, and since when each counts: the analysis period's metrics,
 * each marked `registeredAt: "start"` or the ISO time it was added to the running
 * experiment, from the period's `metricChanges`
 * (`[{at, action: "added" | "removed", role, metric}]`). A metric whose latest change is a
 * removal is not reported (nor counted in its correction family). The changes are read
 * defensively: a period recorded before the field existed, or an entry that does not parse,
 * changes nothing.
 */
import * as z from "zod";
import type { AnalysisPeriod, AnalysisSettings } from "../../../shared/authoring/schema.js";
import { metricsOf } from "../catalog.js";

export type Role = "primary" | "secondary" | "guardrail";

/**
 * What the report reads of a metric: the authoring metric's fields and, for the metric
 * definitions' new types, where their event type is (ratio sides, funnel steps).
 */
export interface MetricDefinitionLike {
  key: string;
  name?: string | undefined;
  type: string;
  eventType?: string | undefined;
  direction?: "increase" | "decrease" | undefined;
  capPercentile?: number | undefined;
  capValue?: number | undefined;
  numerator?: { eventType: string } | undefined;
  steps?: ReadonlyArray<{ eventType: string }> | undefined;
  filters?: readonly unknown[] | undefined;
  window?: unknown;
}

export type ReportedMetric = MetricDefinitionLike & { role: Role; registeredAt: string };

export const REGISTERED_AT_START = "start";

const metricChangeSchema = z.object({
  at: z.string(),
  action: z.enum(["added", "removed"]),
  role: z.enum(["secondary", "guardrail"]),
  metric: z.string(),
});
export type MetricChange = z.infer<typeof metricChangeSchema>;

/** The period's valid metric changes in time order; anything else is ignored. */
export function metricChangesOf(period: AnalysisPeriod | undefined): MetricChange[] {
  const recorded = (period as { metricChanges?: unknown } | undefined)?.metricChanges;
  if (!Array.isArray(recorded)) return [];
  return recorded
    .flatMap((entry) => {
      const parsed = metricChangeSchema.safeParse(entry);
      return parsed.success && !Number.isNaN(Date.parse(parsed.data.at)) ? [parsed.data] : [];
    })
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

/** The period's metrics with their role and registration, removed ones left out. */
export function reportedMetrics(settings: AnalysisSettings, period: AnalysisPeriod | undefined): ReportedMetric[] {
  const latest = new Map<string, MetricChange>();
  for (const change of metricChangesOf(period)) latest.set(`${change.role}|${change.metric}`, change);
  return metricsOf(settings).flatMap((metric): ReportedMetric[] => {
    const change = latest.get(`${metric.role}|${metric.key}`);
    if (change?.action === "removed") return [];
    return [{ ...(metric as MetricDefinitionLike & { role: Role }), registeredAt: change?.at ?? REGISTERED_AT_START }];
  });
}
