/** The report as CSV: one line per (metric, variant), for spreadsheets. */
import type { Report } from "../../../shared/report-schema.js";

const CSV_COLUMNS = [
  "metric",
  "role",
  "variant",
  "control",
  "exposures",
  "n",
  "mean",
  "uncapped_mean",
  "cap_upper",
  "cap_lower",
  "difference",
  "lift",
  "ci_low",
  "ci_high",
  "relative_ci_low",
  "relative_ci_high",
  "p_value",
  "verdict",
  "trustworthy",
  "warnings",
  "cuped_variance_reduction",
  "unadjusted_mean",
  "chance_to_beat_control",
  "expected_loss",
  "credible_low",
  "credible_high",
  "method",
  "correction",
  "analysis_period_start",
  "srm_p_value",
  "registered_at",
];

const csvCell = (value: unknown): string => {
  const text =
    value === undefined || value === null || (typeof value === "number" && !Number.isFinite(value))
      ? ""
      : String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

export function reportCsv(report: Report): string {
  const lines = [CSV_COLUMNS.join(",")];
  for (const metric of report.metrics) {
    const cap = metric.cap && "percentile" in metric.cap ? metric.cap : undefined;
    const capValue = metric.cap && "value" in metric.cap ? metric.cap.value : undefined;
    for (const v of metric.variants) {
      const c = v.comparison;
      lines.push(
        [
          metric.key,
          metric.role,
          v.variant,
          v.control,
          v.exposures,
          v.n,
          v.mean,
          v.uncappedMean,
          cap?.upper ?? capValue,
          cap?.lower,
          c?.difference,
          c?.lift,
          c?.ci?.[0],
          c?.ci?.[1],
          c?.relativeCi?.[0],
          c?.relativeCi?.[1],
          c?.pValue,
          c?.verdict,
          c?.trustworthy,
          c?.warnings.join(" "),
          metric.cuped?.varianceReduction,
          v.unadjustedMean,
          v.bayesian?.chanceToBeatControl,
          v.bayesian?.expectedLoss,
          v.bayesian?.credibleInterval[0],
          v.bayesian?.credibleInterval[1],
          report.experiment.method,
          report.experiment.correction,
          report.analysisPeriod.startedAt,
          report.srm.pValue,
          metric.registeredAt,
        ]
          .map(csvCell)
          .join(","),
      );
    }
  }
  return `${lines.join("\n")}\n`;
}
