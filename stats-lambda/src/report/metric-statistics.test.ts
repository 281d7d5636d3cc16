import { describe, expect, it } from "vitest";
import { ratioStatistics } from "../../../shared/stats/index.js";
import { conversion, revenue, SimulatedRows } from "../../../test/support/simulated-rows.js";
import { Cumulative } from "./cumulative.js";
import { kindOf, metricStatistics } from "./metric-statistics.js";
import { ratioRows } from "./test-rows.test-support.js";

const VARIANTS = ["control", "treatment"];

describe("metric statistics stage", () => {
  it("sorts metric types into kinds: funnels and retention are binary", () => {
    expect(
      ["unique_conversions", "funnel", "retention", "event_totals", "property_sum", "property_average", "ratio"].map(
        (type) => kindOf({ type }),
      ),
    ).toEqual(["binary", "binary", "binary", "count", "distribution", "distribution", "ratio"]);
  });

  it("analyses a funnel or retention metric as a share of exposed units, with the conversion count", () => {
    const funnel = { ...conversion, key: "signup-funnel", type: "funnel" };
    const rows = new SimulatedRows().expose(0, "control", 200).conversions(0, "control", funnel as never, 30);
    const s = metricStatistics(funnel, new Cumulative(rows.list()), VARIANTS);
    expect(s.stats("control", 0)).toMatchObject({ n: 200, mean: 0.15 });
    expect(s.stats("control", 0).m2).toBeCloseTo(200 * 0.15 * 0.85, 9);
    expect(s.nonZero!("control", 0)).toBe(30);
    expect(s.capped).toBe(false);
  });

  it("caps sums at a quantile, and counts units with a value for the gate", () => {
    const rows = new SimulatedRows().expose(0, "control", 1000);
    for (let i = 0; i < 100; i++) rows.event(0, "control", revenue, 10 + i);
    rows.event(0, "control", revenue, 1_000_000);
    const s = metricStatistics(revenue, new Cumulative(rows.list()), VARIANTS);
    expect(s.capped).toBe(true);
    expect(s.caps[0]!.upper).toBeDefined();
    expect(s.stats("control", 0).mean).toBeLessThan(s.raw("control", 0).mean / 10);
    expect(s.nonZero!("control", 0)).toBe(101);
  });

  it("turns a ratio's K, K:den and K:cross into the delta method's statistics, cumulated over days", () => {
    const day0: Array<[number, number]> = [
      [1, 2],
      [0, 1],
      [3, 4],
    ];
    const day1: Array<[number, number]> = [
      [2, 2],
      [0, 0],
    ];
    const rows = [...ratioRows("ctr", 0, "control", day0), ...ratioRows("ctr", 1, "control", day1)];
    const s = metricStatistics({ key: "ctr", type: "ratio" }, new Cumulative(rows), VARIANTS);
    expect(s.nonZero).toBeUndefined();
    expect(s.stats("control", 0).mean).toBeCloseTo(4 / 7, 12);
    const all = [...day0, ...day1];
    const scaled = (f: (u: [number, number]) => number) => all.reduce((t, u) => t + BigInt(f(u) * 10_000 ** 2), 0n);
    expect(s.stats("control", 1)).toEqual(
      ratioStatistics({
        n: 5,
        sumX: 60_000n,
        sumY: 90_000n,
        sumXSquares: scaled(([x]) => x * x),
        sumYSquares: scaled(([, y]) => y * y),
        sumXY: scaled(([x, y]) => x * y),
      }),
    );
    expect(s.stats("treatment", 1)).toMatchObject({ n: 0 });
  });

  it("caps event totals only when the source sends their histogram, and never gates them on conversions", () => {
    const totals = { key: "views", type: "event_totals", eventType: "view" };
    const rows = new SimulatedRows().expose(0, "control", 1000).event(0, "control", totals as never, 1);
    for (let i = 0; i < 30; i++) rows.event(0, "control", totals as never, 1);
    // DynamoDB rows ingested before totals kept a histogram: not capped.
    const old = rows.list().filter((row) => !row.metric.includes("~"));
    expect(metricStatistics(totals, new Cumulative(old), VARIANTS)).toMatchObject({
      kind: "count",
      capped: false,
      nonZero: undefined,
    });
    // Ingest keeps one now, as the metric engine does.
    expect(rows.list().some((row) => row.metric.startsWith("views~"))).toBe(true);
    expect(metricStatistics(totals, new Cumulative(rows.list()), VARIANTS)).toMatchObject({
      kind: "count",
      capped: true,
    });
    // The metric engine's rows: sums and a histogram, 150 units with 2 views and one with 5,000
    // (the cap is the 99th percentile of the units with a value: of 151, the 150th).
    const engine = new SimulatedRows().expose(0, "control", 1000).event(0, "control", revenue, 5000);
    for (let i = 0; i < 150; i++) engine.event(0, "control", revenue, 2);
    const engineRows = engine.list().map((row) => ({ ...row, metric: row.metric.replace(revenue.key, totals.key) }));
    const capped = metricStatistics(totals, new Cumulative(engineRows), VARIANTS);
    expect(capped).toMatchObject({ kind: "count", capped: true, nonZero: undefined });
    expect(capped.stats("control", 0).mean).toBeLessThan(capped.raw("control", 0).mean / 10);
  });
});
