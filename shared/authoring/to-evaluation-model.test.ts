import { EvaluationEngine, topologicalSort } from "@amplitude/experiment-core";
import { describe, expect, it } from "vitest";
import { compile, evaluationFlagsSchema, userToContext } from "../evaluation/index.js";
import { toEvaluationFlags } from "./to-evaluation-model.js";
import type { Flag, Group } from "./schema.js";
import { makeFlag } from "./test-support.js";

const USERS = Array.from({ length: 10_000 }, (_, i) => ({ user_id: `user-${i}`, device_id: `device-${i}` }));
const noGroups = new Map<string, Group>();

function assign(flags: Flag[], groups = noGroups, users: Array<Record<string, unknown>> = USERS) {
  const compiled = compile(toEvaluationFlags("web", flags, groups));
  return users.map((user) => compiled.evaluate(userToContext(user)));
}
const share = (results: Array<Record<string, { key?: string }>>, flag: string, variant: string) =>
  results.filter((r) => r[flag]?.key === variant).length / results.length;

describe("toEvaluationFlags", () => {
  it("rolls a release out to its percentage", () => {
    const results = assign([
      makeFlag({ key: "new-onboarding", type: "release", variants: [{ key: "on" }], rollout: 25 }),
    ]);
    expect(share(results, "new-onboarding", "on")).toBeCloseTo(0.25, 1);
  });

  it("splits an experiment by its weights and marks it as one", () => {
    const flag = makeFlag({
      key: "checkout",
      type: "experiment",
      variants: [{ key: "control" }, { key: "treatment" }],
      weights: { control: 90, treatment: 10 },
    });
    const results = assign([flag]);
    expect(share(results, "checkout", "control")).toBeCloseTo(0.9, 1);
    expect(share(results, "checkout", "treatment")).toBeCloseTo(0.1, 1);
    expect(results[0]!["checkout"]!).toMatchObject({ metadata: { flagType: "experiment", experimentKey: "checkout" } });
  });

  it("applies exclusions, then inclusions, then targeting segments", () => {
    const flag = makeFlag({
      key: "f",
      type: "experiment",
      variants: [{ key: "a" }, { key: "b" }],
      rollout: 0,
      exclusions: { userIds: ["banned"], deviceIds: [] },
      inclusions: { b: { userIds: ["pinned", "banned"], deviceIds: ["dev-pinned"] } },
      segments: [
        {
          name: "Germans on pro",
          conditions: [
            { property: "country", op: "is", values: ["DE"] },
            { property: "plan", op: "is", values: ["pro"] },
          ],
          rollout: 100,
          weights: { a: 100, b: 0 },
        },
      ],
    });
    const [banned, pinned, byDevice, german, other] = assign([flag], noGroups, [
      { user_id: "banned" },
      { user_id: "pinned" },
      { user_id: "x", device_id: "dev-pinned" },
      { user_id: "y", country: "DE", user_properties: { plan: "pro" } },
      { user_id: "z", country: "DE" },
    ]);
    expect([banned, pinned, byDevice, german, other].map((r) => r!["f"]?.key)).toEqual(["off", "b", "b", "a", "off"]);
  });

  it("serves a child only when its prerequisite resolves to an allowed variant", () => {
    const parent = makeFlag({ key: "parent", type: "release", variants: [{ key: "on" }], rollout: 50 });
    const child = makeFlag({
      key: "child",
      type: "release",
      variants: [{ key: "on" }],
      prerequisites: [{ flagKey: "parent", variants: ["on"] }],
    });
    const results = assign([child, parent]);
    expect(results.every((r) => (r["child"]?.key === "on") === (r["parent"]?.key === "on"))).toBe(true);
    expect(share(results, "child", "on")).toBeCloseTo(0.5, 1);
  });

  it("keeps experiments of a mutual-exclusion group disjoint", () => {
    const groups = new Map<string, Group>([
      ["checkout-tests", { key: "checkout-tests", kind: "mutex", percentage: 0, description: "" }],
    ]);
    const variants = [{ key: "control" }, { key: "treatment" }];
    const results = assign(
      [
        makeFlag({ key: "e1", type: "experiment", variants, groups: ["checkout-tests"] }),
        makeFlag({ key: "e2", type: "experiment", variants, groups: ["checkout-tests"] }),
      ],
      groups,
    );
    expect(results.some((r) => r["e1"]?.key !== "off" && r["e2"]?.key !== "off")).toBe(false);
    expect(share(results, "e1", "off")).toBeCloseTo(0.5, 1);
  });

  it("holds a holdout's percentage out of its members", () => {
    const groups = new Map<string, Group>([["q3", { key: "q3", kind: "holdout", percentage: 10, description: "" }]]);
    const results = assign(
      [
        makeFlag({
          key: "e",
          type: "experiment",
          variants: [{ key: "control" }, { key: "treatment" }],
          groups: ["q3"],
        }),
      ],
      groups,
    );
    expect(share(results, "e", "off")).toBeCloseTo(0.1, 1);
  });

  it("ships a decided variant to everyone as a release", () => {
    const flag = makeFlag(
      { key: "e", type: "experiment", variants: [{ key: "control" }, { key: "treatment" }], rollout: 10 },
      { status: "decided", decidedVariant: "treatment" },
    );
    const results = assign([flag]);
    expect(share(results, "e", "treatment")).toBe(1);
    expect(results[0]!["e"]!.metadata).toMatchObject({ flagType: "release" });
  });

  it("buckets by a group type", () => {
    const flag = makeFlag({
      key: "g",
      type: "release",
      variants: [{ key: "on" }],
      rollout: 50,
      bucketing: { unit: "group", groupType: "company_id" },
    });
    const [a, b] = assign([flag], noGroups, [
      { user_id: "1", groups: { company_id: ["acme"] } },
      { user_id: "2", groups: { company_id: ["acme"] } },
    ]);
    expect(a!["g"]!.key).toBe(b!["g"]!.key); // same company, same variant
  });

  it("serves only flags that are on this deployment and live", () => {
    const flags = [
      makeFlag({ key: "inactive", type: "release", variants: [{ key: "on" }] }, { status: "inactive" }),
      makeFlag({ key: "draft", type: "experiment", variants: [{ key: "a" }, { key: "b" }] }, { status: "draft" }),
      makeFlag({ key: "elsewhere", type: "release", variants: [{ key: "on" }], deployments: ["ios"] }),
      makeFlag({ key: "live", type: "release", variants: [{ key: "on" }] }),
    ];
    expect(toEvaluationFlags("web", flags, noGroups).map((f) => f.key)).toEqual(["live"]);
  });

  it("buckets a mutual-exclusion group on its members' unit: anonymous visitors are served, never twice", () => {
    const groups = new Map<string, Group>([["m", { key: "m", kind: "mutex", percentage: 0, description: "" }]]);
    const member = (key: string) =>
      makeFlag({ key, type: "experiment", variants: [{ key: "a" }], groups: ["m"], bucketing: { unit: "device_id" } });
    const visitors = USERS.map(({ device_id }) => ({ device_id }));
    const results = assign([member("e1"), member("e2")], groups, visitors);
    expect(share(results, "e1", "a")).toBeCloseTo(0.5, 1);
    expect(share(results, "e2", "a")).toBeCloseTo(0.5, 1);
    expect(results.filter((r) => r["e1"]?.key === "a" && r["e2"]?.key === "a")).toEqual([]);
  });

  it("holds a holdout's percentage out of device-bucketed members by device", () => {
    const groups = new Map<string, Group>([["h", { key: "h", kind: "holdout", percentage: 50, description: "" }]]);
    const flag = makeFlag({
      key: "e",
      type: "experiment",
      variants: [{ key: "a" }],
      groups: ["h"],
      bucketing: { unit: "device_id" },
    });
    const results = assign(
      [flag],
      groups,
      USERS.map(({ device_id }) => ({ device_id })),
    );
    expect(share(results, "e", "a")).toBeCloseTo(0.5, 1);
  });

  it("keeps a user-bucketed group's flag and assignments as they were", () => {
    const groups = new Map<string, Group>([["h", { key: "h", kind: "holdout", percentage: 20, description: "" }]]);
    const flag = makeFlag({ key: "e", type: "experiment", variants: [{ key: "a" }], groups: ["h"] });
    const [holdout] = toEvaluationFlags("web", [flag], groups);
    expect(holdout).toMatchObject({ key: "$holdout-h" });
    expect(holdout!.segments[0]!.bucket).toMatchObject({
      selector: ["context", "user", "user_id"],
      salt: "$holdout-h",
    });
  });

  it("evaluates groups whose members bucket on different units as Amplitude's engine does", () => {
    const groups = new Map<string, Group>([
      ["m", { key: "m", kind: "mutex", percentage: 0, description: "" }],
      ["h", { key: "h", kind: "holdout", percentage: 30, description: "" }],
    ]);
    const variants = [{ key: "a" }, { key: "b" }];
    const flags = [
      makeFlag({ key: "by-user", type: "experiment", variants, groups: ["m", "h"] }),
      makeFlag({
        key: "by-device",
        type: "experiment",
        variants,
        groups: ["m", "h"],
        bucketing: { unit: "device_id" },
      }),
      makeFlag({
        key: "by-company",
        type: "experiment",
        variants,
        groups: ["m", "h"],
        bucketing: { unit: "group", groupType: "company_id" },
      }),
    ];
    const compiled = toEvaluationFlags("web", flags, groups);
    expect(
      compiled
        .map((f) => f.key)
        .filter((key) => key.startsWith("$"))
        .sort(),
    ).toEqual([
      "$holdout-h",
      "$holdout-h@device_id",
      "$holdout-h@group:company_id",
      "$mutex-m",
      "$mutex-m@device_id",
      "$mutex-m@group:company_id",
    ]);
    expect(evaluationFlagsSchema.safeParse(compiled).success).toBe(true);
    const ours = compile(compiled);
    const sorted = topologicalSort(Object.fromEntries(compiled.map((f) => [f.key, f])) as never);
    const users = USERS.slice(0, 2000).map((u, i) =>
      i % 3 === 0 ? { device_id: u.device_id } : { ...u, groups: { company_id: [`co-${i % 40}`] } },
    );
    for (const user of users) {
      const context = userToContext(user);
      expect({ ...ours.evaluate(context) }).toStrictEqual(new EvaluationEngine().evaluate(context as never, sorted));
    }
  });

  it("produces valid evaluation-model flags that Amplitude's engine evaluates identically", () => {
    const groups = new Map<string, Group>([["m", { key: "m", kind: "mutex", percentage: 0, description: "" }]]);
    const flags = [
      makeFlag({ key: "parent", type: "release", variants: [{ key: "on" }], rollout: 60 }),
      makeFlag({
        key: "exp",
        type: "experiment",
        variants: [{ key: "control" }, { key: "treatment", payload: { color: "green" } }],
        prerequisites: [{ flagKey: "parent", variants: ["on"] }],
        groups: ["m"],
        segments: [{ name: "iOS", conditions: [{ property: "platform", op: "is", values: ["iOS"] }], rollout: 100 }],
      }),
      makeFlag({ key: "other", type: "experiment", variants: [{ key: "a" }, { key: "b" }], groups: ["m"] }),
    ];
    const compiled = toEvaluationFlags("web", flags, groups);
    expect(evaluationFlagsSchema.safeParse(compiled).success).toBe(true);
    const ours = compile(compiled);
    const sorted = topologicalSort(Object.fromEntries(compiled.map((f) => [f.key, f])) as never);
    for (const user of USERS.slice(0, 2000).map((u, i) => ({ ...u, platform: i % 3 ? "iOS" : "web" }))) {
      const context = userToContext(user);
      expect({ ...ours.evaluate(context) }).toStrictEqual(new EvaluationEngine().evaluate(context as never, sorted));
    }
  });
});
