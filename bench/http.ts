/**
 * Remote evaluation over HTTP: the 50-flag workload served by the edge worker in
 * local workerd (Miniflare), loaded with autocannon on loopback. Each request asks for
 * a different user (GET /sdk/v2/vardata with X-Amp-Exp-User, as the SDKs send it), and
 * exposures go to the queue as in production (a consumer drains it).
 */
import autocannon from "autocannon";
import { Miniflare } from "miniflare";
import { BENCH_KEY as KEY, startBenchEdge } from "./bench-edge.js";
import { compareLatency, type LatencyStats } from "./serial-latency.js";

export interface HttpResult {
  /** Serial requests on one keep-alive connection: what one caller waits. */
  latency: LatencyStats;
  /** The same, with `X-Amp-Exp-Exposure-Track: no-track` (no queue work in the isolate). */
  latencyNoExposures: LatencyStats;
  /** The same route for a bare `new Response("ok")` worker: the runtime and client floor. */
  floor: LatencyStats;
  /** A worker that answers with one KV read: what the cheapest real I/O costs. */
  kvRead: LatencyStats;
  /** Ours, the bare worker and the KV read again with four callers at once: four times the load. */
  fourTimes: { exposures: LatencyStats; floor: LatencyStats; kvRead: LatencyStats };
  /** autocannon at saturation (its latencies are whole milliseconds). */
  throughput: {
    requestsPerSecond: number;
    p50Ms: number;
    p99Ms: number;
    errors: number;
    non2xx: number;
    connections: number;
    durationSeconds: number;
  };
}

const BARE_WORKER = "export default { fetch() { return new Response('ok'); } }";
const KV_READ_WORKER =
  "export default { async fetch(request, env) { return new Response(await env.KV.get('value')); } }";

export async function benchHttp({
  connections = 8,
  durationSeconds = 10,
  serialRequests = 10_000,
} = {}): Promise<HttpResult> {
  const bare = new Miniflare({
    modules: true,
    script: BARE_WORKER,
    compatibilityDate: "2026-04-01",
    port: 0,
    cf: false,
  });
  const kvReader = new Miniflare({
    modules: true,
    script: KV_READ_WORKER,
    compatibilityDate: "2026-04-01",
    kvNamespaces: { KV: "kv" },
    port: 0,
    cf: false,
  });
  const { mf, url, users: encodedUsers } = await startBenchEdge();
  try {
    const user = (i: number) => encodedUsers[i % encodedUsers.length]!;
    const path = "/sdk/v2/vardata?v=0";
    await (await kvReader.getKVNamespace("KV")).put("value", "ok");
    const kvUrl = await kvReader.ready;
    const exposuresTarget = {
      base: url,
      path,
      headersFor: (i: number) => ({ authorization: `Api-Key ${KEY}`, "x-amp-exp-user": user(i) }),
    };
    const floorTarget = { base: await bare.ready, path, headersFor: () => ({}) };
    const kvTarget = { base: kvUrl, path, headersFor: () => ({}) };
    const {
      kvRead,
      exposures: latency,
      noExposures: latencyNoExposures,
      floor,
    } = await compareLatency(
      {
        exposures: exposuresTarget,
        noExposures: {
          base: url,
          path,
          headersFor: (i) => ({
            authorization: `Api-Key ${KEY}`,
            "x-amp-exp-user": user(i),
            "x-amp-exp-exposure-track": "no-track",
          }),
        },
        floor: floorTarget,
        kvRead: kvTarget,
      },
      { rounds: serialRequests / 1000, perRound: 1000 },
    );
    const fourTimes = await compareLatency(
      { exposures: exposuresTarget, floor: floorTarget, kvRead: kvTarget },
      { rounds: serialRequests / 1000, perRound: 1000, callers: 4 },
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
              headers: {
                ...request.headers,
                authorization: `Api-Key ${KEY}`,
                "x-amp-exp-user": encodedUsers[next++ % encodedUsers.length]!,
              },
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
      kvRead,
      fourTimes,
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
    await bare.dispose();
    await kvReader.dispose();
  }
}
