import { describe, expect, it } from "vitest";
import { conversion, experimentOn, SimulatedRows } from "../../../test/support/simulated-rows.js";
import type { AggregateRow, Quality } from "../store.js";
import { buildReport, reportFrom } from "./index.js";
import { dynamoSource, loadStatistics, type StatisticsSource } from "./source.js";

const QUALITY: Quality = { rejectedExposures: 3, droppedValues: {}, lastIngestedAt: 1_000 };

/** A source kept in memory: what the metric engine's adapter looks like to the report. */
function memorySource(rows: AggregateRow[]) {
  const asked: string[] = [];
  const source: StatisticsSource = {
    aggregates: async (project, key, period) => {
      asked.push(`${project}/${key}/${period}`);
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
    await source.aggregates("p", "exp", 1);
    await source.quality("p", "exp", 3);
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
});
