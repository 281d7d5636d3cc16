/**
 * Issue 20 item 7: conversions delivered before their units' exposures all count in the
 * report from the event store (DESIGN.md: a unit's value is computed over its events
 * "whenever they were delivered"), also when a delivery is cut off by the service being
 * killed and retried on a new one. The service runs as a child process so that it can die
 * mid-delivery as a Lambda or a crashed server does. The DynamoDB ingest drops an event
 * delivered before its unit's exposure (docs/metrics.md, the differences): that is the
 * engine-only guarantee, so the contrast is asserted too.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueueMessage } from "../../shared/events.js";
import { sign } from "../../shared/ingest-signature.js";
import { createDb } from "../../shared/node/dynamo.js";
import { startDynalite, type LocalDynamo } from "../../shared/node/local-dynalite.js";
import { controlPlaneRecords, runningExperiment } from "../../test/support/control-plane-records.js";
import type { Report } from "./report.js";
import { dynamoSource, reportFrom } from "./report/index.js";
import { createStatsStore } from "./store.js";

const SECRET = "early-secret";
const MINUTE = 60_000;
let dynamo: LocalDynamo;
let root: string;
let token: string;
const children = new Set<ChildProcess>();
const flags = { early: runningExperiment("early"), retried: runningExperiment("retried") };

/** A stats service in a child process over the shared dynalite and event store folder. */
async function startChild(extra: { unitAggregates?: boolean } = {}): Promise<{ url: string; process: ChildProcess }> {
  const options = { dynamoEndpoint: dynamo.endpoint, ingestSecret: SECRET, eventStoreRoot: root, ...extra };
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(import.meta.dirname, "stats-service.child.test-support.ts")],
    {
      env: {
        ...process.env,
        STATS_SERVICE_OPTIONS: JSON.stringify(options),
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  children.add(child);
  const exited = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`exited ${code}`))));
  const line = new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once("line", resolve));
  const { url } = JSON.parse(await Promise.race([line, exited])) as { url: string };
  return { url, process: child };
}

const kill = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });

async function deliver(url: string, messages: Array<{ id: string; body: QueueMessage }>) {
  const body = JSON.stringify({ messages });
  return fetch(`${url}/ingest`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-signature": await sign(SECRET, body) },
    body,
  });
}

const exposure = (key: string, user: string, variant: string, time: number): QueueMessage => ({
  type: "exposures",
  project: "shop",
  deployment: "web",
  userId: user,
  time,
  source: "remote-evaluation",
  exposures: [{ flagKey: key, variant }],
});
/** A purchase of 10 a minute after the unit's exposure; half of them with an insert id. */
const purchase = (user: string, time: number, i: number): QueueMessage => ({
  type: "events",
  project: "shop",
  deployment: "web",
  events: [
    {
      user_id: user,
      event_type: "purchase",
      time: time + MINUTE,
      event_properties: { amount: 10 },
      ...(i % 2 ? { insert_id: `${user}-buy` } : {}),
    },
  ],
});

/** `units` users of experiment `key`, exposed a second apart from two hours ago, half in each arm. */
function population(key: string, units: number) {
  const start = Date.now() - 120 * MINUTE;
  return Array.from({ length: units }, (_, i) => ({
    user: `${key}-${i}`,
    variant: i % 2 ? "treatment" : "control",
    time: start + i * 1000,
  }));
}

async function engineReport(url: string, key: string): Promise<Report> {
  const response = await fetch(`${url}/projects/shop/experiments/${key}/report`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Report;
}

/** Σ over the arms of a metric's mean × exposures: conversions, or the uncapped total. */
const totalOf = (report: Report, metric: string) =>
  Math.round(
    report.metrics
      .find((m) => m.key === metric)!
      .variants.reduce((sum, v) => sum + (v.uncappedMean ?? v.mean) * v.exposures, 0),
  );
const exposuresOf = (report: Report) => report.variants.reduce((sum, v) => sum + v.exposures, 0);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "stats-early-"));
  dynamo = await startDynalite();
  const records = await controlPlaneRecords(dynamo.endpoint);
  await records.project("shop");
  for (const flag of Object.values(flags)) await records.experiment("shop", flag);
  token = await records.token("viewer", "shop");
});
afterAll(async () => {
  for (const child of children) await kill(child);
  await dynamo?.close();
  await rm(root, { recursive: true, force: true });
});

describe("conversions delivered before their exposures", () => {
  it("all count in the engine's report, over separate deliveries", async () => {
    const service = await startChild({ unitAggregates: true }); // the DynamoDB path too, to compare
    const units = population("early", 400);
    let id = 0;
    // The conversions first, in four deliveries; then the exposures, in four more.
    for (let i = 0; i < units.length; i += 100) {
      const batch = units.slice(i, i + 100).map((u, j) => ({ id: `e${id++}`, body: purchase(u.user, u.time, i + j) }));
      expect((await deliver(service.url, batch)).status).toBe(200);
    }
    for (let i = 0; i < units.length; i += 100) {
      const batch = units
        .slice(i, i + 100)
        .map((u) => ({ id: `e${id++}`, body: exposure("early", u.user, u.variant, u.time) }));
      expect((await deliver(service.url, batch)).status).toBe(200);
    }
    const report = await engineReport(service.url, "early");
    expect(exposuresOf(report)).toBe(400);
    expect(totalOf(report, "purchase")).toBe(400);
    expect(totalOf(report, "revenue")).toBe(4000);
    expect(report.metrics.find((m) => m.key === "basket")!.variants.map((v) => v.n)).toEqual([200, 200]);

    // The DynamoDB ingest saw each conversion before its unit and dropped it: the engine-only guarantee.
    const stats = createStatsStore(
      createDb({ table: "experiment-stats", endpoint: dynamo.endpoint, region: "local", exactNumbers: true }),
    );
    const fromDynamo = await reportFrom(dynamoSource(stats), "shop", flags.early, Date.now());
    expect(exposuresOf(fromDynamo)).toBe(400);
    expect(totalOf(fromDynamo, "purchase")).toBe(0);
    await kill(service.process);
  });

  it("all count once when a delivery is cut off by the service dying and retried on a new one", async () => {
    const units = population("retried", 300);
    const conversions = units.map((u, i) => ({ id: `r${i}`, body: purchase(u.user, u.time, i) }));
    const first = await startChild();
    const eventsDir = join(root, "events", "project=shop");
    const parquetFiles = () =>
      existsSync(eventsDir)
        ? readdirSync(eventsDir, { recursive: true }).filter((f) => String(f).endsWith(".parquet"))
        : [];
    const before = parquetFiles().length;
    // Killed once its rows reach the event store (or once it answers, if that comes first): its
    // DynamoDB writes are then under way or done. The retry must neither lose nor double anything.
    const answered = deliver(first.url, conversions).then(
      () => true,
      () => false,
    );
    let done = false;
    void answered.then(() => (done = true));
    await new Promise<void>((resolve) => {
      const check = () => (done || parquetFiles().length > before ? resolve() : setImmediate(check));
      check();
    });
    await kill(first.process);
    await answered;

    const second = await startChild();
    expect((await deliver(second.url, conversions)).status).toBe(200); // the queue redelivers it whole
    const exposures = units.map((u, i) => ({ id: `x${i}`, body: exposure("retried", u.user, u.variant, u.time) }));
    expect((await deliver(second.url, exposures)).status).toBe(200);
    expect((await deliver(second.url, exposures)).status).toBe(200); // and a redelivered one

    const report = await engineReport(second.url, "retried");
    expect(exposuresOf(report)).toBe(300);
    expect(totalOf(report, "purchase")).toBe(300);
    expect(totalOf(report, "revenue")).toBe(3000);
    expect(report.metrics.find((m) => m.key === "basket")!.variants.map((v) => v.n)).toEqual([150, 150]);
    await kill(second.process);
  });
});
