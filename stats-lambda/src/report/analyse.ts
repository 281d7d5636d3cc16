/**
 * Stage 2: analyse each metric. Its statistics per variant per look (metric-statistics.ts),
 * the gates of each look, and per treatment the comparison across looks
 * (shared/stats/sequence.ts), whose p-values are level-free: the correction stage chooses
 * the levels afterwards.
 *
 * Gates: a look is tested from the first day both arms have 100 exposed units (and, for
 * kinds with the conversion gate, 25 units with a non-zero value) and some variance;
 * earlier looks feed nothing.
 *
 * Epochs: when the split changed during the period (more than one allocation) and the
 * source sends the metric per allocation epoch (`K@<allocation>`, store.ts), each look
 * compares the arms within each epoch and combines them by the epochs' shares of units
 * (shared/stats/stratified.ts): pooling units assigned under different splits compares
 * arms with different mixes of exposure days (Simpson's paradox). Without per-epoch
 * series, or when some units were recorded without an allocation, the arms are pooled.
 *
 * Novelty (every kind, pooled arms): per look, whether the lift moved as the units aged
 * (novelty.ts); sums and counts read uncapped, ratios from their exact sums.
 *
 * Fixed estimand: a metric with a window end (its own, or the default where the source
 * closes windows) is tested on the units whose window has closed (closed-window.ts); its
 * statistics, gates and comparisons all read that view of the data. Before any window has
 * closed, nothing is tested: the running values are shown as a description.
 *
 * Guardrails (sequential) use the one-sided mixture for harm (shared/stats/harm-series.ts),
 * tuned like the others at their family's Bonferroni level: guardrails × treatments.
 */
import {
  compareSeries,
  type ComparisonSeries,
  type Method,
  type SufficientStats,
} from "../../../shared/stats/index.js";
import { harmSeries } from "../../../shared/stats/harm-series.js";
import { postStratified } from "../../../shared/stats/stratified.js";
import { closedViewOf, type WindowDefaults } from "./closed-window.js";
import type { Cumulative } from "./cumulative.js";
import { withCuped, type CupedLooks } from "./cuped.js";
import type { Experiment } from "./experiment.js";
import { metricStatistics, type MetricStatistics } from "./metric-statistics.js";
import { growthOf, liftMoved, meanSplit, ratioParts } from "./novelty.js";
import type { ReportedMetric } from "./registration.js";

export const MIN_EXPOSURES = 100;
/** Units with a non-zero value (conversions, for binary metrics) per arm, for kinds with the conversion gate. */
export const MIN_CONVERSIONS = 25;

export interface AnalysedMetric {
  metric: ReportedMetric;
  statistics: MetricStatistics;
  /** Per treatment: the comparison against control at every look. */
  series: Map<string, ComparisonSeries>;
  /** Per treatment, per look: whether the lift moved with time since exposure (novelty.ts). */
  moved?: Map<string, boolean[]>;
  /** CUPED's looks where it applied (cuped.ts): then `statistics.stats` are the adjusted ones. */
  cuped?: CupedLooks | undefined;
  /**
   * Tested on the units whose window closed (closed-window.ts): the window and the units per
   * variant and look; `pending` while no window has closed (running values shown, nothing tested).
   */
  closed?: { endHours: number; units: (variant: string, day: number) => number; pending: boolean } | undefined;
}

/** Whether a look of treatment against control passes the minimum-sample gates. */
export function eligibleAt(
  data: Cumulative,
  statistics: Pick<MetricStatistics, "nonZero">,
  control: string,
  treatment: string,
  day: number,
): boolean {
  const { nonZero } = statistics;
  return (
    data.exposures(control, day) >= MIN_EXPOSURES &&
    data.exposures(treatment, day) >= MIN_EXPOSURES &&
    (!nonZero || (nonZero(control, day) >= MIN_CONVERSIONS && nonZero(treatment, day) >= MIN_CONVERSIONS))
  );
}

/** Per look, the arms compared: post-stratified over allocation epochs when the data allows it (above). */
export function comparedArms(
  metric: ReportedMetric,
  data: Cumulative,
  statistics: MetricStatistics,
  variantKeys: readonly string[],
  control: string,
  treatment: string,
): (day: number) => { control: SufficientStats; treatment: SufficientStats } {
  const pooled = (day: number) => ({
    control: statistics.stats(control, day),
    treatment: statistics.stats(treatment, day),
  });
  const allocations = [...data.allocations];
  if (allocations.length < 2 || !data.hasEpochs(metric.key)) return pooled;
  const epochs = allocations.map((allocation) => {
    const view = data.epoch(allocation);
    return { view, statistics: metricStatistics(metric, view, variantKeys) };
  });
  const covered = (variant: string, day: number) =>
    epochs.reduce((sum, e) => sum + e.view.exposures(variant, day), 0) === data.exposures(variant, day);
  return (day) => {
    if (!covered(control, day) || !covered(treatment, day)) return pooled(day);
    return (
      postStratified(
        epochs.map((e) => ({
          control: e.statistics.stats(control, day),
          treatment: e.statistics.stats(treatment, day),
        })),
      ) ?? pooled(day)
    );
  };
}

/** The sign of a harmful difference for a guardrail: +1 when the metric should go down (errors). */
export const harmSignOf = (metric: Pick<ReportedMetric, "direction">) => (metric.direction === "decrease" ? 1 : -1);

/**
 * A guardrail's one-sided p-value for harm at a look, before correction: the one-sided
 * mixture's (sequential), or half the two-sided Welch p on the harmful side (t-test).
 */
export function harmPValueAt(
  { metric, series }: AnalysedMetric,
  treatment: string,
  day: number,
  method: Method,
): number {
  const comparison = series.get(treatment)!;
  const harmSign = harmSignOf(metric);
  if (method === "sequential") return comparison.harmPValue(day, harmSign);
  const look = comparison.looks[day]!;
  return Math.sign(look.difference) === harmSign ? look.pValue / 2 : 1 - look.pValue / 2;
}

/** `defaultHours`: the default window the source closed for every metric without its own (closed-window.ts). */
export function analyseMetric(
  experiment: Experiment,
  all: Cumulative,
  metric: ReportedMetric,
  windows: WindowDefaults = {},
): AnalysedMetric {
  const closedView = closedViewOf(metric, all, windows);
  const data = closedView?.view ?? all;
  const pending = closedView?.pending ?? false;
  const closed = closedView && {
    endHours: closedView.endHours,
    units: pending ? () => 0 : data.exposures,
    pending,
  };
  const { controlKey, treatments, variantKeys, alpha, method, familySizes, settings } = experiment;
  const { statistics, cuped } = withCuped(metric, metricStatistics(metric, data, variantKeys), data, variantKeys);
  // The mixture is tuned at the family's Bonferroni level: fixed before any data.
  const tuningAlpha = alpha / familySizes[metric.role];
  const mde = settings.minimumDetectableEffect;
  const moved = new Map<string, boolean[]>();
  const series = new Map(
    treatments.map((treatment) => {
      const arms = comparedArms(metric, data, statistics, variantKeys, controlKey, treatment);
      const looks = data.days.map((_, day) => {
        const { control, treatment: treated } = arms(day);
        return {
          control,
          treatment: treated,
          // No window closed yet: the running values are shown, never tested (closed-window.ts).
          eligible: !pending && eligibleAt(data, statistics, controlKey, treatment, day),
          ...(mde ? { minimumDetectableDifference: mde * Math.abs(control.mean) } : {}),
        };
      });
      const growth = growthOf(metric.type, statistics.kind);
      const armsAt = <T>(of: (variant: string, day: number) => T) =>
        data.days.map((_, day) => ({
          control: of(controlKey, day),
          treatment: of(treatment, day),
          eligible: looks[day]!.eligible,
        }));
      const { ratioSums } = statistics;
      // Sums and counts read uncapped: a look's cap moves, and the bound needs each unit's own values.
      const of = growth === "binary" ? statistics.stats : statistics.raw;
      moved.set(
        treatment,
        ratioSums && growth !== "binary"
          ? liftMoved(armsAt(ratioSums), (e, d) => ratioParts(e, d, growth))
          : liftMoved(armsAt(of), meanSplit(growth)),
      );
      return [
        treatment,
        metric.role === "guardrail" && method === "sequential"
          ? harmSeries(looks, harmSignOf(metric), { alpha: tuningAlpha })
          : compareSeries(looks, method, { alpha: tuningAlpha }),
      ] as const;
    }),
  );
  return { metric, statistics, series, moved, cuped, closed };
}
