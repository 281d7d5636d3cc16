import { describe, expect, it } from "vitest";
import type { Plan } from "./plan.js";
import { COLORS, PLAIN, renderOutcomes, renderPlan } from "./render.js";

const plan: Plan = {
  project: "shop",
  changes: [
    { kind: "group", key: "holdout", action: "create", file: "groups/holdout.yaml", fields: [], wanted: {} },
    {
      kind: "flag",
      key: "nav",
      action: "update",
      file: "flags/nav.yaml",
      fields: [
        { path: ["rollout"], before: 25, after: 50 },
        { path: ["segments", 0], after: { name: "Beta" } },
        { path: ["weights"], before: { on: 100 } },
      ],
      wanted: {},
      live: { key: "nav", version: 2 },
    },
  ],
  liveOnly: [{ kind: "flag", key: "old" }],
};
const verbs = { create: "create", update: "change" };

describe("renderPlan", () => {
  it("shows creations, field changes with before → after, and live-only resources", () => {
    expect(renderPlan(plan, PLAIN, verbs)).toEqual([
      "+ create group holdout  (groups/holdout.yaml)",
      "~ change flag nav  (flags/nav.yaml, live version 2)",
      "    ~ rollout: 25 → 50",
      '    + segments[0]: {"name":"Beta"}',
      '    - weights: {"on":100}',
      "- flag old is live but in no file  (apply leaves it)",
    ]);
  });

  it("colors only with the color palette, and prints nothing for an empty plan", () => {
    expect(renderPlan(plan, COLORS, verbs).join("\n")).toContain("\u001b[32m+ create group holdout");
    expect(renderPlan(plan, PLAIN, verbs).join("\n")).not.toContain("\u001b[");
    expect(renderPlan({ project: "shop", changes: [], liveOnly: [] }, COLORS, verbs)).toEqual([]);
  });
});

describe("renderOutcomes", () => {
  it("marks applied changes and names conflicts with their message", () => {
    expect(
      renderOutcomes(
        [
          { kind: "flag", key: "a", action: "create", result: "applied", version: 1 },
          { kind: "flag", key: "b", action: "update", result: "conflict", message: "changed since it was read" },
        ],
        PLAIN,
      ),
    ).toEqual(["✓ created flag a (version 1)", "✗ conflict: flag b: changed since it was read"]);
  });
});
