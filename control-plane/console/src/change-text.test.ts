import { describe, expect, it } from "vitest";
import { describeChange, expandChanges, fieldName, valueText } from "./change-text.js";

describe("a change in words", () => {
  const after = {
    variants: [{ key: "control" }, { key: "treatment", payload: { layout: "one-page" } }],
    segments: [{ name: "US iOS", conditions: [{ property: "country", op: "is", values: ["US"] }] }],
  };
  it.each([
    [["rollout"], "Rollout (%)"],
    [["hypothesis", "proposedChange"], "Hypothesis › Proposed change"],
    [["variants", 1, "payload"], "Variant treatment › Payload"],
    [["segments", 0, "conditions", 0, "values", 0], "Segment US iOS › Condition 1 › Values › Item 1"],
    [["weights", "treatment"], "Weights (%) › treatment"],
    [["inclusions", "control", "userIds"], "Inclusions › control › User IDs"],
    [["someNewField"], "Some new field"],
  ])("names %j as %s", (path, name) => {
    expect(fieldName(path, after)).toBe(name);
  });

  it("names a removed item by its key in the version before", () => {
    expect(fieldName(["variants", 2], after, { variants: [{}, {}, { key: "big-button" }] })).toBe("Variant big-button");
  });

  it("names a segment called like its kind once", () => {
    expect(fieldName(["segments", 0, "name"], { segments: [{ name: "Segment 1" }] })).toBe("Segment 1 › Name");
  });

  it("splits a whole object added into its fields, keeping payloads whole", () => {
    const created = expandChanges([
      { type: "CREATE", path: ["hypothesis"], value: { problem: "P", proposedChange: "C" } },
      { type: "CREATE", path: ["variants"], value: [{ key: "on", payload: { a: { b: 1 } } }] },
      { type: "CREATE", path: ["deployments"], value: ["web"] },
    ]);
    expect(created.map((c) => fieldName(c.path, { variants: [{ key: "on" }] }))).toEqual([
      "Hypothesis › Problem",
      "Hypothesis › Proposed change",
      "Variant on › Key",
      "Variant on › Payload",
      "Deployments",
    ]);
    expect(expandChanges([{ type: "REMOVE", path: ["segments", 0], oldValue: { name: "DE" } }])).toEqual([
      { type: "REMOVE", path: ["segments", 0, "name"], oldValue: "DE" },
    ]);
  });

  it("shows values in full, never cut off", () => {
    const long = "x".repeat(500);
    expect(valueText(long)).toBe(long);
    expect(valueText({ copy: long })).toContain(long);
    expect(valueText(["US", "CA"])).toBe("US, CA");
    expect(valueText(undefined)).toBe("(not set)");
    expect(valueText("")).toBe("(empty)");
    expect(valueText(0)).toBe("0");
  });

  it("says what happened, before and after", () => {
    expect(describeChange({ type: "CHANGE", path: ["rollout"], value: 50, oldValue: 25 })).toEqual({
      field: "Rollout (%)",
      kind: "changed",
      before: "25",
      after: "50",
    });
    expect(describeChange({ type: "CREATE", path: ["description"], value: "New" }).before).toBe("(not set)");
  });
});
