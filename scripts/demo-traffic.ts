/**
 * A few days of simulated traffic for the demo experiment `checkout-redesign`, sent through
 * the real pipeline on first run (`npm start`), so its results, charts and brief show
 * something: the experiment's first analysis period is moved back `days` days, each simulated
 * user is evaluated by the edge (as an SDK would, without tracking), and the exposures and
 * purchases go to the edge's `/track` with their times spread over those days, as a browser
 * SDK reports them; the queue, ingest, event store and report do the rest.
 *
 * The simulation is fixed (seeded, and the edge's bucketing is deterministic): 4,000 users, control
 * converting at 20% and treatment at 30%, each purchase worth 20 to 120. That is enough for the
 * sequential test to conclude "Ship treatment" (2,400 users at these rates were not: its interval
 * at 1,200 per arm was ±8.4 points, wider than the 7.5-point difference drawn).
 */
import { setMaxListeners } from "node:events";
import type { Store } from "../control-plane/src/db/store.js";

const DAY = 86_400_000;

export interface DemoTrafficOptions {
  edgeUrl: string;
  clientKey: string;
  /** The control plane's store: the experiment's start is moved back in its record. */
  store: Pick<Store, "getFlag" | "putFlag">;
  project?: string;
  flag?: string;
  users?: number;
  days?: number;
  /** Conversion rate per variant. */
  rates?: Record<string, number>;
  now?: number;
  /** Stops the simulation early (the system is stopping). */
  signal?: AbortSignal;
  /** Requests in flight at once to the edge. */
  concurrency?: number;
}

export interface DemoTrafficReport {
  users: number;
  exposures: Record<string, number>;
  purchases: Record<string, number>;
}

/** A small seeded generator (mulberry32): the same traffic on every first run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Runs `work` over `items` with at most `limit` at once, in order of the results. */
async function pool<T, R>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<R>,
  signal?: AbortSignal,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      signal?.throwIfAborted();
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export async function seedDemoTraffic(options: DemoTrafficOptions): Promise<DemoTrafficReport> {
  const {
    edgeUrl,
    clientKey,
    store,
    project = "demo",
    flag: flagKey = "checkout-redesign",
    users = 4000,
    days = 3,
    rates = { control: 0.2, treatment: 0.3 },
    now = Date.now(),
    signal,
    concurrency = 8,
  } = options;
  // Node's fetch adds an abort listener to the signal per request and lets it go only when collected: 4,000
  // requests would print hundreds of "possible EventTarget memory leak" warnings into the user's terminal.
  if (signal) setMaxListeners(0, signal);
  const flag = await store.getFlag(project, flagKey);
  const period = flag?.analysisPeriods?.at(-1);
  if (flag?.status !== "running" || !period) throw new Error(`${project}/${flagKey} is not running`);
  // The same version, its start moved back: the published flag does not change, only where the analysis begins.
  const startedAt = now - days * DAY;
  await store.putFlag(
    project,
    {
      ...flag,
      analysisPeriods: [
        ...flag.analysisPeriods!.slice(0, -1),
        { ...period, startedAt: new Date(startedAt).toISOString() },
      ],
    },
    flag.version,
  );

  const evaluate = async (userId: string): Promise<string | undefined> => {
    const response = await fetch(`${edgeUrl}/sdk/v2/vardata`, {
      headers: {
        authorization: `Api-Key ${clientKey}`,
        "x-amp-exp-user": Buffer.from(JSON.stringify({ user_id: userId })).toString("base64url"),
        "x-amp-exp-exposure-track": "no-track",
      },
      ...(signal ? { signal } : {}),
    });
    if (!response.ok) throw new Error(`The edge answered ${response.status} evaluating ${userId}`);
    return ((await response.json()) as Record<string, { key?: string }>)[flagKey]?.key;
  };
  // The edge may not have the new flag yet (it revalidates its copy within a second locally).
  for (let attempt = 0; (await evaluate("demo-probe")) === undefined; attempt++) {
    if (attempt >= 100) throw new Error(`The edge does not serve ${flagKey}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const ids = Array.from({ length: users }, (_, i) => `demo-user-${i + 1}`);
  const variants = await pool(ids, concurrency, evaluate, signal);
  const draw = random(20261201);
  const report: DemoTrafficReport = { users, exposures: {}, purchases: {} };
  // Spread evenly over the days, the last a few minutes before now (the edge refuses times in the future).
  const span = days * DAY - 10 * 60_000;
  const events = ids.flatMap((userId, i) => {
    const variant = variants[i];
    if (!variant) return [];
    const time = Math.round(startedAt + 60_000 + (i / users) * span);
    report.exposures[variant] = (report.exposures[variant] ?? 0) + 1;
    const exposure = {
      user_id: userId,
      event_type: "$exposure",
      time,
      insert_id: `demo-exposure-${userId}`,
      event_properties: { flag_key: flagKey, variant },
    };
    if (draw() >= (rates[variant] ?? 0)) return [exposure];
    report.purchases[variant] = (report.purchases[variant] ?? 0) + 1;
    const purchase = {
      user_id: userId,
      event_type: "purchase_completed",
      time: time + 60_000 + Math.round(draw() * 5 * 60_000),
      insert_id: `demo-purchase-${userId}`,
      event_properties: { amount: Math.round(20 + draw() * 100) },
    };
    return [exposure, purchase];
  });
  for (let start = 0; start < events.length; start += 1000) {
    signal?.throwIfAborted();
    const response = await fetch(`${edgeUrl}/track`, {
      method: "POST",
      headers: { authorization: `Api-Key ${clientKey}`, "content-type": "application/json" },
      body: JSON.stringify({ events: events.slice(start, start + 1000) }),
      ...(signal ? { signal } : {}),
    });
    if (response.status !== 202)
      throw new Error(`The edge refused demo events: ${response.status} ${await response.text()}`);
  }
  return report;
}
