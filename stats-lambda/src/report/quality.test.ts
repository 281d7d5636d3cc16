import { describe, expect, it } from "vitest";
import { SimulatedRows } from "../../../test/support/simulated-rows.js";
import { MULTIPLE_VARIANTS } from "../store.js";
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
    });
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
