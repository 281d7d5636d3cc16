import { describe, expect, it } from "vitest";
import type { AnalysisPeriod, Flag, Metric } from "../../../shared/authoring/schema.js";
import { reportSchema } from "../../../shared/report-schema.js";
import { conversion, experimentOn, revenue, SimulatedRows } from "../../../test/support/simulated-rows.js";
import { buildReport, reportCsv } from "./index.js";

const QUALITY = { rejectedExposures: 0, droppedValues: {} };
const others: Metric[] = ["a", "b", "c"].map((key) => ({ key, type: "unique_conversions", eventType: key }));

function flagWith(metricChanges: unknown[]): Flag {
  const flag = experimentOn(conversion, [50, 50], { secondaryMetrics: [revenue, ...others] });
  const period = { startedAt: "2026-01-01T00:00:00.000Z", settings: flag, metricChanges } as AnalysisPeriod;
  return { ...flag, analysisPeriods: [period] };
}

describe("the pipeline, end to end", () => {
  const rows = new SimulatedRows();
  for (const variant of ["control", "treatment"]) {
    rows.expose(0, variant, 2000).conversions(0, variant, conversion, 200);
    for (const metric of others) rows.conversions(0, variant, metric, variant === "control" ? 200 : 260);
  }

  it("marks metrics added while running, leaves removed ones out of the report and of their family", () => {
    const added = "2026-01-03T12:00:00.000Z";
    const flag = flagWith([
      { at: added, action: "added", role: "secondary", metric: "b" },
      { at: "2026-01-04T00:00:00.000Z", action: "removed", role: "secondary", metric: "c" },
    ]);
    const report = buildReport(flag, rows.list(), QUALITY, Date.now());
    const json = JSON.parse(JSON.stringify(report)); // NaN (no estimate yet) is null in the JSON
    expect(reportSchema.parse(json)).toEqual(json);
    expect(report.metrics.map((m) => [m.key, m.registeredAt, m.comparisons])).toEqual([
      ["conversion", "start", 1],
      ["revenue", "start", 3],
      ["a", "start", 3],
      ["b", added, 3],
    ]);
    const all = buildReport(flagWith([]), rows.list(), QUALITY, Date.now());
    const pOf = (r: typeof report) => r.metrics.find((m) => m.key === "a")!.variants[1]!.comparison!.pValue;
    expect(pOf(report)).toBeLessThan(pOf(all)); // a family of 3 secondaries, not 4
    const csv = reportCsv(report).split("\n");
    expect(csv[0]!.endsWith(",registered_at")).toBe(true);
    expect(csv.filter((line) => line.startsWith("b,"))[0]!.endsWith(`,${added}`)).toBe(true);
  });
});
