/**
 * What one caller waits: serial GETs over one keep-alive connection per target
 * (node:http; undici's fetch adds a multi-millisecond tail of its own).
 *
 * Targets compared with each other are measured in alternating rounds after the same
 * warm-up, never one after the other: whichever ran first used to pay for JIT tier-up
 * and heap growth, which made the p99 of the first (exposures on, or the plain proxy)
 * look up to 1.5 ms worse than it is.
 */
import http from "node:http";
import { percentile, round } from "./percentiles.js";

export interface LatencyTarget {
  base: URL;
  path: string;
  headersFor: (i: number) => Record<string, string>;
}

export interface LatencyStats {
  requests: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
}

export interface LatencyOptions {
  /** Requests per target before timing: enough for V8 to optimize the hot path. */
  warmup?: number;
  rounds?: number;
  perRound?: number;
  /**
   * Callers per target, each on its own keep-alive connection, sending at the same time
   * (`perRound` requests a round between them): 1 is the bench's load, 4 four times it.
   */
  callers?: number;
}

function client(target: LatencyTarget) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let i = 0;
  const get = () =>
    new Promise<number>((resolve, reject) => {
      http
        .get(
          {
            host: target.base.hostname,
            port: target.base.port,
            path: target.path,
            headers: target.headersFor(i++),
            agent,
          },
          (response) => {
            response.on("data", () => {});
            response.on("end", () => resolve(response.statusCode ?? 0));
          },
        )
        .on("error", reject);
    });
  return { get, close: () => agent.destroy() };
}

export async function compareLatency<K extends string>(
  targets: Record<K, LatencyTarget>,
  { warmup = 5000, rounds = 10, perRound = 1000, callers = 1 }: LatencyOptions = {},
): Promise<Record<K, LatencyStats>> {
  const names = Object.keys(targets) as K[];
  const clients = new Map(
    names.map((name) => [name, Array.from({ length: callers }, () => client(targets[name]))] as const),
  );
  const times = new Map<K, number[]>(names.map((name) => [name, []]));
  const run = (name: K, count: number, record: boolean) =>
    Promise.all(
      clients.get(name)!.map(async ({ get }) => {
        for (let n = 0; n < Math.ceil(count / callers); n++) {
          const started = process.hrtime.bigint();
          const status = await get();
          if (status !== 200) throw new Error(`HTTP ${status} from ${name} during the latency run`);
          if (record) times.get(name)!.push(Number(process.hrtime.bigint() - started) / 1e6);
        }
      }),
    );
  try {
    for (const name of names) await run(name, warmup, false);
    for (let r = 0; r < rounds; r++) for (const name of names) await run(name, perRound, true);
  } finally {
    for (const list of clients.values()) for (const { close } of list) close();
  }
  const stats = {} as Record<K, LatencyStats>;
  for (const name of names) {
    const sorted = times.get(name)!.sort((a, b) => a - b);
    const ms = (p: number) => round(percentile(sorted, p), 3);
    stats[name] = { requests: sorted.length, p50Ms: ms(50), p90Ms: ms(90), p99Ms: ms(99), p999Ms: ms(99.9) };
  }
  return stats;
}
