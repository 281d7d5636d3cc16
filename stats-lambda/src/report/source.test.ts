import { describe, expect, it } from "vitest";
import { conversion, experimentOn, revenue, SimulatedRows } from "../../../test/support/simulated-rows.js";
import type { AggregateRow, Quality } from "../store.js";
import { buildReport, reportFrom } from "./index.js";
import { dynamoSource, ingestComputes, loadStatistics, type StatisticsSource } from "./source.js";

const QUALITY: Quality = { rejectedExposures: 3, droppedValues: {}, lastIngestedAt: 1_000 };

/** A source kept in memory: what the metric engine's adapter looks like to the report. */
function memorySource(rows: AggregateRow[]) {
  const asked: string[] = [];
  const source: StatisticsSource = {
    aggregates: async (project, key, period, flag) => {
      asked.push(`${project}/${key}/${period}${flag.key === key ? "" : " (another flag)"}`);
      return rows;
    },
    quality: async () => QUALITY,
  };
  return { source, asked };
}

describe("load stage", () => {
  it("asks the source for the latest period, or the one given, never period 0", async () => {
    const { source, asked } = memorySource([]);
    const flag = experimentOn(conversion);
    await loadStatistics(source, "p", flag);
    await loadStatistics(source, "p", {
      ...flag,
      analysisPeriods: [
        { startedAt: "x", settings: flag },
        { startedAt: "y", settings: flag },
      ],
    });
    await loadStatistics(source, "p", flag, 1);
    expect(asked).toEqual(["p/sim/1", "p/sim/2", "p/sim/1"]);
  });

  it("reads ingest's partitions from the DynamoDB store: <flag>, then <flag>@<n>", async () => {
    const keys: string[] = [];
    const store = {
      aggregates: async (_: string, key: string) => {
        keys.push(key);
        return [];
      },
      quality: async (_: string, key: string) => {
        keys.push(key);
        return QUALITY;
      },
    };
    const source = dynamoSource(store as unknown as Parameters<typeof dynamoSource>[0]);
    const flag = experimentOn(conversion);
    await source.aggregates("p", "exp", 1, flag);
    await source.quality("p", "exp", 3, flag);
    expect(keys).toEqual(["exp", "exp@3"]);
  });

  it("builds from any source the report buildReport builds from the same rows", async () => {
    const rows = new SimulatedRows()
      .expose(0, "control", 1000)
      .conversions(0, "control", conversion, 100)
      .expose(0, "treatment", 1000)
      .conversions(0, "treatment", conversion, 140)
      .list();
    const flag = experimentOn(conversion);
    const { source } = memorySource(rows);
    expect(await reportFrom(source, "p", flag, 5_000)).toEqual(buildReport(flag, rows, QUALITY, 5_000));
  });

  it("leaves out the metrics its source does not compute: ingest computes the first four types, unfiltered", async () => {
    expect(ingestComputes(conversion)).toBe(true);
    expect(ingestComputes(revenue)).toBe(true);
    expect(ingestComputes({ key: "r", type: "ratio" })).toBe(false);
    expect(ingestComputes({ key: "f", type: "funnel" })).toBe(false);
    expect(ingestComputes({ ...conversion, filters: [{ property: "plan", op: "=", value: "pro" }] })).toBe(false);
    expect(ingestComputes({ ...conversion, filters: [] })).toBe(true);
    expect(ingestComputes({ ...conversion, window: { startHours: 0, endHours: 24 } })).toBe(false);
    const { source } = memorySource([]);
    const flag = experimentOn(conversion, [50, 50], { secondaryMetrics: [revenue] });
    const keys = async (s: StatisticsSource) => (await reportFrom(s, "p", flag, 0)).metrics.map((m) => m.key);
    expect(await keys(source)).toEqual(["conversion", "revenue"]);
    expect(await keys({ ...source, computes: (m) => m.key !== "revenue" })).toEqual(["conversion"]);
  });
});
