/**
 * A release flag part-way through a rollout with guardrails exposes units on both sides (the
 * variant served, `off` held back) for its rollout plan's monitor; other releases expose
 * nothing, as before, and neither do the defaults other segments serve.
 */
import { describe, expect, it } from "vitest";
import { compile, HELD_BACK_VARIANT, userToContext } from "../evaluation/index.js";
import type { Flag, Group } from "./schema.js";
import { makeFlag } from "./test-support.js";
import { toEvaluationFlags } from "./to-evaluation-model.js";

const USERS = Array.from({ length: 2_000 }, (_, i) => ({ user_id: `user-${i}` }));
const errors = { key: "errors", type: "event_totals" as const, eventType: "error", direction: "decrease" as const };
const release = (input: Partial<Flag> = {}, state: Partial<Flag> = {}) =>
  makeFlag({ key: "new-nav", type: "release", variants: [{ key: "on" }], rollout: 20, ...input }, state);

function exposures(flag: Flag, users: Array<Record<string, unknown>> = USERS) {
  const compiled = compile(toEvaluationFlags("web", [flag], new Map<string, Group>()));
  return users.map((user) => compiled.serve(userToContext(user), { defaults: true })[0]?.exposure);
}

describe("a guarded rollout's exposures", () => {
  it("exposes the served and the held-back units of a release with guardrails at 0 < rollout < 100", () => {
    const exposed = exposures(release({ guardrailMetrics: [errors] }));
    const on = exposed.filter((e) => e?.variant === "on").length;
    const held = exposed.filter((e) => e?.variant === HELD_BACK_VARIANT).length;
    expect(on + held).toBe(USERS.length);
    expect(on / USERS.length).toBeCloseTo(0.2, 1);
    expect(exposed[0]).toMatchObject({ flagKey: "new-nav" });
  });

  it("exposes nothing without guardrails, at 0% or 100%, or once inactive", () => {
    for (const flag of [
      release(),
      release({ guardrailMetrics: [errors], rollout: 100 }),
      release({ guardrailMetrics: [errors], rollout: 0 }),
      release({ guardrailMetrics: [errors] }, { status: "inactive" }),
    ])
      expect(exposures(flag).filter(Boolean)).toEqual([]);
  });

  it("does not count an excluded user as held back (not randomised)", () => {
    const flag = release({ guardrailMetrics: [errors], exclusions: { userIds: ["banned"], deviceIds: [] } });
    expect(exposures(flag, [{ user_id: "banned" }])).toEqual([undefined]);
  });
});
