import { describe, expect, it } from "vitest";
import { newFlag } from "./pages/editor/draft.js";
import type { FlagInput } from "./types.js";
import { conditionValuesProblem, draftProblems, keyProblem, problemLabel, weightsProblem } from "./validate-draft.js";

const draft = (extra: Partial<FlagInput> = {}): FlagInput => ({
  ...newFlag([]),
  key: "checkout",
  name: "Checkout",
  ...extra,
});

describe("inline validation of a draft flag", () => {
  it.each([
    ["checkout-v2.1_b", undefined],
    ["", "Required"],
    ["bad key!", "Only letters, digits, “.”, “_” and “-”: remove space, “!”"],
    ["-dash", "Must start with a letter or digit"],
    ["k".repeat(101), "At most 100 characters (this is 101)"],
  ])("key %j: %s", (key, problem) => {
    expect(keyProblem(key)).toBe(problem);
  });

  it("accepts a good draft, and names each problem once, by field", () => {
    expect(draftProblems(draft())).toEqual({});
    expect(
      draftProblems(
        draft({
          key: "taken",
          name: " ",
          variants: [{ key: "a" }, { key: "a" }],
          weights: { a: 70 },
          segments: [
            { name: "", rollout: 100, conditions: [{ property: "app_version", op: "version less", values: ["two"] }] },
          ],
        }),
        new Set(["taken"]),
      ),
    ).toEqual({
      key: "The project has a flag taken already",
      name: "Required",
      "variants.1.key": "Another variant is called a",
      weights: "Weights add up to 140%, not 100%",
      "segments.0.name": "Required",
      "segments.0.conditions.0.values": "“two” is not a version like 2.1.0",
    });
  });

  it("asks an experiment for two variants and a primary metric", () => {
    expect(draftProblems(draft({ type: "experiment" }))).toEqual({
      variants: "An experiment compares at least two variants (a control and a treatment)",
      primaryMetric: "Choose the metric that decides the experiment",
    });
  });

  it.each([
    [{ property: "age", op: "greater", values: ["18"] }, undefined],
    [
      { property: "age", op: "greater", values: ["eighteen"] },
      "“eighteen” is not a number; “greater” compares numbers",
    ],
    [{ property: "email", op: "regex match", values: ["(unclosed"] }, /not a valid regex/],
    [{ property: "country", op: "is", values: [] }, "Add at least one value (one per line)"],
    [{ property: "country", op: "is", values: ["(none)"] }, undefined],
  ])("condition %j", (condition, problem) => {
    const found = conditionValuesProblem(condition);
    if (problem instanceof RegExp) expect(found).toMatch(problem);
    else expect(found).toBe(problem);
  });

  it("checks weights against the variants", () => {
    expect(weightsProblem({ a: 50, b: 50 }, ["a", "b"])).toBeUndefined();
    expect(weightsProblem({ a: 50, gone: 50 }, ["a", "b"])).toBe("No variant gone: set the weights again");
  });

  it("labels fields for the summary", () => {
    expect(problemLabel("variants.1.key")).toBe("Variant 2 key");
    expect(problemLabel("segments.0.conditions.2.values")).toBe("Segment 1 condition 3 values");
  });
});
