/**
 * Rollout plans on real dynalite, through the API, with the clock in the test's hands and
 * the guardrails' statistics given by the test (the source the watcher reads): a plan with
 * no regression advances to 100% on schedule; a harmful guardrail rolls it back to 0% with
 * one signed webhook and history saying why; pause holds the clock; two watchers racing
 * advance each step once. Conditions are polled, never slept on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDynalite, type LocalDynamo } from "../../../shared/node/local-dynalite.js";
import type { SufficientStats } from "../../../shared/stats/sufficient.js";
import { adminApi, type AdminApi } from "../../../test/support/admin-api.js";
import { startReceiver, verifyDelivery, type Receiver } from "../notifications/receiver.test-support.js";
import type { KvWriter } from "../publish/kv-writer.js";
import { startControlPlane, type ControlPlaneServer } from "../server.js";
import type { GuardrailReading } from "./monitor.js";
import type { RolloutPlan } from "./plans.js";
import type { Report } from "../../../shared/report-schema.js";

const EVENTUALLY = { timeout: 30_000 };
const MINUTE = 60_000;
const TOKEN = "rollouts-test-admin-token";

let clock = Date.parse("2026-12-07T08:00:00Z");
const memoryKv = (): KvWriter => {
  const map = new Map<string, string>();
  return {
    put: async (entries) => {
      for (const { key, value } of entries) map.set(key, value);
    },
    delete: async (keys) => {
      for (const key of keys) map.delete(key);
    },
    get: async (key) => map.get(key) ?? null,
  };
};
const kv = memoryKv();

/** What the guardrail source answers, per flag: the test sets it. */
const readings = new Map<string, GuardrailReading[]>();
const binary = (n: number, rate: number): SufficientStats => {
  const x = Math.round(n * rate);
  return { n, mean: x / n, m2: x * (1 - x / n) };
};
const errorsReading = (servedRate: number, n = 20_000): GuardrailReading[] => [
  { metric: "errors", direction: "decrease", served: binary(n, servedRate), heldBack: binary(n, 0.05) },
];

/** What the report source answers per experiment (only the fields the watcher reads). */
const reports = new Map<string, Report>();
const reportWith = (verdict: string, srmMismatch = false) =>
  ({
    analysisPeriod: { index: 1 },
    srm: { mismatch: srmMismatch, pValue: srmMismatch ? 0.001 : 0.6 },
    metrics: [
      {
        key: "conv",
        role: "primary",
        variants: [
          { variant: "control", control: true },
          {
            variant: "treatment",
            comparison: { verdict, lift: 0.167, difference: 0.02, ci: [0.002, 0.04], pValue: 0.01, trustworthy: true },
          },
        ],
      },
    ],
  }) as unknown as Report;

let dynamo: LocalDynamo;
const started: ControlPlaneServer[] = [];
let receiver: Receiver;
let secret: string;

async function start(): Promise<{ cp: ControlPlaneServer; api: AdminApi }> {
  const cp = await startControlPlane({
    dynamoEndpoint: dynamo.endpoint,
    kv,
    bootstrapToken: TOKEN,
    reconcileEveryMs: 60_000,
    releasesEveryMs: 60_000, // the test ticks by hand
    now: () => clock,
    guardrails: async (_project, flag) => readings.get(flag.key) ?? [],
    reports: async (_project, flag) => reports.get(flag),
    experimentsEveryMs: 0,
  });
  started.push(cp);
  return { cp, api: adminApi(cp.url, TOKEN) };
}

const errorMetric = { key: "errors", type: "unique_conversions", eventType: "error", direction: "decrease" };
const release = (key: string) => ({
  key,
  name: key,
  type: "release",
  variants: [{ key: "on" }],
  rollout: 0,
  guardrailMetrics: [errorMetric],
});
const STEPS = [
  { percent: 1, minutes: 10 },
  { percent: 5, minutes: 10 },
  { percent: 25, minutes: 20 },
  { percent: 50, minutes: 20 },
  { percent: 100, minutes: 0 },
];

let cp: ControlPlaneServer;
let api: AdminApi;
const rolloutOf = async (flag: string) => (await api("GET", `/projects/roll/flags/${flag}`)).body.rollout as number;
const planOf = async (flag: string) =>
  (await api("GET", `/projects/roll/flags/${flag}/rollout-plan`)).body as RolloutPlan;

beforeAll(async () => {
  dynamo = await startDynalite();
  ({ cp, api } = await start());
  expect((await api("POST", "/projects", { key: "roll", name: "Rollouts" })).status).toBe(201);
  receiver = await startReceiver();
  const hook = await api("POST", "/projects/roll/webhooks", {
    url: receiver.url,
    events: ["rollout.step", "rollout.completed", "rollout.rolled_back"],
  });
  expect(hook.status).toBe(201);
  secret = hook.body.secret;
});
afterAll(async () => {
  for (const server of [...started]) await server.close();
  await receiver?.close();
  await dynamo?.close();
});

describe("rollout plans", () => {
  it("with no regression advances step by step to 100% on schedule", async () => {
    expect((await api("POST", "/projects/roll/flags", release("calm"))).status).toBe(201);
    readings.set("calm", errorsReading(0.05));
    const plan = await api("PUT", "/projects/roll/flags/calm/rollout-plan", { steps: STEPS });
    expect(plan.status).toBe(201);
    expect(await rolloutOf("calm")).toBe(1);

    clock += 9 * MINUTE;
    await cp.tick();
    expect(await rolloutOf("calm")).toBe(1); // not yet: 10 minutes at 1%
    const checked = await planOf("calm");
    expect(checked.lastCheck?.checks[0]).toMatchObject({ metric: "errors", tested: true, harm: false });

    for (const expected of [5, 25, 50, 100]) {
      clock += 20 * MINUTE;
      await cp.tick();
      expect(await rolloutOf("calm")).toBe(expected);
    }
    const done = await planOf("calm");
    expect(done).toMatchObject({ status: "completed", step: 4, percent: 100 });
    expect(done.log.map((e) => e.what)).toEqual(["started", "step", "step", "step", "completed"]);
    const history = (await api("GET", "/projects/roll/flags/calm/versions")).body as Array<{ actor: string }>;
    expect(history.filter((h) => h.actor === "rollout plan by bootstrap")).toHaveLength(5);
    await expect.poll(() => receiver.received.filter((d) => d.json.data.flag === "calm").length, EVENTUALLY).toBe(5);
    const types = receiver.received.filter((d) => d.json.data.flag === "calm").map((d) => d.json.type);
    expect(types).toEqual(["rollout.step", "rollout.step", "rollout.step", "rollout.step", "rollout.completed"]);
  });

  it("rolls back to 0% on harm: history says why, one signed webhook", async () => {
    expect((await api("POST", "/projects/roll/flags", release("harm"))).status).toBe(201);
    readings.set("harm", errorsReading(0.05));
    await api("PUT", "/projects/roll/flags/harm/rollout-plan", { steps: STEPS });
    clock += 11 * MINUTE;
    await cp.tick();
    expect(await rolloutOf("harm")).toBe(5);

    readings.set("harm", errorsReading(0.065)); // 30% more units with errors among those served
    await cp.tick();
    expect(await rolloutOf("harm")).toBe(0);
    const plan = await planOf("harm");
    expect(plan).toMatchObject({ status: "rolled_back", percent: 0, rollback: { step: 1, percent: 5 } });
    expect(plan.rollback!.check).toMatchObject({ metric: "errors", harm: true });
    expect(plan.rollback!.check.lift).toBeCloseTo(0.3, 2);
    expect(plan.rollback!.check.interval![0]).toBeGreaterThan(0);

    const history = (await api("GET", "/projects/roll/flags/harm/versions")).body as Array<{
      version: number;
      actor: string;
    }>;
    const last = history.find((h) => h.version === plan.rollback!.version)!;
    expect(last.actor).toMatch(/^guardrail rollback: errors \+30\.0% \(p = .*\) at 5%, plan by bootstrap$/);

    // Later ticks change nothing more.
    const rolledBackAt = clock;
    clock += 60 * MINUTE;
    await cp.tick();
    expect(await rolloutOf("harm")).toBe(0);
    await expect.poll(() => receiver.of("rollout.rolled_back").length, EVENTUALLY).toBe(1);
    const [delivery] = receiver.of("rollout.rolled_back");
    expect(verifyDelivery(secret, delivery!.headers, delivery!.body, Math.floor(rolledBackAt / 1000))).toBe(true);
    expect(verifyDelivery(`${secret}x`, delivery!.headers, delivery!.body, Math.floor(rolledBackAt / 1000))).toBe(
      false,
    );
    expect(delivery!.json.data).toMatchObject({ flag: "harm", percent: 5, check: { metric: "errors" } });
    const feed = (await api("GET", "/projects/roll/notifications?limit=20")).body as Array<{
      type: string;
      summary: string;
    }>;
    expect(feed.find((e) => e.type === "rollout.rolled_back")!.summary).toMatch(
      /^Rolled back `harm` to 0% at 5%: guardrail errors \+30\.0% \[/,
    );
    expect((await api("GET", "/projects/roll/notifications?limit=0")).status).toBe(400);
  });

  it("pauses: time paused does not count toward a step, and resumes where it was", async () => {
    expect((await api("POST", "/projects/roll/flags", release("paused"))).status).toBe(201);
    readings.set("paused", errorsReading(0.05));
    await api("PUT", "/projects/roll/flags/paused/rollout-plan", { steps: STEPS });
    clock += 6 * MINUTE;
    expect((await api("POST", "/projects/roll/flags/paused/rollout-plan/pause")).body.status).toBe("paused");
    clock += 60 * MINUTE;
    await cp.tick();
    expect(await rolloutOf("paused")).toBe(1);
    expect((await api("POST", "/projects/roll/flags/paused/rollout-plan/resume")).body.status).toBe("running");
    clock += 3 * MINUTE; // 9 of its 10 minutes
    await cp.tick();
    expect(await rolloutOf("paused")).toBe(1);
    clock += 1 * MINUTE;
    await cp.tick();
    expect(await rolloutOf("paused")).toBe(5);
    expect((await api("POST", "/projects/roll/flags/paused/rollout-plan/resume")).status).toBe(409);
    expect((await api("POST", "/projects/roll/flags/paused/rollout-plan/cancel")).body.status).toBe("cancelled");
  });

  it("advances each step once when two watchers race", async () => {
    expect((await api("POST", "/projects/roll/flags", release("race"))).status).toBe(201);
    readings.set("race", errorsReading(0.05));
    const { cp: other } = await start();
    await api("PUT", "/projects/roll/flags/race/rollout-plan", { steps: STEPS });
    for (const expected of [5, 25, 50, 100]) {
      clock += 20 * MINUTE;
      await Promise.all([cp.tick(), other.tick()]);
      expect(await rolloutOf("race")).toBe(expected);
    }
    const history = (await api("GET", "/projects/roll/flags/race/versions")).body as Array<{ actor: string }>;
    expect(history.filter((h) => h.actor === "rollout plan by bootstrap")).toHaveLength(5);
    await expect.poll(() => receiver.received.filter((d) => d.json.data.flag === "race").length, EVENTUALLY).toBe(5);
  });

  it("answers bad plans with clear errors", async () => {
    expect((await api("POST", "/projects/roll/flags", release("bad"))).status).toBe(201);
    const put = (body: unknown, flag = "bad") => api("PUT", `/projects/roll/flags/${flag}/rollout-plan`, body);
    expect(
      (
        await put({
          steps: [
            { percent: 50, minutes: 1 },
            { percent: 10, minutes: 1 },
            { percent: 100, minutes: 0 },
          ],
        })
      ).body.error.details.path,
    ).toEqual(["steps", 1]);
    expect((await put({ steps: [{ percent: 50, minutes: 1 }] })).status).toBe(400);
    expect((await put({ steps: [{ percent: 150, minutes: 1 }] })).status).toBe(400);
    expect((await put({ steps: STEPS, extra: 1 })).status).toBe(400);
    expect((await put({ steps: STEPS }, "missing")).status).toBe(404);
    expect((await api("GET", "/projects/roll/flags/bad/rollout-plan")).status).toBe(404);
    const experiment = { key: "exp", name: "exp", type: "experiment", variants: [{ key: "a" }, { key: "b" }] };
    expect((await api("POST", "/projects/roll/flags", experiment)).status).toBe(201);
    expect((await put({ steps: STEPS }, "exp")).status).toBe(400);
    expect((await put({ steps: STEPS })).status).toBe(201);
    expect((await put({ steps: STEPS })).status).toBe(409);
  });
});

describe("the watcher's reading of running experiments", () => {
  it("tells of significance and of a sample-ratio mismatch once each, across ticks and watchers", async () => {
    const conv = { key: "conv", type: "unique_conversions", eventType: "purchase" };
    const experiment = {
      key: "signif",
      name: "signif",
      type: "experiment",
      variants: [{ key: "control" }, { key: "treatment" }],
      primaryMetric: conv,
    };
    expect((await api("POST", "/projects/roll/flags", experiment)).status).toBe(201);
    expect((await api("POST", "/projects/roll/flags/signif/start", { version: 1 })).status).toBe(200);
    const hook = await api("POST", "/projects/roll/webhooks", {
      url: receiver.url,
      events: ["experiment.significant", "experiment.srm"],
    });
    expect(hook.status).toBe(201);
    reports.set("signif", reportWith("not_yet_significant"));
    await cp.tick();
    reports.set("signif", reportWith("significant_positive"));
    const { cp: other } = await start();
    await Promise.all([cp.tick(), other.tick()]);
    await cp.tick();
    await expect.poll(() => receiver.of("experiment.significant").length, EVENTUALLY).toBe(1);
    expect(receiver.of("experiment.significant")[0]!.json.data).toMatchObject({
      flag: "signif",
      metric: "conv",
      variant: "treatment",
      verdict: "significant_positive",
      lift: 0.167,
    });
    reports.set("signif", reportWith("significant_positive", true));
    await other.tick();
    await cp.tick();
    await expect.poll(() => receiver.of("experiment.srm").length, EVENTUALLY).toBe(1);
    expect(receiver.of("experiment.significant")).toHaveLength(1);
  });
});
