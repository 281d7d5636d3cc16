import { describe, expect, it } from "vitest";
import { flagSchema } from "../../../shared/authoring/schema.js";
import { conditionInWords, consequence, dependentsOf, targetingInWords } from "./describe-flag.js";
import type { Flag } from "./types.js";

const flag = (fields: Partial<Flag>): Flag =>
  flagSchema.parse({
    key: "checkout",
    name: "Checkout",
    type: "experiment",
    variants: [{ key: "control" }, { key: "treatment" }],
    deployments: ["web"],
    status: "running",
    version: 3,
    createdAt: "2026-12-01T00:00:00Z",
    updatedAt: "2026-12-01T00:00:00Z",
    lastChange: { actor: "a", at: "2026-12-01T00:00:00Z", action: "start" },
    analysisPeriods: [{ startedAt: "2026-12-01T00:00:00Z", settings: {} }],
    ...fields,
  });

describe("a flag in words", () => {
  it.each([
    [{ property: "country", op: "is", values: ["US"] }, "in US"],
    [{ property: "country", op: "is", values: ["US", "CA", "MX"] }, "in US, CA or MX"],
    [{ property: "platform", op: "is", values: ["iOS"] }, "on iOS"],
    [{ property: "version", op: "version greater or equal", values: ["2.1.0"] }, "version at least 2.1.0"],
    [{ property: "plan", op: "is not", values: ["free"] }, "plan is not free"],
    [{ property: "name", groupType: "company", op: "is", values: ["Acme"] }, "company.name is Acme"],
  ])("condition %o reads %s", (condition, words) => {
    expect(conditionInWords(condition)).toBe(words);
  });

  it("reads targeting segment by segment, then everyone else", () => {
    const segments = [
      {
        name: "US iOS",
        rollout: 50,
        conditions: [
          { property: "country", op: "is", values: ["US"] },
          { property: "platform", op: "is", values: ["iOS"] },
        ],
      },
    ];
    expect(targetingInWords(flag({ segments, rollout: 10 }))).toEqual([
      "US iOS: users in US on iOS: 50% rollout",
      "Everyone else: 10% rollout",
    ]);
    expect(targetingInWords(flag({ bucketing: { unit: "device_id" } }))).toEqual(["All devices: 100% rollout"]);
  });

  it("finds the flags that depend on one", () => {
    const flags = [
      { key: "a", prerequisites: [{ flagKey: "checkout", variants: ["on"] }] },
      { key: "b", prerequisites: [] },
      { key: "checkout", prerequisites: [{ flagKey: "checkout", variants: ["on"] }] },
    ];
    expect(dependentsOf("checkout", flags)).toEqual(["a"]);
  });
});

describe("what a confirmation says", () => {
  it("stop: the exposed users per variant go back to the fallback, and the period ends", () => {
    const exposures = [
      { key: "control", exposures: 6215 },
      { key: "treatment", exposures: 6215 },
    ];
    expect(consequence(flag({}), "stop", { exposures })).toBe(
      "Stop: 12,430 exposed users (6,215 in control, 6,215 in treatment) go back to the SDK's fallback; " +
        "this ends analysis period 1.",
    );
  });

  it("start: who is split how, into which period", () => {
    expect(consequence(flag({ status: "stopped", weights: { control: 20, treatment: 80 } }), "start")).toBe(
      "Start: 100% of targeted users on web are split control 20% / treatment 80% and their exposures count in " +
        "analysis period 2 (fresh data; period 1's results stay readable).",
    );
  });

  it("decide: who gets the winner, who stops being served", () => {
    expect(consequence(flag({}), "decide", { winner: "control" })).toBe(
      "Ship control: every targeted user gets control from now on (treatment stops being served); " +
        "the experiment ends with analysis period 1.",
    );
  });

  it("deactivate and archive warn about the flags that depend on this one", () => {
    const release = flag({ type: "release", status: "active", variants: [{ key: "on" }], rollout: 25 });
    expect(consequence(release, "deactivate", { dependents: ["banner", "promo"] })).toBe(
      "Deactivate: the 25% of users who get it now get the SDK's default instead. " +
        "Warning: 2 flags depend on this one (banner and promo) and will treat it as off.",
    );
    expect(consequence(release, "archive", { dependents: [] })).toBe(
      "Archive: stops serving it to anyone and makes it read-only; Unarchive puts it back as active.",
    );
  });
});
