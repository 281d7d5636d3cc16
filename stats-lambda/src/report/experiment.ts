/**
 * The experiment a report is about, once: the analysis period and its settings, the
 * variants (control first) and their weights, the test's level, correction and method,
 * the metrics reported and the size of each correction family. Every later stage takes
 * this as data instead of re-deriving it.
 */
import {
  analysisSettingsSchema,
  type AnalysisPeriod,
  type AnalysisSettings,
  type Flag,
} from "../../../shared/authoring/schema.js";
import type { Correction, Method } from "../../../shared/stats/index.js";
import { reportedMetrics, type MetricDefinitionLike, type ReportedMetric, type Role } from "./registration.js";

export interface Experiment {
  flag: Flag;
  /** The analysis period reported on (1, 2, …; 0 for an experiment never started). */
  index: number;
  period: AnalysisPeriod | undefined;
  settings: AnalysisSettings;
  variantKeys: string[];
  controlKey: string;
  treatments: string[];
  /** The flag's weight per variant, in variantKeys' order. */
  weights: number[];
  /** Two-sided significance level, 1 − confidence. */
  alpha: number;
  correction: Correction;
  method: Method;
  metrics: ReportedMetric[];
  /** Comparisons per correction family (at least 1): primary × treatments, secondary metrics × treatments. */
  familySizes: Record<Role, number>;
}

/** The settings of the analysis period reported on (the current ones for an experiment never started). */
export function periodOf(
  flag: Flag,
  index?: number,
): { index: number; period: AnalysisPeriod | undefined; settings: AnalysisSettings } {
  const periods = flag.analysisPeriods ?? [];
  const chosen = index ?? periods.length;
  const period = periods[chosen - 1];
  return { index: chosen, period, settings: analysisSettingsSchema.parse(period?.settings ?? flag) };
}

/** `computes`: the metrics the statistics' source computes (default: all); the others are not reported. */
export function experimentOf(
  flag: Flag,
  periodIndex?: number,
  computes: (metric: MetricDefinitionLike) => boolean = () => true,
): Experiment {
  const { index, period, settings } = periodOf(flag, periodIndex);
  const variantKeys = flag.variants.map((v) => v.key);
  const [controlKey, ...treatments] = variantKeys as [string, ...string[]];
  const metrics = reportedMetrics(settings, period).filter(computes);
  const secondaryCount = metrics.filter((m) => m.role === "secondary").length;
  const guardrailCount = metrics.filter((m) => m.role === "guardrail").length;
  return {
    flag,
    index,
    period,
    settings,
    variantKeys,
    controlKey,
    treatments,
    weights: variantKeys.map((key) => flag.weights?.[key] ?? 100 / variantKeys.length),
    alpha: 1 - settings.confidenceLevel,
    correction: settings.multipleTestingCorrection ?? "bonferroni",
    method: settings.statisticalMethod,
    metrics,
    familySizes: {
      primary: Math.max(1, treatments.length),
      secondary: Math.max(1, treatments.length * secondaryCount),
      guardrail: Math.max(1, treatments.length * guardrailCount),
    },
  };
}
