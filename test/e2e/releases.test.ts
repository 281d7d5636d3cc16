/**
 * A progressive rollout watched by its guardrail over the real pipeline: the edge in workerd
 * serves a release flag part-way rolled out and exposes units on both sides of it, simulated
 * users send `error` events to /track, the queue delivers both to the stats service's event
 * store, and the control plane's watcher reads the served-against-held-back statistics from
 * the stats API every second (docs/releases.md). Two plans with the same steps run side by side:
 * - the new variant makes 30% more errors: traffic stops the moment the test's own reading of
 *   what it sent, through the same monitor function, crosses the harm boundary; the edge must
 *   stop serving the variant within 5 s of that, one signed `rollout.rolled_back` webhook
 *   arrives (verified with the documented recipe), and the flag's history names the guardrail;
 * - the same errors either side: the plan advances to 100% on its minutes, its guardrail tested.
 * Users are seeded (mulberry32), so each run sends the same traffic; conditions are polled.
 */
import { availableParallelism, loadavg } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  startReceiver,
  verifyDelivery,
  type Receiver,
} from "../../control-plane/src/notifications/receiver.test-support.js";
import { monitorGuardrails } from "../../control-plane/src/rollouts/monitor.js";
import type { RolloutPlan } from "../../control-plane/src/rollouts/plans.js";
import { fromSums } from "../../shared/stats/sufficient.js";
import { uniforms } from "../support/simulated-rows.js";
import { startFullStack, type FullStack } from "../support/stack.js";

let stack: FullStack;
let clientKey: string;
let receiver: Receiver;
let secret: string;

/**
 * The plan: 20% → 50% → 100%. Held 6 s a step where it should advance (the whole plan fits the test);
 * a minute a step where it should roll back, so a slow machine's traffic cannot outlast the plan
 * (at 100% nobody is held back, and there is nothing left to compare).
 */
const stepsOf = (minutes: number) => [
  { percent: 20, minutes },
  { percent: 50, minutes },
  { percent: 100, minutes: 0 },
];
const STEP_MS = 6_000;
/**
 * The target: at the edge within 5 s of the boundary. On a machine loaded past 2 runnable
 * tasks per core (other test files, other work) every hop here (queue, ingest, the watcher's
 * tick, dynalite, workerd) shares the cores, and 4.5–9 s were measured at load 20 on 2 cores:
 * there the bound is 15 s, and the figure is printed either way.
 */
const LOADED = loadavg()[0]! > 2 * availableParallelism();
const ROLLBACK_BOUND_MS = LOADED ? 15_000 : 5_000;
/**
 * How late a step may be after its minimum: a few watcher ticks (1 s each). Loaded, a tick was measured
 * at up to 14 s (its plan's reads wait on dynalite and the stats service, which share the test's process
 * with the traffic): 20 s then.
 */
const STEP_SLACK_MS = LOADED ? 20_000 : 3_000;
/** Errors per user of the old variant (Poisson); the new one makes `harm` times as many. */
const BASE_ERRORS = 4;
const WAVE = 100;
/** Requests in flight at once: the control plane, stats service and dynalite share the test's event loop. */
const IN_FLIGHT = 20;

/** Poisson by inversion (small means). */
function poisson(mean: number, draw: () => number): number {
  let k = 0;
  let p = Math.exp(-mean);
  let cumulative = p;
  const u = draw();
  while (u > cumulative) {
    k += 1;
    p *= mean / k;
    cumulative += p;
  }
  return k;
}

const releaseFlag = (key: string) => ({
  key,
  name: key,
  type: "release",
  variants: [{ key: "on" }],
  deployments: ["web"],
  rollout: 0,
  guardrailMetrics: [{ key: "errors", type: "event_totals", eventType: "error", direction: "decrease" }],
});

const userHeader = (userId: string) => Buffer.from(JSON.stringify({ user_id: userId })).toString("base64url");
/** The variant the edge serves a user (`off`, the default, when held back); `track` records the exposure. */
async function evaluate(flag: string, userId: string, track: boolean): Promise<string | undefined> {
  const response = await fetch(`${stack.edgeUrl}/sdk/v2/vardata`, {
    headers: {
      authorization: `Api-Key ${clientKey}`,
      "x-amp-exp-user": userHeader(userId),
      ...(track ? {} : { "x-amp-exp-exposure-track": "no-track" }),
    },
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as Record<string, { key: string }>)[flag]?.key;
}
const planOf = async (flag: string) =>
  (await stack.api("GET", `/projects/shop/flags/${flag}/rollout-plan`)).body as RolloutPlan;

/** Sufficient statistics of errors per user, per arm, as the test sent them. */
class Arms {
  private readonly sums = { served: [0, 0, 0], heldBack: [0, 0, 0] };
  add(served: boolean, errors: number) {
    const arm = this.sums[served ? "served" : "heldBack"];
    arm[0]! += 1;
    arm[1]! += errors;
    arm[2]! += errors * errors;
  }
  /** The monitor's decision on what was sent, with the plan's defaults (α 0.05, MDE 10%). */
  harm(): boolean {
    const stats = (s: number[]) => fromSums(s[0]!, s[1]!, s[2]!);
    return monitorGuardrails([
      {
        metric: "errors",
        direction: "decrease",
        served: stats(this.sums.served),
        heldBack: stats(this.sums.heldBack),
      },
    ]).harm;
  }
}

/**
 * Sends users in waves (evaluated at the edge with exposures, then their errors to /track)
 * until `stop` says so after a wave, or `users` were sent. Returns a user served the variant.
 */
async function simulate(flag: string, harm: number, seed: number, users: number, stop: (arms: Arms) => boolean) {
  const draw = uniforms(seed);
  const arms = new Arms();
  let servedUser: string | undefined;
  for (let start = 0; start < users; start += WAVE) {
    const ids = Array.from({ length: WAVE }, (_, i) => `${flag}-user-${start + i}`);
    const variants: Array<string | undefined> = [];
    for (let i = 0; i < ids.length; i += IN_FLIGHT)
      variants.push(...(await Promise.all(ids.slice(i, i + IN_FLIGHT).map((id) => evaluate(flag, id, true)))));
    const events: object[] = [];
    ids.forEach((id, i) => {
      const served = variants[i] === "on";
      if (served) servedUser ??= id;
      const errors = poisson(BASE_ERRORS * (served ? harm : 1), draw);
      arms.add(served, errors);
      for (let k = 0; k < errors; k++)
        events.push({ user_id: id, event_type: "error", insert_id: `${id}-${k}`, time: Date.now() });
    });
    const response = await fetch(`${stack.edgeUrl}/track`, {
      method: "POST",
      headers: { authorization: `Api-Key ${clientKey}`, "content-type": "application/json" },
      body: JSON.stringify({ events }),
    });
    expect(response.status).toBe(202);
    if (stop(arms)) break;
  }
  return { arms, servedUser };
}

/** Starts a plan on a new active release flag, and waits until the edge serves its first step. */
async function startPlan(flag: string, stepMs: number): Promise<void> {
  const created = await stack.api("POST", "/projects/shop/flags", releaseFlag(flag));
  expect(created.status).toBe(201);
  const active = await stack.api("POST", `/projects/shop/flags/${flag}/activate`, { version: created.body.version });
  expect(active.status).toBe(200);
  expect(
    (await stack.api("PUT", `/projects/shop/flags/${flag}/rollout-plan`, { steps: stepsOf(stepMs / 60_000) })).status,
  ).toBe(201);
  const probes = Array.from({ length: 20 }, (_, i) => `${flag}-probe-${i}`);
  await expect
    .poll(async () => (await Promise.all(probes.map((id) => evaluate(flag, id, false)))).includes("on"), {
      timeout: 10_000,
      interval: 50,
    })
    .toBe(true);
}

beforeAll(async () => {
  stack = await startFullStack();
  await stack.api("POST", "/projects", { key: "shop", name: "Shop" });
  clientKey = (await stack.api("POST", "/projects/shop/deployments", { key: "web", name: "Web" })).body.clientKey;
  receiver = await startReceiver();
  const hook = await stack.api("POST", "/projects/shop/webhooks", { url: receiver.url, events: [] });
  expect(hook.status).toBe(201);
  secret = hook.body.secret;
});
afterAll(async () => {
  await stack?.dispose();
  await receiver?.close();
});

describe("a progressive rollout over the real edge", () => {
  it("rolls back a variant making 30% more errors at the edge within 5 s, with one signed webhook", async () => {
    await startPlan("new-checkout", 60_000);
    let crossedAt = 0;
    const { arms, servedUser } = await simulate("new-checkout", 1.3, 24, 2_000, (sent) => {
      if (!sent.harm()) return false;
      crossedAt = Date.now(); // what was sent now shows the harm: the boundary
      return true;
    });
    expect(arms.harm()).toBe(true);
    expect(servedUser).toBeDefined();
    // The edge stops serving the variant: a user it served now gets the default.
    await expect
      .poll(() => evaluate("new-checkout", servedUser!, false), { timeout: 30_000, interval: 25 })
      .not.toBe("on");
    const atEdgeMs = Date.now() - crossedAt;
    const plan = await planOf("new-checkout");
    const written = Date.parse((await stack.api("GET", "/projects/shop/flags/new-checkout")).body.updatedAt);
    const decidedMs = Date.parse(plan.rollback!.at) - crossedAt;
    console.log(
      `rollback at the edge ${atEdgeMs} ms after the traffic crossed the boundary: decided at ${decidedMs} ms, ` +
        `flag written at ${written - crossedAt} ms (served ${plan.rollback!.check.served}, held back ${plan.rollback!.check.heldBack})`,
    );
    expect(atEdgeMs).toBeLessThanOrEqual(ROLLBACK_BOUND_MS);
    expect(plan.status).toBe("rolled_back");
    expect(plan.rollback?.check).toMatchObject({ metric: "errors", harm: true, tested: true });
    expect(plan.rollback!.check.lift!).toBeGreaterThan(0);
    const history = (await stack.api("GET", "/projects/shop/flags/new-checkout/versions")).body as Array<{
      actor: string;
      rollout?: number;
      flag?: { rollout: number };
    }>;
    expect(history.some((entry) => entry.actor.startsWith("guardrail rollback: errors +"))).toBe(true);

    // Exactly one rollback webhook: a test event sent after it arrives after it (deliveries are in order).
    const hook = (await stack.api("GET", "/projects/shop/webhooks")).body[0] as { id: string };
    const test = await stack.api("POST", `/projects/shop/webhooks/${hook.id}/test`, {});
    expect(test.status).toBe(202);
    await expect
      .poll(() => receiver.received.some((d) => d.json.id === test.body.eventId), { timeout: 10_000 })
      .toBe(true);
    const rollbacks = receiver.of("rollout.rolled_back").filter((d) => d.json.data["flag"] === "new-checkout");
    expect(rollbacks).toHaveLength(1);
    const [rollback] = rollbacks;
    expect(verifyDelivery(secret, rollback!.headers, rollback!.body, Math.floor(Date.now() / 1000))).toBe(true);
    expect(verifyDelivery("whsec_another", rollback!.headers, rollback!.body, Math.floor(Date.now() / 1000))).toBe(
      false,
    );
    expect(rollback!.json.data).toMatchObject({
      flag: "new-checkout",
      step: plan.rollback!.step,
      check: { metric: "errors" },
    });
  }, 90_000);

  it("answers bad guardrail reads on the stats API with clear JSON errors", async () => {
    const read = async (path: string) => {
      const response = await fetch(`${stack.statsUrl}${path}`, {
        headers: { authorization: `Bearer ${stack.adminToken}` },
      });
      return { status: response.status, body: (await response.json()) as { error?: { message: string } } };
    };
    const since = encodeURIComponent(new Date().toISOString());
    expect((await read("/projects/shop/releases/new-checkout/guardrails")).status).toBe(400);
    expect((await read("/projects/shop/releases/new-checkout/guardrails?since=yesterday")).status).toBe(400);
    const missing = await read(`/projects/shop/releases/no-such-flag/guardrails?since=${since}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error?.message).toContain("no-such-flag");
    expect((await read(`/projects/shop/releases/${"x".repeat(300)}/guardrails?since=${since}`)).status).toBe(404);
    const fresh = await read(`/projects/shop/releases/new-checkout/guardrails?since=${since}`);
    expect(fresh.status).toBe(200);
    expect(fresh.body).toEqual({
      guardrails: [
        {
          metric: "errors",
          direction: "decrease",
          served: { n: 0, mean: 0, m2: 0 },
          heldBack: { n: 0, mean: 0, m2: 0 },
        },
      ],
    });
  });

  it("advances the same plan to 100% on schedule when the errors are the same either side", async () => {
    await startPlan("new-search", STEP_MS);
    const startedAt = Date.parse((await planOf("new-search")).createdAt);
    // Whether the watcher ever tested the guardrail on the traffic (each check replaces the last).
    let tested = false;
    let sending = true;
    const watching = (async () => {
      while (sending && !tested) {
        tested = (await planOf("new-search")).lastCheck?.checks[0]?.tested ?? false;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    await simulate("new-search", 1, 7, 600, () => false);
    await expect
      .poll(async () => (await planOf("new-search")).status, { timeout: 2 * STEP_MS + STEP_SLACK_MS, interval: 100 })
      .toBe("completed");
    const plan = await planOf("new-search");
    const steps = plan.log.filter((entry) => entry.what === "step" || entry.what === "completed");
    expect(steps.map((entry) => entry.percent)).toEqual([50, 100]);
    console.log(
      `plan steps at ${steps.map((entry) => Date.parse(entry.at) - startedAt).join(", ")} ms (minimums ${STEP_MS} ms each)`,
    );
    // On its minutes: never before, and within a few watcher ticks after (STEP_SLACK_MS).
    steps.forEach((entry, i) => {
      const after = Date.parse(entry.at) - startedAt;
      expect(after).toBeGreaterThanOrEqual((i + 1) * STEP_MS);
      expect(after).toBeLessThan((i + 1) * STEP_MS + STEP_SLACK_MS);
    });
    sending = false;
    await watching;
    // The guardrail was tested on the traffic, and found no harm.
    expect(tested).toBe(true);
    expect(plan.lastCheck?.checks[0]).toMatchObject({ metric: "errors", harm: false });
    expect(await evaluate("new-search", "new-search-user-0", false)).toBe("on");
  }, 90_000);
});
