import { describe, expect, it } from "vitest";
import { toEvaluationFlags } from "../../shared/authoring/to-evaluation-model.js";
import { makeFlag } from "../../shared/authoring/test-support.js";
import { compile, exposureOf, userToContext } from "../../shared/evaluation/index.js";
import { breakdownOf, ExposureDedup, exposureMessage } from "./exposures.js";

describe("exposures", () => {
  it("carry the user's breakdown properties, from Amplitude's user fields or its user properties", () => {
    const user = {
      user_id: "u",
      country: "DE",
      platform: "iOS",
      version: "5.2.0",
      user_properties: { os: "iOS 18", country: "FR", app_version: "ignored", plan: "pro" },
    };
    expect(breakdownOf(user)).toEqual({ country: "DE", platform: "iOS", os: "iOS 18", app_version: "5.2.0" });
    expect(breakdownOf({ user_id: "u", user_properties: { app_version: 7, platform: { nested: true } } })).toEqual({
      app_version: "7",
    });
    expect(breakdownOf({ user_id: "u", country: "" })).toBeUndefined();
    expect(breakdownOf({ user_id: "u", country: "x".repeat(500) })?.["country"]).toHaveLength(100);
    const [message] = exposureMessage(
      { deployment: "d" },
      user,
      [{ flagKey: "f", variant: "on" }],
      "remote-evaluation",
    );
    expect(message?.userProperties).toEqual({ country: "DE", platform: "iOS", os: "iOS 18", app_version: "5.2.0" });
    const [plain] = exposureMessage({ deployment: "d" }, { user_id: "u" }, [{ flagKey: "f", variant: "on" }], "cdn");
    expect(plain).not.toHaveProperty("userProperties");
  });

  it("carry the project's own breakdown properties, from the user's fields or its user properties", () => {
    const user = {
      user_id: "u",
      country: "DE",
      language: "de",
      user_properties: { plan: "pro", seats: 12, trial: false, nested: { a: 1 }, ignored: "x", long: "y".repeat(300) },
    };
    const configured = ["plan", "seats", "trial", "language", "nested", "long", "missing"];
    expect(breakdownOf(user, configured)).toEqual({
      country: "DE",
      plan: "pro",
      seats: "12",
      trial: "false",
      language: "de",
      long: "y".repeat(100),
    });
    expect(breakdownOf({ user_id: "u", user_properties: { plan: "" } }, ["plan"])).toBeUndefined();
    const [message] = exposureMessage(
      { deployment: "d", breakdownProperties: ["plan"] },
      user,
      [{ flagKey: "f", variant: "on" }],
      "remote-evaluation",
    );
    expect(message?.userProperties).toEqual({ country: "DE", plan: "pro" });
  });

  it("deduplicates per user, flag and variant, within a bounded memory", () => {
    const dedup = new ExposureDedup(4);
    const a = { user_id: "a" };
    const treatment = { flagKey: "f", variant: "treatment" };
    expect(dedup.filter("d", a, [treatment, treatment, { flagKey: "f", variant: "control" }])).toHaveLength(2);
    expect(dedup.filter("d", a, [treatment])).toHaveLength(0);
    expect(dedup.filter("other", a, [treatment])).toHaveLength(1); // per deployment
    for (const user of ["b", "c", "e", "g"]) dedup.filter("d", { user_id: user }, [treatment]); // two generations later
    expect(dedup.filter("d", a, [treatment])).toHaveLength(1); // forgotten, so sent again
    expect(dedup.filter("d", { user_id: "g" }, [treatment])).toHaveLength(0); // recent: still remembered
  });

  it("compares exposures by identity: a new flag set version's exposures are sent once more", () => {
    const dedup = new ExposureDedup();
    const user = { device_id: "device" };
    expect(dedup.filter("d", user, [{ flagKey: "f", variant: "on" }])).toHaveLength(1);
    expect(dedup.filter("d", user, [{ flagKey: "f", variant: "on" }])).toHaveLength(1);
  });

  it("bounds what it keeps per user", () => {
    const dedup = new ExposureDedup(100, 3);
    const user = { user_id: "u" };
    const first = { flagKey: "f1", variant: "on" };
    expect(dedup.filter("d", user, [first])).toHaveLength(1);
    expect(
      dedup.filter("d", user, [
        { flagKey: "f2", variant: "on" },
        { flagKey: "f3", variant: "on" },
      ]),
    ).toHaveLength(2);
    expect(dedup.filter("d", user, [first])).toHaveLength(0);
    // past the bound: the list starts over
    expect(dedup.filter("d", user, [{ flagKey: "f4", variant: "on" }])).toHaveLength(1);
    expect(dedup.filter("d", user, [first])).toHaveLength(1);
  });

  it("exposes only non-default variants of experiment flags", () => {
    expect(exposureOf("exp", { key: "treatment", metadata: { flagType: "experiment", experimentKey: "x" } })).toEqual({
      flagKey: "exp",
      variant: "treatment",
      experimentKey: "x",
    });
    expect(exposureOf("off", { key: "off", metadata: { flagType: "experiment", default: true } })).toBeUndefined();
    expect(exposureOf("release", { key: "on", metadata: { flagType: "release" } })).toBeUndefined();
  });

  it("records the allocation the serving segment assigns, for the sample-ratio check", () => {
    const experiment = makeFlag({
      key: "exp",
      type: "experiment",
      variants: [{ key: "control" }, { key: "treatment" }],
      weights: { control: 50, treatment: 50 },
      segments: [
        {
          name: "Beta",
          conditions: [{ property: "plan", op: "is", values: ["beta"] }],
          rollout: 100,
          weights: { control: 90, treatment: 10 },
        },
      ],
    });
    const compiled = compile(toEvaluationFlags("web", [experiment], new Map()));
    const allocationFor = (properties: Record<string, string>, user: string) =>
      compiled.evaluateWithReasons(userToContext({ user_id: user, user_properties: properties }), ["exp"])["exp"]
        ?.exposure?.allocation;
    expect(allocationFor({ plan: "beta" }, "u1")).toBe("control=90,treatment=10");
    expect(allocationFor({}, "u1")).toBe("control=50,treatment=50");
  });

  it("sends the user's groups with exposures, the first name of each type", () => {
    const [message] = exposureMessage(
      { deployment: "web" },
      { user_id: "u", groups: { company: ["acme", "other"], team: ["red"] } },
      [{ flagKey: "f", variant: "on" }],
      "remote-evaluation",
      1,
    );
    expect(message!.groups).toEqual({ company: "acme", team: "red" });
  });
});
