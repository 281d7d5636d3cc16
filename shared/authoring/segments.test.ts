import { EvaluationEngine, topologicalSort } from "@amplitude/experiment-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compile, userToContext } from "../evaluation/index.js";
import type { Condition, Flag } from "./schema.js";
import { resolveSegments, segmentsUsedBy, type Segment } from "./segments.js";
import { makeFlag } from "./test-support.js";
import { toEvaluationFlags } from "./to-evaluation-model.js";

const engine = new EvaluationEngine();
const noGroups = new Map();

/** Conditions over a few user properties, a built-in field and a group property, with values users draw from. */
const conditionArb: fc.Arbitrary<Condition> = fc.oneof(
  fc.record({
    property: fc.constantFrom("plan", "country", "beta"),
    op: fc.constantFrom("is", "is not", "contains", "does not contain"),
    values: fc.subarray(["gold", "free", "US", "DE", "true", "o"], { minLength: 1 }),
  }),
  fc.record({
    property: fc.constant("age"),
    op: fc.constantFrom("less", "greater or equal"),
    values: fc.constantFrom("18", "30", "65").map((value) => [value]),
  }),
  fc.record({
    property: fc.constantFrom("tier", "group_name"),
    groupType: fc.constant("org"),
    op: fc.constantFrom("is", "is not"),
    values: fc.subarray(["enterprise", "startup", "acme", "globex"], { minLength: 1 }),
  }),
);

const segmentArb = (key: string) =>
  fc.record({
    key: fc.constant(key),
    name: fc.constant(key),
    description: fc.constant(""),
    conditions: fc.array(conditionArb, { minLength: 1, maxLength: 3 }),
  });

/** A rule naming one of the segments (or none), with 0–2 conditions of its own, its rollout and weights. */
const ruleArb = fc.record({
  segment: fc.constantFrom("seg-a", "seg-b", undefined),
  extra: fc.array(conditionArb, { maxLength: 2 }),
  rollout: fc.constantFrom(0, 30, 100),
  treatment: fc.integer({ min: 0, max: 100 }),
});

type RuleDraw = { segment: string | undefined; extra: Condition[]; rollout: number; treatment: number };

/** Users as the SDKs send them: properties of every type, a group, and that group's properties. */
const userArb = fc.record({
  user_id: fc.oneof(fc.uuid(), fc.constantFrom("u1", "u2", "")),
  device_id: fc.uuid(),
  country: fc.constantFrom("US", "DE", "jp"),
  user_properties: fc.record(
    {
      plan: fc.constantFrom("gold", "free", "goldish"),
      beta: fc.constantFrom("true", "false", true),
      age: fc.constantFrom(17, 18, "30", 64, 90),
    },
    { requiredKeys: [] },
  ),
  groups: fc.record({ org: fc.constantFrom("acme", "globex", "initech") }),
  group_properties: fc.record({
    org: fc.record({
      acme: fc.record({ tier: fc.constantFrom("enterprise", "startup") }, { requiredKeys: [] }),
      globex: fc.record({ tier: fc.constantFrom("enterprise", "startup") }, { requiredKeys: [] }),
    }),
  }),
});

/** The same experiment twice: its rules naming segments, and with each segment's conditions written inline. */
function twoFlags(rules: RuleDraw[], segments: Segment[]) {
  const byKey = new Map(segments.map((s) => [s.key, s]));
  const base = { key: "checkout", type: "experiment" as const, variants: [{ key: "control" }, { key: "treatment" }] };
  const weights = (treatment: number) => ({ control: 100 - treatment, treatment });
  const referencing = makeFlag({
    ...base,
    segments: rules.map((rule, i) => ({
      name: `Rule ${i}`,
      ...(rule.segment ? { segment: rule.segment } : {}),
      conditions: rule.segment || rule.extra.length ? rule.extra : [{ property: "plan", op: "is", values: ["gold"] }],
      rollout: rule.rollout,
      weights: weights(rule.treatment),
    })),
  });
  const inline: Flag = {
    ...referencing,
    segments: referencing.segments.map(({ segment, ...rule }) => ({
      ...rule,
      conditions: [...(segment ? byKey.get(segment)!.conditions : []), ...rule.conditions],
    })),
  };
  return { referencing, inline, byKey };
}

describe("segments resolved at publish time", () => {
  it("serve every random user the variant the same flag with the conditions inline serves, as experiment-core does", () => {
    let users = 0;
    const served = new Map<string, number>();
    fc.assert(
      fc.property(
        fc.array(ruleArb, { minLength: 1, maxLength: 4 }),
        segmentArb("seg-a"),
        segmentArb("seg-b"),
        fc.array(userArb, { minLength: 30, maxLength: 30 }),
        (rules, a, b, batch) => {
          const { referencing, inline, byKey } = twoFlags(rules, [a, b]);
          const resolved = toEvaluationFlags("web", [referencing], noGroups, byKey);
          const written = toEvaluationFlags("web", [inline], noGroups);
          expect(resolved).toStrictEqual(written); // the deployment document is the same, byte for byte
          const compiledResolved = compile(resolved);
          const compiledInline = compile(written);
          const reference = topologicalSort(Object.fromEntries(resolved.map((f) => [f.key, f])) as never);
          for (const user of batch) {
            const context = userToContext(user);
            const variant = compiledResolved.evaluate(context)["checkout"]?.key;
            expect(variant).toBe(compiledInline.evaluate(context)["checkout"]?.key);
            expect(variant).toBe(engine.evaluate(context as never, reference)["checkout"]?.key);
            served.set(variant ?? "none", (served.get(variant ?? "none") ?? 0) + 1);
            users++;
          }
        },
      ),
      { numRuns: 60, seed: 26 },
    );
    expect(users).toBe(1800);
    // The draws must reach every outcome: the segments' rules, the rest, and users left out by a rollout.
    for (const variant of ["control", "treatment", "off"]) expect(served.get(variant) ?? 0).toBeGreaterThan(150);
  });

  it("puts a segment's conditions before the rule's own, and leaves out a rule whose segment is gone", () => {
    const flag = makeFlag({
      key: "f",
      type: "release",
      variants: [{ key: "on" }],
      segments: [
        {
          name: "Beta gold",
          segment: "beta",
          conditions: [{ property: "plan", op: "is", values: ["gold"] }],
          rollout: 100,
        },
        { name: "Gone", segment: "gone", conditions: [], rollout: 100 },
        { name: "Inline", conditions: [{ property: "country", op: "is", values: ["DE"] }], rollout: 100 },
      ],
    });
    const beta = { conditions: [{ property: "beta", op: "is", values: ["true"] }] };
    const resolved = resolveSegments(flag, new Map([["beta", beta]]));
    expect(resolved.segments).toEqual([
      { name: "Beta gold", conditions: [...beta.conditions, ...flag.segments[0]!.conditions], rollout: 100 },
      flag.segments[2],
    ]);
    expect(segmentsUsedBy(flag)).toEqual(["beta", "gone"]);
    const plain = makeFlag({ key: "g", type: "release", variants: [{ key: "on" }] });
    expect(resolveSegments(plain, new Map())).toBe(plain); // nothing to resolve: the same object
  });
});
