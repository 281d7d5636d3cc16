import { describe, expect, it } from "vitest";
import { metricWindowDays } from "./metric-window.js";

describe("the editor's metric window", () => {
  it("shows a new experiment's week, a stored one's days, and none for one stored before the setting", () => {
    expect(metricWindowDays(undefined, true)).toBe(7);
    expect(metricWindowDays({ endHours: 72 }, false)).toBe(3);
    expect(metricWindowDays("none", true)).toBe("");
    // Stored without the field: its reports use the running values, not a week.
    expect(metricWindowDays(undefined, false)).toBe("");
  });
});
