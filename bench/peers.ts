/**
 * Peers in our own benchmark: LaunchDarkly's KV-backed Cloudflare SDK (`allFlagsState` per
 * request) beside our remote evaluation, and GrowthBook's edge app beside our CDN proxy, all
 * in workerd (Miniflare) on loopback, with the same 50 logical flags (bench/workload.ts maps
 * them to each model) and the same origin. Before timing, LaunchDarkly's rule decisions are
 * checked against ours on 1,000 users (bucketing differs by design: its hash is SHA-1, so
 * only which rule decided is compared, not the split).
 */
import { init as initLaunchDarkly } from "@launchdarkly/cloudflare-server-sdk";
import autocannon from "autocannon";
import { Miniflare } from "miniflare";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { bundleForWorkerd, ROOT } from "../edge/local/build.js";
import { startEdgeMiniflare } from "../edge/local/miniflare.js";
import { kvNameForApiKey } from "../shared/deployment-document.js";
import { compile, userToContext } from "../shared/evaluation/index.js";
import { round } from "./percentiles.js";
import { compareLatency, type LatencyStats } from "./serial-latency.js";
import { benchDocument, createWorkload, launchDarklyContext, type Workload } from "./workload.js";

const KEY = "bench-peers-server-key";
const CDN_KEY = "bench-peers-client-key";
const LD_ID = "bench-client-side-id";
const COMPATIBILITY_DATE = "2026-04-01";

export interface TargetFigures {
  target: string;
  latency: LatencyStats;
  requestsPerSecond: number;
  cpuMsPerRequest: number;
  coldFirstRequestMs: number;
}
export interface PeersResult {
  /** Decisions compared, and those skipped because a prerequisite's own split (hash-dependent) differed. */
  agreement: { users: number; decisions: number; agreeing: number; skippedForSplit: number };
  evaluation: TargetFigures[];
  proxies: Array<TargetFigures & { ttfbMs: number; pageMs: number }>;
}

/** Which rule decided each flag for a user, ours and LaunchDarkly's, compared on every flag. */
async function checkAgreement(workload: Workload, userCount: number): Promise<PeersResult["agreement"]> {
  const ours = compile(workload.flags);
  const kv = {
    get: async (_key: string, type?: string) =>
      type === "json" ? workload.launchDarkly.data : JSON.stringify(workload.launchDarkly.data),
  };
  const client = initLaunchDarkly(LD_ID, kv as unknown as KVNamespace, { sendEvents: false } as never);
  await client.waitForInitialization();
  let decisions = 0;
  let agreeing = 0;
  let skippedForSplit = 0;
  for (const user of workload.users.slice(0, userCount)) {
    const outcomes = ours.evaluateWithReasons(userToContext(user as never));
    const state = (await client.allFlagsState(launchDarklyContext(user), { withReasons: true })).toJSON() as Record<
      string,
      unknown
    > & { $flagsState: Record<string, { reason?: { kind: string; ruleIndex?: number } }> };
    for (const flag of workload.flags) {
      const parent = flag.dependencies?.[0];
      // A parent in a percentage rollout lands by each engine's own hash: its prerequisite then differs by design.
      if (parent && outcomes[parent]?.variant.key !== state[parent]) {
        skippedForSplit++;
        continue;
      }
      const segment = outcomes[flag.key]?.variant.metadata?.["segmentName"];
      const rule = typeof segment === "string" ? /^rule (\d+):/.exec(segment)?.[1] : undefined;
      const oursDecision =
        segment === "Prerequisite not met" ? "prerequisite" : rule !== undefined ? `rule ${rule}` : "fallthrough";
      const reason = state.$flagsState[flag.key]?.reason;
      const theirs =
        reason?.kind === "PREREQUISITE_FAILED"
          ? "prerequisite"
          : reason?.kind === "RULE_MATCH"
            ? `rule ${workload.launchDarkly.ruleOf[flag.key]![reason.ruleIndex!]}`
            : "fallthrough";
      decisions++;
      if (oursDecision === theirs) agreeing++;
    }
  }
  client.close();
  return { users: userCount, decisions, agreeing, skippedForSplit };
}

/** A page that streams: the head at once, then 1 MiB of body in 64 chunks 10 ms apart. */
async function startStreamingOrigin() {
  const server = http.createServer((request, response) => {
    request.resume();
    response.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    if (!request.url?.startsWith("/large.html"))
      return response.end("<!doctype html><html><head><title>Shop</title></head><body><h1>Hello</h1></body></html>");
    response.write("<!doctype html><html><head><title>Catalogue</title></head><body>");
    let sent = 0;
    const chunk = `<p>${"x".repeat(16 * 1024 - 7)}</p>`;
    const next = () => {
      if (sent++ === 64) return response.end("</body></html>");
      response.write(chunk);
      setTimeout(next, 10);
    };
    next();
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Milliseconds to the first body byte and to the end of a GET. */
function timedGet(
  base: URL,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ ttfbMs: number; totalMs: number; status: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let first: number | undefined;
    http
      .get({ host: base.hostname, port: base.port, path, headers, agent: false }, (response) => {
        response.on("data", () => (first ??= performance.now()));
        response.on("end", () =>
          resolve({
            ttfbMs: (first ?? performance.now()) - started,
            totalMs: performance.now() - started,
            status: response.statusCode ?? 0,
          }),
        );
      })
      .on("error", reject);
  });
}

/** workerd processes started by this process, to read their CPU time. */
const workerdPids = () =>
  execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(process.pid)], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.includes("workerd"))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
const cpuMs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks of 1/100 s
};

interface Started {
  url: URL;
  pid: number;
  dispose(): Promise<void>;
}

async function startTarget(start: () => Promise<{ url: URL; dispose: () => Promise<void> }>): Promise<Started> {
  const before = new Set(workerdPids());
  const { url, dispose } = await start();
  const pid = workerdPids().find((p) => !before.has(p))!;
  return { url, pid, dispose };
}

async function throughputAndCpu(
  target: Started,
  path: string,
  headersFor: (i: number) => Record<string, string>,
): Promise<{ requestsPerSecond: number; cpuMsPerRequest: number }> {
  let next = 0;
  const run = (duration: number) =>
    autocannon({
      url: target.url.href,
      connections: 8,
      duration,
      requests: [
        {
          method: "GET",
          path,
          setupRequest: (request) => ({ ...request, headers: { ...request.headers, ...headersFor(next++) } }),
        },
      ],
    });
  await run(2);
  const cpuBefore = cpuMs(target.pid);
  const result = await run(5);
  const cpu = cpuMs(target.pid) - cpuBefore;
  if (result.non2xx || result.errors)
    throw new Error(`${result.non2xx} non-2xx and ${result.errors} errors from ${target.url.href}${path}`);
  return {
    requestsPerSecond: Math.round(result.requests.average),
    cpuMsPerRequest: round(cpu / result.requests.total, 3),
  };
}

export async function benchPeers(): Promise<PeersResult> {
  const workload = createWorkload(10_000);
  const agreement = await checkAgreement(workload, 1000);
  if (agreement.agreeing !== agreement.decisions)
    throw new Error(
      `LaunchDarkly and ours disagree on ${agreement.decisions - agreement.agreeing} rule decisions: fix the mapping before comparing speed`,
    );

  const bundle = (name: string) => bundleForWorkerd(join(ROOT, `bench/peers/${name}.ts`));
  const [ldScript, gbScript] = await Promise.all([bundle("launchdarkly-worker"), bundle("growthbook-worker")]);
  const origin = await startStreamingOrigin();

  const startOurs = async (cdn: boolean) => {
    const { mf, url } = await startEdgeMiniflare({
      rateLimitPer10s: 1_000_000_000,
      ...(cdn ? { vars: { CDN_ORIGIN: origin.url, CDN_DEPLOYMENT_KEY: CDN_KEY } } : {}),
    });
    const kv = await mf.getKVNamespace("FLAGS", "edge");
    await kv.put(
      kvNameForApiKey(cdn ? CDN_KEY : KEY),
      benchDocument(workload.flags, { keyType: cdn ? "client" : "server", trackExposures: false }),
    );
    return { url, dispose: () => mf.dispose() };
  };
  const startLaunchDarkly = async () => {
    const mf = new Miniflare({
      modules: true,
      script: ldScript,
      compatibilityDate: COMPATIBILITY_DATE,
      compatibilityFlags: ["nodejs_compat"],
      kvNamespaces: ["LD_KV"],
      port: 0,
      cf: false,
    });
    const url = await mf.ready;
    await (await mf.getKVNamespace("LD_KV")).put(`LD-Env-${LD_ID}`, JSON.stringify(workload.launchDarkly.data));
    return { url, dispose: () => mf.dispose() };
  };
  const startGrowthBook = async () => {
    const mf = new Miniflare({
      modules: true,
      script: gbScript,
      compatibilityDate: COMPATIBILITY_DATE,
      compatibilityFlags: ["nodejs_compat"],
      kvNamespaces: ["KV_GB_PAYLOAD", "KV_GB_CACHE"],
      bindings: {
        PROXY_TARGET: origin.url,
        GROWTHBOOK_API_HOST: "http://127.0.0.1:9",
        GROWTHBOOK_CLIENT_KEY: "sdk-bench",
        NODE_ENV: "production",
      },
      port: 0,
      cf: false,
    });
    const url = await mf.ready;
    await (await mf.getKVNamespace("KV_GB_PAYLOAD")).put(
      "gb_payload",
      JSON.stringify({ features: workload.growthBookFeatures }),
    );
    return { url, dispose: () => mf.dispose() };
  };

  const users = workload.users.map((user) => Buffer.from(JSON.stringify(user)).toString("base64url"));
  const evaluationHeaders = {
    ours: (i: number) => ({
      authorization: `Api-Key ${KEY}`,
      "x-amp-exp-user": users[i % users.length]!,
      "x-amp-exp-exposure-track": "no-track",
    }),
    launchDarkly: (i: number) => ({ "x-user": users[i % users.length]! }),
  };
  const visitor = (i: number) => ({ cookie: `exp_device_id=visitor-${i % 1000}; gbuuid=visitor-${i % 1000}` });
  const cold = async (
    start: () => Promise<{ url: URL; dispose: () => Promise<void> }>,
    path: string,
    headers: Record<string, string>,
  ) => {
    const target = await start();
    try {
      const first = await timedGet(target.url, path, headers);
      if (first.status !== 200) throw new Error(`HTTP ${first.status} on a cold first request to ${path}`);
      return round(first.totalMs, 1);
    } finally {
      await target.dispose();
    }
  };

  try {
    // Remote evaluation: every flag for a user, per request.
    const ours = await startTarget(() => startOurs(false));
    const ld = await startTarget(startLaunchDarkly);
    let evaluation: TargetFigures[];
    try {
      const latency = await compareLatency(
        {
          ours: { base: ours.url, path: "/sdk/v2/vardata", headersFor: evaluationHeaders.ours },
          launchDarkly: { base: ld.url, path: "/", headersFor: evaluationHeaders.launchDarkly },
        },
        { warmup: 2000, rounds: 5, perRound: 1000 },
      );
      const oursLoad = await throughputAndCpu(ours, "/sdk/v2/vardata", evaluationHeaders.ours);
      const ldLoad = await throughputAndCpu(ld, "/", evaluationHeaders.launchDarkly);
      evaluation = [
        {
          target: "ours: GET /sdk/v2/vardata",
          latency: latency.ours,
          ...oursLoad,
          coldFirstRequestMs: await cold(() => startOurs(false), "/sdk/v2/vardata", evaluationHeaders.ours(0)),
        },
        {
          target: "LaunchDarkly Cloudflare SDK: allFlagsState",
          latency: latency.launchDarkly,
          ...ldLoad,
          coldFirstRequestMs: await cold(startLaunchDarkly, "/", evaluationHeaders.launchDarkly(0)),
        },
      ];
    } finally {
      await ours.dispose();
      await ld.dispose();
    }

    // Proxies in front of the same origin.
    const cdn = await startTarget(() => startOurs(true));
    const gb = await startTarget(startGrowthBook);
    let proxies: PeersResult["proxies"];
    try {
      const latency = await compareLatency(
        {
          ours: { base: cdn.url, path: "/products/42.html", headersFor: visitor },
          growthBook: { base: gb.url, path: "/products/42.html", headersFor: visitor },
        },
        { warmup: 2000, rounds: 5, perRound: 1000 },
      );
      const large = async (target: Started) => {
        const samples: Array<{ ttfbMs: number; totalMs: number; status: number }> = [];
        for (let i = 0; i < 10; i++) samples.push(await timedGet(target.url, "/large.html", visitor(i)));
        const median = (pick: (s: (typeof samples)[number]) => number) =>
          round(samples.map(pick).sort((a, b) => a - b)[5]!, 1);
        return { ttfbMs: median((s) => s.ttfbMs), pageMs: median((s) => s.totalMs) };
      };
      proxies = [
        {
          target: "ours: CDN proxy (edge worker, proxy mode)",
          latency: latency.ours,
          ...(await throughputAndCpu(cdn, "/products/42.html", visitor)),
          ...(await large(cdn)),
          coldFirstRequestMs: await cold(() => startOurs(true), "/products/42.html", visitor(0)),
        },
        {
          target: "GrowthBook edge app",
          latency: latency.growthBook,
          ...(await throughputAndCpu(gb, "/products/42.html", visitor)),
          ...(await large(gb)),
          coldFirstRequestMs: await cold(startGrowthBook, "/products/42.html", visitor(0)),
        },
      ];
    } finally {
      await cdn.dispose();
      await gb.dispose();
    }
    return { agreement, evaluation, proxies };
  } finally {
    await origin.close();
  }
}

if (process.argv[1]?.endsWith("peers.ts")) console.log(JSON.stringify(await benchPeers(), null, 2));
