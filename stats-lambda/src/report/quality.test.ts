import { describe, expect, it } from "vitest";
import { SimulatedRows } from "../../../test/support/simulated-rows.js";
import { dataQualityNotes } from "../../../shared/report-warnings.js";
import { BEFORE_EXPOSURE, MULTIPLE_VARIANTS, NEVER_EXPOSED } from "../store.js";
import { Cumulative } from "./cumulative.js";
import { dataQualityOf, freshnessOf } from "./quality.js";

describe("quality and freshness stage", () => {
  it("counts units seen in a second variant and passes ingest's counters on", () => {
    const rows = new SimulatedRows().expose(0, "control", 10).list();
    rows.push({ day: rows[0]!.day, variant: "treatment", metric: MULTIPLE_VARIANTS, n: 4, sum: 0n, sumSquares: 0n });
    const quality = { rejectedExposures: 2, droppedValues: { not_a_number: 1 } };
    expect(dataQualityOf(new Cumulative(rows), ["control", "treatment"], quality)).toEqual({
      multipleVariantUnits: 4,
      multipleVariantShare: 0.4,
      rejectedExposures: 2,
      droppedValues: { not_a_number: 1 },
      eventsBeforeExposure: 0,
      eventsNeverExposed: 0,
    });
  });

  it("counts the events no metric counted, up to the last look, and says so in words", () => {
    const rows = new SimulatedRows().expose(0, "control", 10).expose(1, "treatment", 10).list();
    const day = (d: number) => rows.find((r) => r.variant === (d === 0 ? "control" : "treatment"))!.day;
    const add = (d: number, variant: string, metric: string, n: number) =>
      rows.push({ day: day(d), variant, metric, n, sum: 0n, sumSquares: 0n });
    add(0, "control", BEFORE_EXPOSURE, 3);
    add(1, "treatment", BEFORE_EXPOSURE, 2);
    add(0, "", NEVER_EXPOSED, 1_000);
    // Events of units never exposed, before anyone was: counted at the first look, no look of their own.
    rows.push({ day: "2025-12-30", variant: "", metric: NEVER_EXPOSED, n: 200, sum: 0n, sumSquares: 0n });
    const data = new Cumulative(rows);
    expect(data.days).toHaveLength(2);
    const quality = dataQualityOf(data, ["control", "treatment"], {
      rejectedExposures: 0,
      droppedValues: {},
    });
    expect(quality).toMatchObject({ eventsBeforeExposure: 5, eventsNeverExposed: 1_200 });
    expect(dataQualityNotes({ dataQuality: quality })).toEqual([
      "5 events were stamped before their unit's exposure and are not counted (metrics count from exposure on).",
      "1,200 events belong to units with no exposure 24 h later: they count for no variant (units outside the experiment, or lost exposures).",
    ]);
  });

  it("says how old the data are, or null before any ingest", () => {
    const at = Date.UTC(2026, 0, 1);
    expect(
      freshnessOf({ rejectedExposures: 0, droppedValues: {}, lastIngestedAt: at, queueLagMs: 1260 }, at + 61_400),
    ).toEqual({
      lastIngestedAt: "2026-01-01T00:00:00.000Z",
      secondsSinceIngest: 61,
      queueLagSeconds: 1.3,
    });
    expect(freshnessOf({ rejectedExposures: 0, droppedValues: {} }, at)).toEqual({
      lastIngestedAt: null,
      secondsSinceIngest: null,
      queueLagSeconds: null,
    });
  });
});
