/**
 * The results page's breakdown: every metric per value of a user property (the report API's
 * `?breakdown=`, stats-lambda/src/report/breakdowns.ts), asked for on demand (it is one more
 * pass over the event store), labelled exploratory, with its CSV.
 */
import { useState } from "preact/hooks";
import { BREAKDOWN_PROPERTIES } from "../../../../shared/breakdown-properties.js";
import type { Breakdown } from "../../../../shared/breakdown-schema.js";
import { api, describeError, statsApi } from "../api.js";
import { Banner, Loading, Select, useLoad } from "../components.js";
import type { Project, Report } from "../types.js";

const LABELS: Record<string, string> = {
  country: "Country",
  platform: "Platform",
  os: "OS",
  app_version: "App version",
};
const fixed = (value: number | null | undefined) =>
  value === null || value === undefined || !Number.isFinite(value) ? "—" : value.toPrecision(3);
const percent = (value: number | null | undefined) =>
  value === null || value === undefined || !Number.isFinite(value) ? "—" : `${(value * 100).toFixed(1)}%`;

/**
 * `path` is the report's (with its `?period=` if any). The properties offered are the
 * built-in ones and the project's own (its settings), which the edge keeps with exposures.
 */
export function BreakdownPanel({ path, flagKey, project }: { path: string; flagKey: string; project: string }) {
  const [property, setProperty] = useState<string>("");
  const settings = useLoad(() => api.get<Project>(`/projects/${project}`), [project]);
  const configured = settings.data?.breakdownProperties ?? [];
  const [csvError, setCsvError] = useState<string | undefined>();
  const withBreakdown = `${path}${path.includes("?") ? "&" : "?"}breakdown=${encodeURIComponent(property)}`;
  const downloadCsv = async () => {
    setCsvError(undefined);
    try {
      const csv = await statsApi.text(withBreakdown, "text/csv");
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
      link.download = `${flagKey}-breakdown-${property}.csv`;
      link.click();
      URL.revokeObjectURL(link.href);
    } catch (error) {
      setCsvError(describeError(error));
    }
  };
  return (
    <section class="breakdown" aria-labelledby="breakdown-title">
      <h2 id="breakdown-title">Breakdown by segment</h2>
      <div class="toolbar">
        <Select
          label="Break down by"
          value={property}
          options={[
            ["", "Choose a property"] as const,
            ...BREAKDOWN_PROPERTIES.map((p) => [p, LABELS[p] ?? p] as const),
            ...configured.map((p) => [p, p] as const),
          ]}
          onChange={setProperty}
        />
        {property !== "" && (
          <button type="button" onClick={downloadCsv}>
            Download breakdown CSV
          </button>
        )}
      </div>
      {csvError && <Banner kind="error">{csvError}</Banner>}
      {property !== "" && <BreakdownLoad path={withBreakdown} />}
    </section>
  );
}

function BreakdownLoad({ path }: { path: string }) {
  const state = useLoad(() => statsApi.get<Report & { breakdown: Breakdown }>(path), [path]);
  return <Loading state={state}>{(r) => <BreakdownView breakdown={r.breakdown} />}</Loading>;
}

export function BreakdownView({ breakdown }: { breakdown: Breakdown }) {
  return (
    <div data-testid="breakdown">
      <Banner kind="info" title="Exploratory">
        Segments are looked at after the fact: read a difference here as a lead to test, not as a result. p-values are
        corrected for the number of segments and treatments (Bonferroni); the {breakdown.top} largest values are shown,
        the rest as one segment.
      </Banner>
      {breakdown.metrics.map((metric) => (
        <section class="metric" key={metric.key} data-breakdown-metric={metric.key}>
          <h3>
            <code>{metric.key}</code> by {LABELS[breakdown.property] ?? breakdown.property}
          </h3>
          {metric.heterogeneity.map((h) =>
            h.flagged ? (
              <Banner kind="warning" key={h.treatment}>
                The effect of <code>{h.treatment}</code> differs across segments (Cochran's Q = {fixed(h.q)},{" "}
                {h.degreesOfFreedom} df, p = {fixed(h.pValue)}, I² = {percent(h.iSquared)}).
              </Banner>
            ) : (
              <p class="muted" key={h.treatment}>
                No sign that the effect of <code>{h.treatment}</code> differs across segments (p = {fixed(h.pValue)}).
              </p>
            ),
          )}
          <table class="list numbers">
            <thead>
              <tr>
                <th scope="col">Segment</th>
                <th scope="col">Exposed units</th>
                <th scope="col">Treatment</th>
                <th scope="col">Difference</th>
                <th scope="col">Lift</th>
                <th scope="col">Corrected interval</th>
                <th scope="col">Corrected p</th>
              </tr>
            </thead>
            <tbody>
              {metric.segments.flatMap((segment) =>
                (segment.comparisons.length > 0 ? segment.comparisons : [undefined]).map((c) => (
                  <tr key={`${segment.value}|${c?.treatment ?? ""}`} data-segment={segment.value}>
                    <td>{segment.label}</td>
                    <td>{segment.units.toLocaleString()}</td>
                    <td>{c ? <code>{c.treatment}</code> : "too few units to test"}</td>
                    <td>{fixed(c?.difference)}</td>
                    <td>{percent(c?.lift)}</td>
                    <td>{c ? `${fixed(c.ci[0])} to ${fixed(c.ci[1])}` : "—"}</td>
                    <td>
                      {c ? fixed(c.adjustedPValue) : "—"}
                      {c?.significant && <span class="tag warn"> exploratory: significant</span>}
                    </td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
        </section>
      ))}
    </div>
  );
}
