/**
 * The engine's source gives every metric the experiment's default window (closed-window.ts): the metric
 * engine, on DuckDB, then sends the closed series of a metric defined without a window end,
 * and the report tests those units, saying nothing before the first window closes.
 */
import { describe, expect, it } from "vitest";
import type { Metric } from "../../../shared/authoring/schema.js";
import { experimentOn } from "../../../test/support/simulated-rows.js";
import type { MetricQuery } from "../metric-engine/compile.js";
import { runMetricQuery } from "../metric-engine/run.js";
import { createTable } from "../metric-engine/tables.js";
import { connect, DAY, event, exposure, HOUR, T0 } from "../metric-engine/test-kit.test-support.js";
import type { StatsStore } from "../store.js";
import { DEFAULT_WINDOW_HOURS } from "./closed-window.js";
import { engineSource } from "./engine-source.js";
import { buildReport, reportFrom } from "./index.js";

const QUALITY = { rejectedExposures: 0, droppedValues: {} };
const orders: Metric = { key: "orders", type: "event_totals", eventType: "order", capPercentile: 1 };
const noStore = {} as Pick<StatsStore, "aggregates" | "quality">; // only the engine's rows are read here

async function engineOver(units: number, horizonMs: number) {
  const connection = await connect();
  const store = (row: object) => ({ deployment: "d", source: "client", ...row });
  const exposures = [];
  const events = [];
  for (let i = 0; i < units; i++) {
    const variant = i % 2 ? "treatment" : "control";
    exposures.push(exposure(`u${i}`, variant, T0 + (i % 24) * HOUR));
    for (let k = 0; k < 1 + (i % 3); k++) events.push(event(`u${i}`, "order", T0 + (k + 1) * DAY));
  }
  events.push(event("u0", "order", horizonMs)); // the data's horizon
  await createTable(connection, "exposures", exposures.map(store));
  await createTable(connection, "events", events.map(store));
  const queries: MetricQuery[] = [];
  const engine = {
    aggregates: (q: MetricQuery) => {
      queries.push(q);
      return runMetricQuery(connection, q);
    },
  };
  return { engine, queries };
}

describe("the engine's source and the default window", () => {
  const flag = experimentOn(orders);

  it("asks the engine for the default window, and the report tests the closed units", async () => {
    const { engine, queries } = await engineOver(400, T0 + 9 * DAY);
    const source = engineSource(engine, noStore, { covariates: true, epochs: true, defaultWindows: true });
    expect(source.closesWindows).toBe(true);
    const rows = await source.aggregates("p", "exp", 1, flag);
    expect(queries[0]!.metrics[0]!.window).toEqual({ startHours: 0, endHours: DEFAULT_WINDOW_HOURS });
    expect(rows.some((r) => r.metric === `$closed:${DEFAULT_WINDOW_HOURS}`)).toBe(true);
    expect(rows.some((r) => r.metric === "orders:closed")).toBe(true);
    const report = buildReport(flag, rows, QUALITY, Date.now(), undefined, undefined, { defaultWindows: true });
    const section = report.metrics[0]!;
    expect(section.window).toEqual({ endHours: 168, closedUnits: 400 });
    expect(section.variants[0]!.mean).toBeCloseTo(2, 12); // 1, 2 or 3 orders, all within the week
    expect(section.variants[1]!.comparison!.warnings).not.toContain("window_not_closed");
  });

  it("before the first window closes: running values, no verdict, and the warning", async () => {
    const { engine } = await engineOver(400, T0 + 4 * DAY);
    const windowed = engineSource(engine, noStore, { covariates: true, epochs: true, defaultWindows: true });
    const rows = await windowed.aggregates("p", "exp", 1, flag);
    expect(rows.some((r) => r.metric.startsWith("$closed:"))).toBe(false);
    const report = buildReport(flag, rows, QUALITY, Date.now(), undefined, undefined, { defaultWindows: true });
    const comparison = report.metrics[0]!.variants[1]!.comparison!;
    expect(report.metrics[0]!.window).toEqual({ endHours: 168, closedUnits: 0 });
    expect(comparison.verdict).toBe("insufficient_data");
    expect(comparison.warnings).toEqual(["window_not_closed"]);
  });

  it('leaves windows open for an experiment without a default window, or with "none" (the sources\' parity test)', async () => {
    const { engine, queries } = await engineOver(10, T0 + 9 * DAY);
    for (const source of [engineSource(engine, noStore), engineSource(engine, noStore, {})]) {
      for (const unwindowed of [flag, { ...flag, defaultMetricWindow: "none" as const }]) {
        await source.aggregates("p", "exp", 1, unwindowed);
        expect(source.closesDefaultWindows).toBeUndefined();
        expect(queries.at(-1)!.metrics[0]!.window).toBeUndefined();
      }
    }
  });

  it("closes the experiment's own default window, and the report through reportFrom tests it", async () => {
    const { engine, queries } = await engineOver(400, T0 + 9 * DAY);
    const source = { ...engineSource(engine, noStore), quality: async () => QUALITY };
    const threeDays = { ...flag, key: "exp", defaultMetricWindow: { endHours: 72 } }; // the events' experiment
    const report = await reportFrom(source, "p", threeDays, Date.now());
    expect(queries.at(-1)!.metrics[0]!.window).toEqual({ startHours: 0, endHours: 72 });
    expect(report.metrics[0]!.window).toEqual({ endHours: 72, closedUnits: 400 });
  });
});

describe("a funnel in the closed view", () => {
  // First step within the window (48 h), the last within 24 h of it: final 72 h after exposure.
  const funnel: Metric = {
    key: "checkout",
    type: "funnel",
    steps: [{ eventType: "view" }, { eventType: "buy" }],
    conversionWindowHours: 24,
  };
  const flag = { ...experimentOn(funnel), key: "exp", defaultMetricWindow: { endHours: 48 } };

  /** 400 units exposed over the first day: each views 40 h after, a third buy 20 h later; the events read up to the horizon. */
  async function funnelSource(horizonMs: number) {
    const connection = await connect();
    const store = (row: object) => ({ deployment: "d", source: "client", ...row });
    const exposures = [];
    const events = [];
    for (let i = 0; i < 400; i++) {
      const at = T0 + (i % 24) * HOUR;
      exposures.push(exposure(`u${i}`, i % 2 ? "treatment" : "control", at));
      events.push(event(`u${i}`, "view", at + 40 * HOUR));
      if (i % 3 === 0) events.push(event(`u${i}`, "buy", at + 60 * HOUR));
    }
    events.push(event("u0", "view", horizonMs));
    await createTable(connection, "exposures", exposures.map(store));
    await createTable(connection, "events", events.filter((e) => e.time <= horizonMs).map(store));
    const engine = { aggregates: (q: MetricQuery) => runMetricQuery(connection, q) };
    return { ...engineSource(engine, noStore), quality: async () => QUALITY };
  }

  it("tests the units whose window and conversion window have both passed", async () => {
    const report = await reportFrom(await funnelSource(T0 + 4 * DAY), "p", flag, Date.now());
    const section = report.metrics[0]!;
    expect(section.window).toEqual({ endHours: 48, closedUnits: 400 });
    expect(section.variants[0]!.mean).toBeCloseTo(67 / 200, 12); // units 0, 6, 12, … of control
    expect(section.variants[1]!.comparison!.warnings).not.toContain("window_not_closed");
  });

  it("waits for the conversion window: 60 h after the exposures, no unit's funnel has closed", async () => {
    const report = await reportFrom(await funnelSource(T0 + 60 * HOUR), "p", flag, Date.now());
    const comparison = report.metrics[0]!.variants[1]!.comparison!;
    expect(report.metrics[0]!.window).toEqual({ endHours: 48, closedUnits: 0 });
    expect(comparison.verdict).toBe("insufficient_data");
    expect(comparison.warnings).toContain("window_not_closed");
  });
});
