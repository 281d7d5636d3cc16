/**
 * Where a remote evaluation's time and memory go inside workerd: the bench's edge worker
 * (50-flag deployment, a different user per request, exposures to a draining queue) under
 * the HTTP bench's serial load, profiled through workerd's V8 inspector (Profiler for CPU,
 * HeapProfiler sampling with collected objects kept for allocation). Prints self time and
 * allocated bytes per request by function, and GC's share. Not part of `npm run bench`:
 *   npx tsx bench/profile-edge.ts [--requests=20000] [--no-track] [--inspector-port=9229]
 */
import http from "node:http";
import { fetch as miniflareFetch } from "miniflare";
import { BENCH_KEY as KEY, startBenchEdge } from "./bench-edge.js";

const args = process.argv.slice(2);
const option = (name: string, fallback: string) =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const REQUESTS = Number(option("requests", "20000"));
const PORT = Number(option("inspector-port", "9229"));
const track = !args.includes("--no-track");

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize?: number;
  children?: ProfileNode[] | number[];
}

async function inspector(port: number, worker: string) {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as Array<{
    id: string;
    title?: string;
    webSocketDebuggerUrl: string;
  }>;
  const target = targets.find((t) => t.title === worker || t.id.includes(worker)) ?? targets[0]!;
  const upgraded = await miniflareFetch(
    target.webSocketDebuggerUrl.replace("ws://", "http://").replace("localhost", "127.0.0.1"),
    { headers: { Upgrade: "websocket" } },
  );
  const socket = upgraded.webSocket;
  if (!socket) throw new Error(`workerd's inspector did not accept a WebSocket (HTTP ${upgraded.status})`);
  socket.accept();
  let next = 1;
  const waiting = new Map<number, (result: unknown) => void>();
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: unknown };
    if (message.id !== undefined) waiting.get(message.id)?.(message.error ? { error: message.error } : message.result);
  });
  const send = <T>(method: string, params: Record<string, unknown> = {}) =>
    new Promise<T>((resolve) => {
      const id = next++;
      waiting.set(id, resolve as (result: unknown) => void);
      socket.send(JSON.stringify({ id, method, params }));
    });
  return { send, close: () => socket.close() };
}

const where = (frame: ProfileNode["callFrame"]) => {
  const file = frame.url.split("/").slice(-2).join("/") || "(native)";
  return `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`;
};

function table(rows: Map<string, number>, total: number, unit: (value: number) => string, limit = 25): string {
  return [...rows]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, value]) => `${((100 * value) / total).toFixed(1).padStart(5)}%  ${unit(value).padStart(10)}  ${name}`)
    .join("\n");
}

const { mf, url, users } = await startBenchEdge({ inspectorPort: PORT });
try {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let i = 0;
  const get = () =>
    new Promise<void>((resolve, reject) => {
      http
        .get(
          {
            host: url.hostname,
            port: url.port,
            path: "/sdk/v2/vardata?v=0",
            agent,
            headers: {
              authorization: `Api-Key ${KEY}`,
              "x-amp-exp-user": users[i++ % users.length]!,
              ...(track ? {} : { "x-amp-exp-exposure-track": "no-track" }),
            },
          },
          (response) => response.on("data", () => {}).on("end", resolve),
        )
        .on("error", reject);
    });
  for (let n = 0; n < 5000; n++) await get(); // warm-up, as the HTTP bench does
  const { send, close } = await inspector(PORT, "edge");
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 250 });
  await send("HeapProfiler.enable");
  // Two windows of REQUESTS each: CPU alone, then allocation alone (sampling every
  // allocation slows V8's inline allocation, which would distort the CPU profile).
  await send("Profiler.start");
  const started = process.hrtime.bigint();
  for (let n = 0; n < REQUESTS; n++) await get();
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const { profile } = await send<{
    profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };
  }>("Profiler.stop");
  await send("HeapProfiler.startSampling", {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  for (let n = 0; n < REQUESTS; n++) await get();
  const { profile: heap } = await send<{ profile: { head: ProfileNode } }>("HeapProfiler.stopSampling");
  close();
  agent.destroy();

  const selfTime = new Map<string, number>();
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  let busy = 0;
  for (let s = 0; s < profile.samples.length; s++) {
    const node = byId.get(profile.samples[s]!)!;
    const micros = profile.timeDeltas[s] ?? 0;
    const name = where(node.callFrame);
    if (node.callFrame.functionName === "(idle)") continue;
    busy += micros;
    selfTime.set(name, (selfTime.get(name) ?? 0) + micros);
  }
  const allocated = new Map<string, number>();
  let bytes = 0;
  const walk = (node: ProfileNode) => {
    const size = node.selfSize ?? 0;
    bytes += size;
    if (size) allocated.set(where(node.callFrame), (allocated.get(where(node.callFrame)) ?? 0) + size);
    for (const child of (node.children ?? []) as ProfileNode[]) walk(child);
  };
  walk(heap.head);
  const gc = [...selfTime].filter(([name]) => name.startsWith("(garbage collector)")).reduce((s, [, v]) => s + v, 0);
  console.log(
    JSON.stringify({
      requests: REQUESTS,
      exposures: track,
      wallMsPerRequest: +(wallMs / REQUESTS).toFixed(4),
      isolateBusyMicrosPerRequest: +(busy / REQUESTS).toFixed(1),
      gcShareOfBusy: +(gc / busy).toFixed(3),
      allocatedBytesPerRequest: Math.round(bytes / REQUESTS),
    }),
  );
  console.log("\nSelf time in the isolate (µs per request):");
  console.log(table(selfTime, busy, (v) => (v / REQUESTS).toFixed(2)));
  console.log("\nAllocated (bytes per request, sampled):");
  console.log(table(allocated, bytes, (v) => String(Math.round(v / REQUESTS))));
} finally {
  await mf.dispose();
}
