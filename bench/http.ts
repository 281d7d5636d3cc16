/**
 * Remote evaluation over HTTP: the 50-flag workload served by the edge worker in
 * local workerd (Miniflare), loaded with autocannon on loopback. Each request asks for
 * a different user (GET /sdk/v2/vardata with X-Amp-Exp-User, as the SDKs send it), and
 * exposures go to the queue as in production (a consumer drains it).
 */
import autocannon from "autocannon";
import http from "node:http";
import { kvNameForApiKey } from "../shared/deployment-document.js";
import { EVENTS_QUEUE, startEdgeMiniflare } from "../edge/local/miniflare.js";
import { Miniflare } from "miniflare";
import { percentile, round } from "./percentiles.js";
import { createWorkload } from "./workload.js";

export interface HttpResult {
  /** Serial requests on one keep-alive connection: what one caller waits. */
  latency: { requests: number; p50Ms: number; p90Ms: number; p99Ms: number; p999Ms: number };
  /** The same, with `X-Amp-Exp-Exposure-Track: no-track` (no queue work in the isolate). */
  latencyNoExposures: { requests: number; p50Ms: number; p90Ms: number; p99Ms: number; p999Ms: number };
  /** The same route for a bare `new Response("ok")` worker: the runtime and client floor. */
  floor: { p50Ms: number; p99Ms: number };
  /** autocannon at saturation (its latencies are whole milliseconds). */
  throughput: { requestsPerSecond: number; p50Ms: number; p99Ms: number; errors: number; non2xx: number; connections: number; durationSeconds: number };
}

/** Times `count` serial GETs over one keep-alive connection with node:http (undici's fetch adds its own multi-ms tail). */
export async function serialLatency(base: URL, count: number, headersFor: (i: number) => Record<string, string>, path: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (headers: Record<string, string>) =>
    new Promise<number>((resolve, reject) => {
      http
        .get({ host: base.hostname, port: base.port, path, headers, agent }, (response) => {
          response.on("data", () => {});
          response.on("end", () => resolve(response.statusCode ?? 0));
        })
        .on("error", reject);
    });
  const warmup = Math.min(2000, count);
  const times: number[] = [];
  for (let i = 0; i < warmup + count; i++) {
    const started = process.hrtime.bigint();
    const status = await get(headersFor(i));
    if (status !== 200) throw new Error(`HTTP ${status} during the latency run`);
    if (i >= warmup) times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  agent.destroy();
  const sorted = times.sort((a, b) => a - b);
  const ms = (p: number) => round(percentile(sorted, p), 3);
  return { requests: count, p50Ms: ms(50), p90Ms: ms(90), p99Ms: ms(99), p999Ms: ms(99.9) };
}

const KEY = "bench-server-key";

async function floorLatency(count: number) {
  const bare = new Miniflare({ modules: true, script: "export default { fetch() { return new Response('ok'); } }", compatibilityDate: "2026-04-01", port: 0, cf: false });
  try {
    const { p50Ms, p99Ms } = await serialLatency(await bare.ready, count, () => ({}), "/sdk/v2/vardata");
    return { p50Ms, p99Ms };
  } finally {
    await bare.dispose();
  }
}

export async function benchHttp({ connections = 8, durationSeconds = 10, serialRequests = 10_000 } = {}): Promise<HttpResult> {
  const floor = await floorLatency(serialRequests);
  const workload = createWorkload(10_000);
  const { mf, url } = await startEdgeMiniflare({
    extraWorkers: [
      {
        name: "drain",
        modules: true,
        script: "export default { async queue(batch) { batch.ackAll(); } };",
        compatibilityDate: "2026-04-01",
        queueConsumers: { [EVENTS_QUEUE]: { maxBatchSize: 100, maxBatchTimeout: 0.1 } },
      },
    ],
  });
  try {
    const kv = await mf.getKVNamespace("FLAGS", "edge");
    await kv.put(
      kvNameForApiKey(KEY),
      JSON.stringify({ schemaVersion: 1, deployment: "bench", keyType: "server", version: 1, publishedAt: new Date().toISOString(), trackExposures: true, flags: workload.flags }),
    );
    const encodedUsers = workload.users.map((user) => Buffer.from(JSON.stringify(user)).toString("base64url"));
    const latency = await serialLatency(
      url,
      serialRequests,
      (i) => ({ authorization: `Api-Key ${KEY}`, "x-amp-exp-user": encodedUsers[i % encodedUsers.length]! }),
      "/sdk/v2/vardata?v=0",
    );
    const latencyNoExposures = await serialLatency(
      url,
      serialRequests,
      (i) => ({ authorization: `Api-Key ${KEY}`, "x-amp-exp-user": encodedUsers[i % encodedUsers.length]!, "x-amp-exp-exposure-track": "no-track" }),
      "/sdk/v2/vardata?v=0",
    );
    let next = 0;
    const run = (duration: number) =>
      autocannon({
        url: url.href,
        connections,
        duration,
        requests: [
          {
            method: "GET",
            path: "/sdk/v2/vardata?v=0",
            setupRequest: (request) => ({
              ...request,
              headers: { ...request.headers, authorization: `Api-Key ${KEY}`, "x-amp-exp-user": encodedUsers[next++ % encodedUsers.length]! },
            }),
          },
        ],
      });
    await run(3); // warm-up: JIT, isolate caches
    const result = await run(durationSeconds);
    return {
      latency,
      latencyNoExposures,
      floor,
      throughput: {
        requestsPerSecond: Math.round(result.requests.average),
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        errors: result.errors,
        non2xx: result.non2xx,
        connections,
        durationSeconds,
      },
    };
  } finally {
    await mf.dispose();
  }
}
