/**
 * A report with its breakdown (`?breakdown=<property>`): one engine query gives the
 * experiment's rows and every series per value of the property (metric-engine/strata.ts);
 * the report is built from the former exactly as without a breakdown, the breakdown from
 * the latter (breakdowns.ts).
 */
import type { Flag } from "../../../shared/authoring/schema.js";
import type { Breakdown } from "../../../shared/breakdown-schema.js";
import type { MetricEngine } from "../metric-engine/index.js";
import type { AggregateRow, StatsStore } from "../store.js";
import { buildBreakdown, splitSegmentRows } from "./breakdowns.js";
import { engineSource } from "./engine-source.js";
import { experimentOf } from "./experiment.js";
import { reportFrom, type Report, type ReportOptions } from "./index.js";

export async function reportWithBreakdown(
  engine: Pick<MetricEngine, "aggregates">,
  store: Pick<StatsStore, "aggregates" | "quality">,
  project: string,
  flag: Flag,
  now: number,
  period: number | undefined,
  options: ReportOptions,
  property: string,
): Promise<Report & { breakdown: Breakdown }> {
  const source = engineSource(engine, store, {
    covariates: true,
    epochs: true,
    breakdown: property,
  });
  let segments = new Map<string, AggregateRow[]>();
  const report = await reportFrom(
    {
      ...source,
      aggregates: async (...args) => {
        const split = splitSegmentRows(await source.aggregates(...args));
        segments = split.segments;
        return split.main;
      },
    },
    project,
    flag,
    now,
    period,
    options,
  );
  const experiment = experimentOf(flag, period);
  return { ...report, breakdown: buildBreakdown(experiment, property, segments) };
}
