import { describe, expect, it } from "vitest";
import { GUIDES, guidedDraft, guidedProblems, keyFromName, stepProblems } from "./guided-steps.js";
import { newFlag } from "./pages/editor/draft.js";
import type { FlagInput } from "./types.js";

// The draft a new flag starts from in the console (editor/draft.ts).
const base: FlagInput = newFlag([]);

describe("the guided creation", () => {
  it("follows the workflow's order, one step per choice, each with its advice", () => {
    expect(GUIDES.experiment.map((s) => s.id)).toEqual([
      "hypothesis",
      "deployment",
      "variants",
      "bucketing",
      "allocation",
      "targeting",
      "metrics",
      "review",
    ]);
    expect(GUIDES.release.map((s) => s.id)).toEqual(["name", "deployment", "variants", "allocation", "review"]);
    for (const step of [...GUIDES.experiment, ...GUIDES.release]) expect(step.advice).toMatch(/^[A-Z].{30,}[.]$/);
  });

  it("checks on each step only the fields it owns", () => {
    const draft = guidedDraft("experiment", base);
    const problems = guidedProblems(draft, new Set());
    const [hypothesis, deployment, variants, , , , metrics] = GUIDES.experiment;
    expect(Object.keys(stepProblems(hypothesis!, problems))).toEqual(["key", "name"]);
    expect(Object.keys(stepProblems(deployment!, problems))).toEqual(["deployments"]);
    expect(stepProblems(variants!, problems)).toEqual({});
    expect(Object.keys(stepProblems(metrics!, problems))).toEqual(["primaryMetric"]);
    expect(stepProblems(GUIDES.experiment.at(-1)!, problems)).toEqual({});
  });

  it("starts an experiment with a control and a treatment", () => {
    expect(guidedDraft("experiment", base).variants.map((v) => v.key)).toEqual(["control", "treatment"]);
    expect(guidedDraft("release", base).variants).toEqual([{ key: "on" }]);
  });

  it.each([
    ["Checkout redesign", "checkout-redesign"],
    ["  New: one-page checkout! ", "new-one-page-checkout"],
    ["Café crème v2.1", "cafe-creme-v2.1"],
    ["!!!", ""],
  ])("makes a key of %j", (name, key) => {
    expect(keyFromName(name)).toBe(key);
  });
});
