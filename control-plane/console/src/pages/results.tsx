/** An experiment's report: banners, per-metric tables, exposure and lift-over-time charts, plan, CSV. */
import { useState } from "preact/hooks";
import { dataQualityNotes, warningSentences } from "../../../../shared/report-warnings.js";
import { describeError, statsApi } from "../api.js";
import { BreakdownPanel } from "./breakdown.js";
import { DayChart } from "../chart.js";
import { Banner, Loading, Select, useLoad, when } from "../components.js";
import { type Conclusion, conclude, progress } from "../conclusion.js";
import type { Flag, Metric, MetricReport, Report, Verdict } from "../types.js";
import { describeMetric } from "./metric-form.js";

const VERDICT_TEXT: Record<Verdict, { icon: string; text: string; tone: string }> = {
  significant_positive: { icon: "▲", text: "Significant: better", tone: "good" },
  significant_negative: { icon: "▼", text: "Significant: worse", tone: "bad" },
  not_yet_significant: { icon: "…", text: "Not yet significant", tone: "neutral" },
  insufficient_data: { icon: "○", text: "Not enough data", tone: "neutral" },
  harm_detected: { icon: "✖", text: "Harm detected", tone: "bad" },
  no_harm_detected: { icon: "✓", text: "No harm detected", tone: "good" },
};

const percent = (value: number | null | undefined, digits = 1) =>
  value === null || value === undefined || !Number.isFinite(value) ? "—" : `${(value * 100).toFixed(digits)}%`;
const number = (value: number | null | undefined) =>
  value === null || value === undefined || !Number.isFinite(value)
    ? "—"
    : Math.abs(value) >= 100
      ? value.toFixed(0)
      : value.toPrecision(4);

export function ResultsTab({ project, flag }: { project: string; flag: Flag }) {
  const periods = flag.analysisPeriods?.length ?? 0;
  const [period, setPeriod] = useState(Math.max(periods, 1));
  const path = `/projects/${project}/experiments/${flag.key}/report${period < periods ? `?period=${period}` : ""}`;
  const report = useLoad(() => statsApi.get<Report>(path), [path, flag.version]);
  const [csvError, setCsvError] = useState<string | undefined>();
  const downloadCsv = async () => {
    setCsvError(undefined);
    try {
      const csv = await statsApi.text(path, "text/csv");
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
      link.download = `${flag.key}-report.csv`;
      link.click();
      URL.revokeObjectURL(link.href);
    } catch (error) {
      setCsvError(describeError(error));
    }
  };
  if (periods === 0)
    return <Banner kind="info">This experiment has not been started: start it to collect exposures.</Banner>;
  return (
    <section class="results">
      <div class="toolbar">
        {periods > 1 && (
          <Select
            label="Analysis period"
            value={String(period)}
            options={Array.from(
              { length: periods },
              (_, i) => [String(i + 1), `Run ${i + 1}${i + 1 === periods ? " (latest)" : ""}`] as const,
            )}
            onChange={(v) => setPeriod(Number(v))}
          />
        )}
        <button type="button" onClick={report.reload}>
          Refresh
        </button>
        <button type="button" onClick={downloadCsv}>
          Download CSV
        </button>
      </div>
      {csvError && <Banner kind="error">{csvError}</Banner>}
      <Loading state={report}>{(r) => <ReportView report={r} flag={flag} />}</Loading>
      <BreakdownPanel path={path} flagKey={flag.key} project={project} />
    </section>
  );
}

/** The decision first: what the numbers say, and what to do. */
function Summary({ conclusion, flag }: { conclusion: Conclusion; flag: Flag }) {
  const inclusions = Object.values(flag.inclusions).reduce((n, s) => n + s.userIds.length + s.deviceIds.length, 0);
  return (
    <div
      class={`panel summary summary-${conclusion.tone}`}
      data-testid="summary"
      data-recommendation={conclusion.recommendation}
    >
      <h2>{conclusion.headline}</h2>
      <p>{conclusion.detail}</p>
      {flag.hypothesis && (
        <p class="muted">
          Hypothesis: {flag.hypothesis.proposedChange} → {flag.hypothesis.predictedResult} (problem:{" "}
          {flag.hypothesis.problem})
        </p>
      )}
      {inclusions > 0 && (
        <p class="muted">
          {inclusions.toLocaleString()} included user{inclusions === 1 ? "" : "s"} or device
          {inclusions === 1 ? "" : "s"} always get their variant; their exposures count like anyone's.
        </p>
      )}
      {flag.status === "decided" && flag.decidedVariant && (
        <p>
          <strong>Decided:</strong> <code>{flag.decidedVariant}</code> ships to everyone.
        </p>
      )}
    </div>
  );
}

function ReportView({ report, flag }: { report: Report; flag: Flag }) {
  const conclusion = conclude(report);
  const untrustworthy = report.metrics.some((m) => m.variants.some((v) => v.comparison && !v.comparison.trustworthy));
  const warned = [
    ...warningSentences(report.metrics.flatMap((m) => m.variants.flatMap((v) => v.comparison?.warnings ?? []))),
    ...dataQualityNotes(report),
  ];
  const totalExposures = report.variants.reduce((sum, v) => sum + v.exposures, 0);
  const days = report.metrics[0]?.timeSeries.map((look) => look.day) ?? [];
  return (
    <>
      {report.srm.mismatch && (
        <Banner kind="error" title="Sample ratio mismatch.">
          Exposures do not match the configured split (p = {report.srm.pValue.toPrecision(2)}): assignment or tracking
          is broken, so no verdict here can be trusted. Check targeting changes, bots and redirects.
        </Banner>
      )}
      {!report.srm.mismatch && warned.length > 0 && (
        <Banner kind="warning" title={untrustworthy ? "Some verdicts are not trustworthy." : "Read with care."}>
          {warned.join(" ")}
        </Banner>
      )}
      <Summary conclusion={conclusion} flag={flag} />
      <Freshness report={report} />
      <p class="muted">
        {report.experiment.method === "sequential"
          ? "Sequential test (always valid: look as often as you like)"
          : "Fixed-horizon t-test (read once, at the planned sample size)"}{" "}
        at {Math.round(report.experiment.confidenceLevel * 100)}% confidence, {report.experiment.correction} correction.
        Run {report.analysisPeriod.index} started {when(report.analysisPeriod.startedAt ?? undefined)}
        {report.analysisPeriod.stoppedAt ? `, stopped ${when(report.analysisPeriod.stoppedAt)}` : ""}.
      </p>
      <h2>Exposures</h2>
      <table class="list numbers">
        <thead>
          <tr>
            <th scope="col">Variant</th>
            <th scope="col">Exposed units</th>
            <th scope="col">Share</th>
            <th scope="col">Expected share</th>
          </tr>
        </thead>
        <tbody>
          {report.variants.map((v) => (
            <tr key={v.key}>
              <td>
                <code>{v.key}</code>
              </td>
              <td>{v.exposures.toLocaleString()}</td>
              <td>{percent(totalExposures ? v.exposures / totalExposures : null)}</td>
              <td>{percent(v.expectedShare)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {days.length > 0 && (
        <DayChart
          title="Cumulative exposures per variant"
          testId="exposures-chart"
          days={days}
          lines={report.variants.map((v) => ({
            label: v.key,
            values: report.metrics[0]!.timeSeries.map(
              (look) => look.variants.find((p) => p.variant === v.key)?.exposures ?? null,
            ),
          }))}
          format={(value) => value.toLocaleString()}
        />
      )}
      <Plan report={report} conclusion={conclusion} />
      {report.metrics.map((metric) => (
        <MetricView key={metric.key} metric={metric} definition={definitionIn(flag, metric)} />
      ))}
    </>
  );
}

function Freshness({ report }: { report: Report }) {
  const { lastIngestedAt, secondsSinceIngest, queueLagSeconds } = report.freshness;
  if (!lastIngestedAt)
    return (
      <Banner kind="info">
        No events have arrived yet. Numbers appear a few seconds after traffic reaches the edge.
      </Banner>
    );
  const stale = (secondsSinceIngest ?? 0) > 3600;
  return (
    <Banner kind={stale ? "warning" : "info"} title="Data freshness:">
      last events arrived {when(lastIngestedAt)} ({Math.round(secondsSinceIngest ?? 0)} s ago)
      {queueLagSeconds !== null ? `; they waited ${queueLagSeconds.toFixed(1)} s in the queue` : ""}.{" "}
      {stale && "Nothing for over an hour: is the experiment still served?"}
    </Banner>
  );
}

/** The sample size for the MDE, and where this run stands: consistent with the summary above. */
function Plan({ report, conclusion }: { report: Report; conclusion: Conclusion }) {
  const plan = report.plan;
  const left = progress(report);
  if (!plan || !left) return null;
  const exposed = report.variants.reduce((n, v) => n + v.exposures, 0);
  const mde = percent(report.experiment.minimumDetectableEffect);
  const sequential = report.experiment.method === "sequential";
  return (
    <div class="panel plan" data-testid="sample-size">
      <h2>Sample size</h2>
      <p>
        To detect a {mde} change in the primary metric with 80% power:{" "}
        <strong>{left.planned.toLocaleString()} units</strong> with this{" "}
        {sequential ? "sequential test" : "fixed-horizon test"} at {Math.round(plan.unitsPerDay).toLocaleString()} units
        a day
        {sequential ? ` (${Math.ceil(plan.fixedHorizon.total).toLocaleString()} for a single fixed-horizon look)` : ""}.{" "}
        {exposed.toLocaleString()} so far ({percent(Math.min(1, exposed / Math.max(1, left.planned)), 0)}).
        {plan.withoutCuped && (
          <span data-testid="plan-without-cuped">
            {" "}
            CUPED brings this down from{" "}
            {Math.ceil(
              (sequential ? plan.withoutCuped.sequential : plan.withoutCuped.fixedHorizon).total,
            ).toLocaleString()}{" "}
            units.
          </span>
        )}
      </p>
      <p>
        <strong>
          {conclusion.recommendation === "ship" || conclusion.recommendation === "keep-control"
            ? sequential
              ? "No more data needed: the sequential test has reached a verdict, valid at any look."
              : "The planned sample is in: this is the reading."
            : left.unitsLeft === 0
              ? "The planned sample is in."
              : `${left.unitsLeft.toLocaleString()} more units: ${
                  left.daysLeft === null
                    ? "unknown time (no traffic yet)"
                    : `about ${left.daysLeft} more day${left.daysLeft === 1 ? "" : "s"}`
                }.`}
        </strong>
      </p>
    </div>
  );
}

/**
 * A metric added while the experiment ran says when (the report's `registeredAt`: "start" or
 * the time it was added); its values still cover the whole period. Reports from before the
 * field existed leave it out: nothing is shown.
 */
function AddedLater({ metric }: { metric: MetricReport }) {
  const registeredAt = (metric as MetricReport & { registeredAt?: string }).registeredAt;
  if (!registeredAt || registeredAt === "start") return null;
  return (
    <span
      class="tag added-later"
      title={`Added ${new Date(registeredAt).toLocaleString()}; computed over the whole period`}
    >
      added {new Date(registeredAt).toLocaleString([], { dateStyle: "short", timeStyle: "short" })}
    </span>
  );
}

/**
 * The experiment's own definition of a reported metric, so the page can say what it measures in
 * full (a funnel's steps, filters, window), not only its first event; none for a metric the
 * experiment no longer has (removed since), which keeps the report's short description.
 */
function definitionIn(flag: Flag, metric: MetricReport): Metric | undefined {
  const all = [flag.primaryMetric, ...(flag.secondaryMetrics ?? []), ...(flag.guardrailMetrics ?? [])];
  return all.find((m) => m?.key === metric.key && m.type === metric.type);
}

function MetricView({ metric, definition }: { metric: MetricReport; definition: Metric | undefined }) {
  const control = metric.variants.find((v) => v.control);
  const treatments = metric.variants.filter((v) => !v.control);
  const days = metric.timeSeries.map((look) => look.day);
  const liftAt = (variant: string) =>
    metric.timeSeries.map((look) => {
      const c = look.variants.find((p) => p.variant === control?.variant);
      const t = look.variants.find((p) => p.variant === variant);
      return c && t && c.mean !== 0 ? (t.mean - c.mean) / Math.abs(c.mean) : null;
    });
  const adjusted = metric.cuped ? " (CUPED-adjusted)" : "";
  const bound = (variant: string, side: 0 | 1) =>
    metric.timeSeries.map((look) => look.variants.find((p) => p.variant === variant)?.relativeCi?.[side] ?? null);
  return (
    <section class="metric" data-metric={metric.key}>
      <h2>
        {metric.name ?? metric.key} <span class="tag">{metric.role}</span> <AddedLater metric={metric} />
      </h2>
      <p class="muted">
        {definition ? (
          describeMetric(definition)
        ) : (
          <>
            {metric.type.replace(/_/g, " ")} of <code>{metric.eventType}</code>
          </>
        )}
        {metric.direction === "decrease" ? " (lower is better)" : ""}
        {metric.cap && "percentile" in metric.cap
          ? `; capped at the ${metric.cap.percentile * 100}th percentile (${number(metric.cap.upper)})`
          : ""}
        {metric.cap && "value" in metric.cap ? `; capped at ${metric.cap.value}` : ""}
      </p>
      {metric.cuped && <CupedNote cuped={metric.cuped} />}
      <table class="list numbers">
        <thead>
          <tr>
            <th scope="col">Variant</th>
            <th scope="col">Exposed units</th>
            <th scope="col">Mean</th>
            <th scope="col">Difference{adjusted}</th>
            <th scope="col">Interval of the difference</th>
            <th scope="col">Lift{adjusted}</th>
            <th scope="col">Interval of the lift</th>
            <th scope="col">p-value</th>
            <th scope="col">Verdict</th>
          </tr>
        </thead>
        <tbody>
          {metric.variants.map((v) => {
            const verdict = v.comparison ? VERDICT_TEXT[v.comparison.verdict] : undefined;
            return (
              <tr key={v.variant} data-variant={v.variant}>
                <td>
                  <code>{v.variant}</code>{" "}
                  {/* A control called "control" needs no tag saying so ("control control"). */}
                  {v.control && v.variant !== "control" && <span class="tag">control</span>}
                </td>
                <td>{v.exposures.toLocaleString()}</td>
                {/* As observed: CUPED moves the arms' means by θ·(x̄ − pooled x̄), which is no one's mean. */}
                <td title={v.unadjustedMean !== undefined ? `CUPED-adjusted: ${number(v.mean)}` : undefined}>
                  {number(v.unadjustedMean ?? v.mean)}
                </td>
                <td>{v.comparison ? number(v.comparison.difference) : "—"}</td>
                <td>{v.comparison?.ci ? `${number(v.comparison.ci[0])} to ${number(v.comparison.ci[1])}` : "—"}</td>
                <td>{v.comparison ? percent(v.comparison.lift) : "—"}</td>
                <td>
                  {v.comparison?.relativeCi
                    ? `${percent(v.comparison.relativeCi[0])} to ${percent(v.comparison.relativeCi[1])}`
                    : "—"}
                </td>
                <td>{v.comparison ? v.comparison.pValue.toPrecision(3) : "—"}</td>
                <td>
                  {verdict && (
                    <span class={`verdict verdict-${verdict.tone}`}>
                      <span aria-hidden="true">{verdict.icon}</span> {verdict.text}
                      {v.comparison && !v.comparison.trustworthy && (
                        <span class="tag warn">
                          {" "}
                          untrustworthy: {v.comparison.warnings.join(", ").replace(/_/g, " ")}
                        </span>
                      )}
                    </span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <BayesianView metric={metric} />
      {days.length > 0 &&
        treatments.map((t) => (
          <DayChart
            key={t.variant}
            title={`Lift of ${t.variant} over ${control?.variant ?? "control"}, with its interval`}
            testId={`lift-chart-${metric.key}-${t.variant}`}
            days={days}
            lines={[
              { label: "lift", values: liftAt(t.variant) },
              { label: "upper bound", values: bound(t.variant, 1), dash: true, colour: "#64748b" },
              { label: "lower bound", values: bound(t.variant, 0), dash: true, colour: "#64748b" },
              { label: "no effect", values: days.map(() => 0), colour: "#111827", dash: true },
            ]}
            bands={[[1, 2]]}
            format={(value) => `${(value * 100).toFixed(1)}%`}
          />
        ))}
    </section>
  );
}

/** That CUPED adjusted the metric, by how much, and what it changed in the table. */
function CupedNote({ cuped }: { cuped: NonNullable<MetricReport["cuped"]> }) {
  return (
    <p class="cuped" data-testid="cuped">
      <span class="tag">CUPED</span> Adjusted for each unit's value of this metric in the {cuped.preExposureDays} days
      before its first exposure ({cuped.unitsWithHistory.toLocaleString()} units had one; θ = {number(cuped.theta)}):
      variance reduced by <strong>{percent(cuped.varianceReduction, 0)}</strong>. Means are as observed; differences,
      lifts, intervals and p-values are CUPED-adjusted.
    </p>
  );
}

/** The Bayesian readout beside the test's: how likely each treatment is better, and what choosing it risks. */
function BayesianView({ metric }: { metric: MetricReport }) {
  const rows = metric.variants.filter((v) => v.bayesian);
  if (rows.length === 0) return null;
  return (
    <table class="list numbers bayesian" data-testid={`bayesian-${metric.key}`}>
      <caption>
        Bayesian readout{metric.cuped ? " (CUPED-adjusted)" : ""}: flat prior on the relative effect (gbstats' default).
        How likely each treatment is better; the verdict above stays the test's.
      </caption>
      <thead>
        <tr>
          <th scope="col">Variant</th>
          <th scope="col">Chance to beat control</th>
          <th scope="col">Expected loss</th>
          <th scope="col">Credible interval of the lift</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(({ variant, bayesian }) => (
          <tr key={variant} data-variant={variant}>
            <td>
              <code>{variant}</code>
            </td>
            <td>{percent(bayesian!.chanceToBeatControl)}</td>
            <td>{percent(bayesian!.expectedLoss, 2)}</td>
            <td>
              {percent(bayesian!.credibleInterval[0])} to {percent(bayesian!.credibleInterval[1])}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
