/**
 * The experiment report as a pipeline of named stages, data in and data out (after
 * GrowthBook's gbstats): load sufficient statistics → analyse each metric → correct →
 * verdicts → warnings, beside the sample-ratio check, data quality, freshness and the plan.
 * Each stage is its own module here; docs/experiment-analysis.md lists them and
 * docs/statistics.md explains each rule.
 *
 * | stage       | module                       | in → out                                        |
 * | ----------- | ---------------------------- | ----------------------------------------------- |
 * | load        | source.ts, cumulative.ts     | source → daily rows, quality → cumulative sums  |
 * | experiment  | experiment.ts, registration  | flag, period → settings, variants, metrics      |
 * | analyse     | analyse.ts, metric-statistics| per metric: statistics per look, comparisons    |
 * | correct     | correct.ts                   | comparisons → adjusted p-values and levels      |
 * | verdicts    | verdicts.ts                  | comparison, level → intervals and verdict       |
 * | verdicts    | read-rule.ts                 | t-test: verdict only at the planned sample      |
 * | warnings    | warnings.ts                  | verdict, SRM, stability → trustworthy           |
 * | srm         | srm.ts                       | allocation strata → sequential p-value          |
 * | quality     | quality.ts                   | quality counters → dataQuality, freshness       |
 * | cuped       | cuped.ts (in analyse)        | pre-exposure sums → adjusted statistics         |
 * | bayesian    | bayesian.ts                  | latest look → chance to beat control, loss      |
 * | plan        | plan.ts                      | primary's control, traffic → sample plan        |
 * | assemble    | metric-report.ts, here       | all of the above → Report (shared/report-schema)|
 */
import type { Flag } from "../../../shared/authoring/schema.js";
import type { Report } from "../../../shared/report-schema.js";
import type { AggregateRow, Quality } from "../store.js";
import { analyseMetric, type AnalysedMetric } from "./analyse.js";
import { correct } from "./correct.js";
import { Cumulative } from "./cumulative.js";
import { DEFAULT_WINDOW_HOURS, defaultWindowHoursOf } from "./closed-window.js";
import { experimentOf, type Experiment } from "./experiment.js";
import { metricReportOf } from "./metric-report.js";
import { planOf } from "./plan.js";
import { dataQualityOf, freshnessOf, multipleVariantShareAt } from "./quality.js";
import { readRuleOf } from "./read-rule.js";
import { loadStatistics, type StatisticsSource } from "./source.js";
import { sampleRatio } from "./srm.js";
import { decisionsOf } from "./verdicts.js";

export { MIN_CONVERSIONS, MIN_EXPOSURES } from "./analyse.js";
export { reportCsv } from "./csv.js";
export { periodOf } from "./experiment.js";
export { dynamoSource, ingestComputes, loadStatistics, type StatisticsSource } from "./source.js";
export type { Report } from "../../../shared/report-schema.js";

/** How a report is read: `early` asks a t-test for its verdict before the planned sample (marked as early). */
export interface ReportOptions {
  read?: "early";
  /**
   * The source closes the windows the experiment asks for, its `defaultMetricWindow` included
   * (the metric engine; closed-window.ts).
   */
  closesWindows?: boolean;
  /** The source closed a DEFAULT_WINDOW_HOURS window for every metric, whatever the experiment's setting (engineSource's option). */
  defaultWindows?: boolean;
}

/** The default window the report's metrics were closed with, in hours (none: undefined). */
function defaultHoursOf(settings: Experiment["settings"], options: ReportOptions): number | undefined {
  if (options.defaultWindows) return DEFAULT_WINDOW_HOURS;
  return options.closesWindows ? defaultWindowHoursOf(settings.defaultMetricWindow) : undefined;
}

/** The report from loaded rows (stages 2 onwards): pure. `computes`: the metrics the rows' source computes. */
export function buildReport(
  flag: Flag,
  rows: readonly AggregateRow[],
  quality: Quality,
  now: number,
  periodIndex?: number,
  computes?: StatisticsSource["computes"],
  options: ReportOptions = {},
): Report {
  const experiment = experimentOf(flag, periodIndex, computes);
  const { index, period, settings, variantKeys, weights, method, alpha, correction, treatments } = experiment;
  const data = new Cumulative(rows);
  const srm = sampleRatio(data, experiment);
  const windows = { defaultHours: defaultHoursOf(settings, options) };
  const analysed = experiment.metrics.map((metric) => analyseMetric(experiment, data, metric, windows));
  const corrected = correct(analysed, treatments, data.days.length, alpha, correction, method);
  const plan = planWithCuped(experiment, analysed[0], data);
  const looks = {
    read: readRuleOf(experiment, plan, data, options.read === "early"),
    multipleVariantShare: (day: number) => multipleVariantShareAt(data, variantKeys, day),
  };
  const metrics = analysed.map((a) =>
    metricReportOf(a, decisionsOf(a, corrected, experiment, looks), data, experiment, srm.mismatch),
  );
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  return {
    experiment: {
      key: flag.key,
      name: flag.name,
      status: flag.status,
      method,
      confidenceLevel: settings.confidenceLevel,
      correction,
      minimumDetectableEffect: settings.minimumDetectableEffect ?? null,
      ...(flag.hypothesis ? { hypothesis: flag.hypothesis } : {}),
    },
    analysisPeriod: {
      index,
      startedAt: period?.startedAt ?? null,
      stoppedAt: period?.stoppedAt ?? null,
      settings,
      periods: flag.analysisPeriods?.length ?? 0,
    },
    variants: variantKeys.map((key, i) => ({
      key,
      exposures: data.latestExposures(key),
      expectedShare: weights[i]! / totalWeight,
    })),
    srm,
    dataQuality: dataQualityOf(data, variantKeys, quality),
    freshness: freshnessOf(quality, now),
    plan,
    metrics,
  };
}

/**
 * The sample plan on the primary's statistics (CUPED-adjusted where CUPED applied), and
 * beside it the plan on the unadjusted variance, to show what CUPED saves.
 */
function planWithCuped(experiment: Experiment, primary: AnalysedMetric | undefined, data: Cumulative): Report["plan"] {
  const plan = planOf(experiment, primary, data);
  if (!plan || !primary?.cuped) return plan;
  const unadjusted = planOf(
    experiment,
    { ...primary, statistics: { ...primary.statistics, stats: primary.statistics.raw } },
    data,
  );
  if (!unadjusted) return plan;
  const { fixedHorizon, sequential, baseline } = unadjusted;
  return { ...plan, withoutCuped: { fixedHorizon, sequential, baselineVariance: baseline.variance } };
}

/** The whole pipeline: load the period's statistics from `source`, then build the report. */
export async function reportFrom(
  source: StatisticsSource,
  project: string,
  flag: Flag,
  now: number,
  periodIndex?: number,
  options: ReportOptions = {},
): Promise<Report> {
  const { rows, quality } = await loadStatistics(source, project, flag, periodIndex);
  const windows = {
    closesWindows: source.closesWindows === true,
    defaultWindows: source.closesDefaultWindows === true,
  };
  return buildReport(flag, rows, quality, now, periodIndex, source.computes?.bind(source), { ...options, ...windows });
}
