/**
 * The edge worker as the HTTP bench and the profiler load it: local workerd (Miniflare) serving
 * the 50-flag workload's deployment under `BENCH_KEY`, the rate limiter in the path with a budget
 * above any bench's load (its cost is measured), and exposures to a queue a consumer drains, as in
 * production. `users` are the workload's users encoded as the `X-Amp-Exp-User` header.
 */
import type { Miniflare } from "miniflare";
import { kvNameForApiKey } from "../shared/deployment-document.js";
import { EVENTS_QUEUE, startEdgeMiniflare } from "../edge/local/miniflare.js";
import { benchDocument, createWorkload } from "./workload.js";

export const BENCH_KEY = "bench-server-key";

export interface BenchEdge {
  mf: Miniflare;
  url: URL;
  users: string[];
}

export async function startBenchEdge(options: { inspectorPort?: number } = {}): Promise<BenchEdge> {
  const workload = createWorkload(10_000);
  const { mf, url } = await startEdgeMiniflare({
    ...(options.inspectorPort === undefined ? {} : { inspectorPort: options.inspectorPort }),
    rateLimitPer10s: 1_000_000_000,
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
    await kv.put(kvNameForApiKey(BENCH_KEY), benchDocument(workload.flags));
  } catch (error) {
    await mf.dispose();
    throw error;
  }
  const users = workload.users.map((user) => Buffer.from(JSON.stringify(user)).toString("base64url"));
  return { mf, url, users };
}
