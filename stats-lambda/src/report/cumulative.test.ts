import { describe, expect, it } from "vitest";
import { conversion, revenue, SimulatedRows } from "../../../test/support/simulated-rows.js";
import { epochSeries } from "../store.js";
import { Cumulative } from "./cumulative.js";

describe("cumulate stage", () => {
  it("turns daily deltas into sums up to each look, with allocations and histograms", () => {
    const rows = new SimulatedRows()
      .expose(0, "control", 10, "control=50,treatment=50")
      .conversions(0, "control", conversion, 2)
      .expose(2, "control", 5)
      .conversions(2, "control", conversion, 1)
      .event(2, "control", revenue, 40)
      .event(2, "control", revenue, 3);
    const data = new Cumulative(rows.list());
    expect(data.days).toEqual(["2026-01-01", "2026-01-03"]);
    expect(data.last).toBe(1);
    expect([data.exposures("control", 0), data.exposures("control", 1)]).toEqual([10, 15]);
    expect(data.at("control", conversion.key, 1).sum).toBe(30_000n);
    expect(data.latestExposures("treatment")).toBe(0);
    expect([...data.allocations]).toEqual(["control=50,treatment=50"]);
    const histogram = data.histogram("control", revenue.key, 1);
    expect([...histogram.values()].reduce((n, s) => n + s.n, 0)).toBe(2);
    expect(data.histogram("control", revenue.key, 0).size).toBe(0);
  });

  it("reads each allocation epoch as its own data, at the experiment's looks", () => {
    const early = "control=90,treatment=10";
    const rows = new SimulatedRows()
      .expose(0, "control", 9, early)
      .conversions(0, "control", { ...conversion, key: epochSeries(conversion.key, early) }, 3)
      .expose(1, "control", 5, "control=50,treatment=50")
      .event(1, "control", { ...revenue, key: epochSeries(revenue.key, early) }, 40);
    const data = new Cumulative(rows.list());
    expect(epochSeries("revenue~7", early)).toBe(`revenue@${early}~7`);
    expect(data.hasEpochs(conversion.key)).toBe(true);
    const epoch = data.epoch(early);
    expect(epoch.days).toEqual(data.days);
    expect([epoch.exposures("control", 0), epoch.exposures("control", 1)]).toEqual([9, 9]);
    expect(epoch.at("control", conversion.key, 1).sum).toBe(30_000n);
    expect(epoch.histogram("control", revenue.key, 1).size).toBe(1);
    expect(data.epoch("control=50,treatment=50").exposures("control", 1)).toBe(5);
  });

  it("has no looks without rows", () => {
    const data = new Cumulative([]);
    expect(data.last).toBe(-1);
    expect(data.latestExposures("control")).toBe(0);
  });
});
