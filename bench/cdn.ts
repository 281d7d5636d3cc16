/**
 * CDN middleware overhead: the same local origin behind (a) a plain pass-through proxy
 * worker and (b) the edge worker in proxy mode (cookie, evaluation of the 50-flag
 * workload, assignment header, cache headers, exposures), both in workerd, measured
 * side by side in one run with serial keep-alive requests, in alternating rounds.
 */
import { Miniflare } from "miniflare";
import { kvNameForApiKey } from "../shared/deployment-document.js";
import { EVENTS_QUEUE, startEdgeMiniflare } from "../edge/local/miniflare.js";
import { startOrigin } from "../test/support/origin.js";
import { compareLatency } from "./serial-latency.js";
import { round } from "./percentiles.js";
import { benchDocument, createWorkload } from "./workload.js";

export interface CdnResult {
  requests: number;
  plain: { p50Ms: number; p99Ms: number };
  middleware: { p50Ms: number; p99Ms: number };
  addedP50Ms: number;
  addedP99Ms: number;
}

const KEY = "bench-cdn-key-01";

export async function benchCdn(requests = 10_000): Promise<CdnResult> {
  const origin = await startOrigin();
  const plain = new Miniflare({
    modules: true,
    script: `export default { fetch(request) { const url = new URL(request.url); return fetch(new Request(${JSON.stringify(origin.url)} + url.pathname + url.search, request)); } };`,
    compatibilityDate: "2026-04-01",
    port: 0,
    cf: false,
  });
  const edge = await startEdgeMiniflare({
    vars: { CDN_ORIGIN: origin.url, CDN_DEPLOYMENT_KEY: KEY },
    extraWorkers: [
      {
        name: "drain",
        modules: true,
        script: "export default { async queue(b) { b.ackAll(); } };",
        compatibilityDate: "2026-04-01",
        queueConsumers: { [EVENTS_QUEUE]: { maxBatchSize: 100, maxBatchTimeout: 0.1 } },
      },
    ],
  });
  try {
    const kv = await edge.mf.getKVNamespace("FLAGS", "edge");
    const { flags } = createWorkload(1);
    // The workload buckets on user_id and device_id; the middleware supplies a device id per visitor.
    await kv.put(kvNameForApiKey(KEY), benchDocument(flags, { keyType: "client" }));
    // Returning visitors (one device cookie each), as most page views are.
    const cookie = (i: number) => ({ cookie: `exp_device_id=visitor-${(i % 1000).toString().padStart(8, "0")}` });
    const { plain: p, middleware: m } = await compareLatency(
      {
        plain: { base: await plain.ready, path: "/products/42", headersFor: cookie },
        middleware: { base: edge.url, path: "/products/42", headersFor: cookie },
      },
      { rounds: requests / 1000, perRound: 1000 },
    );
    return {
      requests,
      plain: { p50Ms: p.p50Ms, p99Ms: p.p99Ms },
      middleware: { p50Ms: m.p50Ms, p99Ms: m.p99Ms },
      addedP50Ms: round(m.p50Ms - p.p50Ms, 3),
      addedP99Ms: round(m.p99Ms - p.p99Ms, 3),
    };
  } finally {
    await edge.mf.dispose();
    await plain.dispose();
    await origin.close();
  }
}
