/**
 * `npm start`'s durability. Miniflare keeps queued messages in memory only; stopping must
 * wait until ingest has acknowledged every message the edge accepted (bounded: what is left
 * goes to the spool on disk and is delivered on the next start).
 * - in process: an exposure and a conversion accepted (202) just before `close()` are in the
 *   report after a restart on the same data folder;
 * - as a user runs it: `npm start` in a process group of its own, loaded, then SIGINT to the
 *   whole group (Ctrl-C: it reaches workerd too), restarted: every exposure and conversion
 *   counted, exactly; the same with DynamoDB down at the stop (through a proxy): the spool
 *   on disk, delivered on the next start; no process left holding a port.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { startLocalSystem, type LocalSystem } from "../../scripts/local-system.js";
import { takenPorts } from "../../scripts/ports.js";
import { startDynalite } from "../../shared/node/local-dynalite.js";
import { adminApi } from "../support/admin-api.js";
import { startDynamoProxy } from "../support/dynamo-proxy.js";
import {
  freePorts,
  PORT_VARIABLES,
  startLocalProcess,
  type LocalProcess,
  type LocalState,
} from "../support/local-process.js";

const folders: string[] = [];
const tempFolder = (prefix: string) => {
  const folder = mkdtempSync(join(tmpdir(), prefix));
  folders.push(folder);
  return folder;
};
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

describe("a local restart", () => {
  const dataDir = tempFolder("restart-keeps-events-");
  const SECRET = "restart-secret";
  let system: LocalSystem | undefined;
  afterAll(async () => {
    await system?.close();
  });

  const start = () =>
    startLocalSystem({
      ingestSecret: SECRET,
      dataDir,
      flagCacheTtlMs: 50,
      reconcileEveryMs: 60_000,
      queueBatchTimeoutSeconds: 1,
    });

  it("keeps events accepted just before the stop", async () => {
    system = await start();
    const token = system.controlPlane.bootstrapToken!;
    const call = adminApi(system.controlPlane.url, token);
    const api = async (method: string, path: string, body?: unknown) => (await call(method, path, body)).body;
    await api("POST", "/projects", { key: "durable", name: "Durable" });
    const { clientKey } = await api("POST", "/projects/durable/deployments", { key: "web", name: "Web" });
    const created = await api("POST", "/projects/durable/flags", {
      key: "keep",
      name: "Keep",
      type: "experiment",
      variants: [{ key: "control" }, { key: "treatment" }],
      deployments: ["web"],
      primaryMetric: { key: "purchase", type: "unique_conversions", eventType: "purchase" },
    });
    await api("POST", "/projects/durable/flags/keep/start", { version: created["version"] });
    const user = Buffer.from(JSON.stringify({ user_id: "last-minute" })).toString("base64url");
    const evaluate = async () =>
      (
        (await (
          await fetch(`${system!.edgeUrl}/sdk/v2/vardata`, {
            headers: { authorization: `Api-Key ${clientKey}`, "x-amp-exp-user": user },
          })
        ).json()) as Record<string, { key: string }>
      )["keep"]?.key;
    await expect.poll(evaluate, { timeout: 5000 }).toMatch(/^(control|treatment)$/); // also the exposure
    const variant = (await evaluate())!;
    const tracked = await fetch(`${system.edgeUrl}/track`, {
      method: "POST",
      headers: { authorization: `Api-Key ${clientKey}`, "content-type": "application/json" },
      body: JSON.stringify([{ user_id: "last-minute", event_type: "purchase", time: Date.now() + 1 }]),
    });
    expect(tracked.status).toBe(202);
    await system.close(); // at once: the events are still in the queue
    system = undefined;

    system = await start();
    const report = (await (
      await fetch(`${system.statsUrl}/projects/durable/experiments/keep/report`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).json()) as {
      variants: Array<{ key: string; exposures: number }>;
      metrics: Array<{ variants: Array<{ variant: string; mean: number }> }>;
    };
    expect(report.variants.find((v) => v.key === variant)!.exposures).toBe(1);
    expect(report.metrics[0]!.variants.find((v) => v.variant === variant)!.mean).toBe(1);
  });
});

/** The demo experiment (scripts/demo-seed.ts) counts exposures per variant and purchase_completed conversions. */
const EXPERIMENT = "checkout-redesign";

interface Counts {
  exposures: number;
  conversions: number;
}

async function counted(state: LocalState): Promise<Counts> {
  const response = await fetch(`${state.statsUrl}/projects/demo/experiments/${EXPERIMENT}/report`, {
    headers: { authorization: `Bearer ${state.adminToken}` },
  });
  const report = (await response.json()) as {
    variants: Array<{ exposures: number }>;
    metrics: Array<{ key: string; variants: Array<{ n: number; mean: number }> }>;
  };
  const purchase = report.metrics.find((metric) => metric.key === "purchase")!;
  return {
    exposures: report.variants.reduce((sum, v) => sum + v.exposures, 0),
    conversions: Math.round(purchase.variants.reduce((sum, v) => sum + v.n * v.mean, 0)),
  };
}

/**
 * `users` users each evaluated (one exposure to the experiment) and each converting, 20 at a
 * time; resolves with how many the edge accepted (every evaluation 200, every /track 202).
 */
async function load(state: LocalState, users: number, prefix: string): Promise<Counts> {
  const key = state.deployments[0]!.clientKey;
  const accepted: Counts = { exposures: 0, conversions: 0 };
  let next = 0;
  const worker = async () => {
    while (next < users) {
      const userId = `${prefix}-${next++}`;
      const user = Buffer.from(JSON.stringify({ user_id: userId })).toString("base64url");
      const evaluated = await fetch(`${state.edgeUrl}/sdk/v2/vardata`, {
        headers: { authorization: `Api-Key ${key}`, "x-amp-exp-user": user },
      });
      const variants = (await evaluated.json()) as Record<string, { key?: string }>;
      if (evaluated.status === 200 && variants[EXPERIMENT]?.key) accepted.exposures++;
      const tracked = await fetch(`${state.edgeUrl}/track`, {
        method: "POST",
        headers: { authorization: `Api-Key ${key}`, "content-type": "application/json" },
        // A second after the exposure: a conversion counts only after it, and workerd's clock may not have moved.
        body: JSON.stringify({
          events: [{ user_id: userId, event_type: "purchase_completed", time: Date.now() + 1000 }],
        }),
      });
      await tracked.arrayBuffer();
      if (tracked.status === 202) accepted.conversions++;
    }
  };
  await Promise.all(Array.from({ length: 20 }, worker));
  return accepted;
}

describe("npm start stopped with Ctrl-C (SIGINT to its process group)", () => {
  let running: LocalProcess | undefined;
  afterEach(async () => {
    // A test that failed halfway leaves nothing running.
    if (running && running.child.exitCode === null) {
      process.kill(-running.child.pid!, "SIGKILL");
      await running.exited;
    }
    running = undefined;
  });

  const stopWithCtrlC = async (process_: LocalProcess) => {
    const started = Date.now();
    process.kill(-process_.child.pid!, "SIGINT");
    const code = await process_.exited;
    return { code, ms: Date.now() - started };
  };

  it("counts every exposure and conversion accepted before the stop, exactly", async () => {
    const env = { ...(await freePorts()), LOCAL_DATA_DIR: tempFolder("ctrl-c-") };
    running = startLocalProcess(env);
    let state = await running.ready();
    const accepted = await load(state, 300, "ctrl-c");
    expect(accepted).toEqual({ exposures: 300, conversions: 300 });

    const stopped = await stopWithCtrlC(running);
    expect(stopped.code).toBe(0);
    expect(running.output()).toMatch(/All \d+ queue messages accepted since the start are acknowledged by ingest/);
    console.log(`Stopped in ${stopped.ms} ms`);
    // Nothing outlived it: every port is free for the next start.
    expect(
      await takenPorts(PORT_VARIABLES.map((name) => ({ port: Number(env[name]), env: name, what: name }))),
    ).toEqual([]);

    running = startLocalProcess(env);
    state = await running.ready();
    // Exactly: a count past 300 never matches.
    await expect
      .poll(() => counted(state), { timeout: 30_000, interval: 250 })
      .toEqual({ exposures: 300, conversions: 300 });
    await stopWithCtrlC(running);
  }, 240_000);

  it("with DynamoDB down, keeps what ingest did not acknowledge on disk and delivers it on the next start", async () => {
    const dynamo = await startDynalite();
    const proxy = await startDynamoProxy(dynamo.endpoint);
    try {
      const dataDir = tempFolder("ctrl-c-dynamo-down-");
      const env = {
        ...(await freePorts()),
        LOCAL_DATA_DIR: dataDir,
        DYNAMODB_ENDPOINT: proxy.endpoint,
        DRAIN_TIMEOUT_MS: "3000",
      };
      running = startLocalProcess(env);
      let state = await running.ready();
      proxy.down = true; // ingest fails from now on: every delivery attempt is a failure
      const accepted = await load(state, 100, "dynamo-down");
      expect(accepted).toEqual({ exposures: 100, conversions: 100 });

      const stopped = await stopWithCtrlC(running);
      expect(stopped.code).toBe(0);
      expect(running.output()).toMatch(/Ingest did not acknowledge \d+ queue messages within 3 s: kept in .*spool/);
      expect(running.output()).not.toMatch(/still in the queue and are lost/);
      const spoolDir = join(dataDir, "spool");
      const spooled = readdirSync(spoolDir)
        .filter((name) => name.endsWith(".json"))
        .reduce((sum, name) => sum + (JSON.parse(readFileSync(join(spoolDir, name), "utf8")) as unknown[]).length, 0);
      expect(spooled).toBeGreaterThan(0);
      console.log(`Stopped in ${stopped.ms} ms with ${spooled} queue messages spooled`);

      proxy.down = false;
      running = startLocalProcess(env);
      state = await running.ready();
      await expect
        .poll(() => counted(state), { timeout: 30_000, interval: 250 })
        .toEqual({ exposures: 100, conversions: 100 });
      const spoolFiles = () => readdirSync(spoolDir).filter((name) => name.endsWith(".json"));
      await expect.poll(spoolFiles, { timeout: 10_000 }).toEqual([]);
      await stopWithCtrlC(running);
    } finally {
      await proxy.close();
      await dynamo.close();
    }
  }, 240_000);
});

describe("npm start's processes", () => {
  let running: LocalProcess | undefined;
  afterEach(async () => {
    if (running && running.child.exitCode === null) {
      process.kill(-running.child.pid!, "SIGKILL");
      await running.exited;
    }
  });

  it("all stop when SIGINT reaches only the npm start process", async () => {
    const env = { ...(await freePorts()), LOCAL_DATA_DIR: tempFolder("sigint-parent-") };
    running = startLocalProcess(env);
    await running.ready();
    running.child.kill("SIGINT");
    expect(await running.exited).toBe(0);
    expect(
      await takenPorts(PORT_VARIABLES.map((name) => ({ port: Number(env[name]), env: name, what: name }))),
    ).toEqual([]);
  }, 240_000);

  it("refuses to start on a port that is taken, naming it", async () => {
    const env = { ...(await freePorts()), LOCAL_DATA_DIR: tempFolder("port-taken-") };
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(Number(env.EDGE_PORT), "127.0.0.1", resolve));
    try {
      running = startLocalProcess(env);
      expect(await running.exited).toBe(1);
      expect(running.output()).toContain(`Port ${env.EDGE_PORT} (the edge, EDGE_PORT) is already in use`);
      expect(running.output()).not.toMatch(/\n\s+at /); // a sentence, not a stack trace
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  }, 60_000);
});
