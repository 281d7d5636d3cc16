/**
 * Cold starts: what a fresh isolate (or a publish) pays before its first answer, at 50,
 * 1,000 and 5,000 flags, ours against @amplitude/experiment-core on the same document, each
 * sample in a fresh Node process (bench/cold-start-child.ts, bundled by esbuild so that no
 * TypeScript transform is timed). Also: a request naming 5 flags, and JSON.parse alone (the
 * floor both pay).
 */
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { kvNameForApiKey } from "../shared/deployment-document.js";
import { startEdgeMiniflare } from "../edge/local/miniflare.js";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../edge/local/build.js";
import { userToContext } from "../shared/evaluation/context.js";
import { flagContentHash } from "../control-plane/src/publish/publisher.js";
import { benchDocument, createWorkload } from "./workload.js";
import { round } from "./percentiles.js";

export interface ColdRow {
  flags: number;
  documentKiB: number;
  engine: "ours" | "core" | "parse";
  scope: "all flags" | "5 named flags";
  coldMs: number;
  warmMs: number;
}

const SAMPLES = 9;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function benchColdStart(flagCounts = [50, 1000, 5000]): Promise<ColdRow[]> {
  const folder = join(ROOT, ".tmp", `bench-cold-${process.pid}`);
  mkdirSync(folder, { recursive: true });
  try {
    const child = join(folder, "child.mjs");
    await build({
      entryPoints: [join(ROOT, "bench/cold-start-child.ts")],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      outfile: child,
      logLevel: "silent",
    });

    const rows: ColdRow[] = [];
    for (const count of flagCounts) {
      const workload = createWorkload(201, 42, count);
      const text = benchDocument(workload.flags, { contentHash: "bench" });
      const path = join(folder, `document-${count}.json`);
      writeFileSync(path, text);
      const contexts = JSON.stringify(workload.users.map((user) => userToContext(user as never)));
      // the last five: some have a prerequisite
      const named = JSON.stringify(workload.flags.slice(-5).map((flag) => flag.key));
      const run = (engine: ColdRow["engine"], keys: string) =>
        JSON.parse(
          execFileSync(process.execPath, [child, path, engine, contexts, keys], {
            encoding: "utf8",
            maxBuffer: 1 << 20,
          }),
        ) as { coldMs: number; warmMs: number };
      const configurations = [
        ["parse", "all flags", "null"],
        ["ours", "all flags", "null"],
        ["core", "all flags", "null"],
        ["ours", "5 named flags", named],
        ["core", "5 named flags", named],
      ] as const;
      // Sampled in turn (one process of each, nine times), so that a change in the machine's load
      // falls on every configuration alike instead of on whichever ran during it.
      const samplesOf = configurations.map(() => [] as { coldMs: number; warmMs: number }[]);
      for (let sample = 0; sample < SAMPLES; sample++)
        for (const [c, [engine, , keys]] of configurations.entries()) samplesOf[c]!.push(run(engine, keys));
      for (const [c, [engine, scope]] of configurations.entries()) {
        const samples = samplesOf[c]!;
        rows.push({
          flags: count,
          documentKiB: Math.round(text.length / 1024),
          engine,
          scope,
          coldMs: round(median(samples.map((s) => s.coldMs)), 2),
          warmMs: round(median(samples.map((s) => s.warmMs * 1000)) / 1000, 4),
        });
      }
    }
    return rows;
  } finally {
    rmSync(folder, { recursive: true, force: true }); // the child's bundle and the documents
  }
}

export interface WorkerdColdRow {
  flags: number;
  /** A fresh workerd: isolate start, script, KV read, load, evaluation of all flags. */
  firstRequestMs: number;
  secondRequestMs: number;
  /** The first request that sees a publish changing one flag, with and without per-flag hashes. */
  afterPublishMs: number;
  afterPublishNoHashesMs: number;
}

/**
 * The same in workerd (Miniflare): a fresh runtime's first request, and the first request
 * after a publish (waiting out the isolate's cache, so that request reads KV and loads the new
 * version itself instead of being served the old one while it reloads in the background).
 */
export async function benchWorkerdColdStart(flagCounts = [50, 1000, 5000], samples = 5): Promise<WorkerdColdRow[]> {
  const KEY = "bench-cold-server-key";
  const rows: WorkerdColdRow[] = [];
  for (const count of flagCounts) {
    const { flags, users } = createWorkload(3, 42, count);
    const document = (version: number, changed: boolean, hashes: boolean) => {
      // A publish that changes one flag's rollout: the others are as they were.
      const published = changed
        ? flags.map((flag, i) => (i === 0 ? { ...flag, metadata: { ...flag.metadata, flagVersion: version } } : flag))
        : flags;
      return benchDocument(published, {
        version,
        contentHash: `v${version}`,
        trackExposures: false,
        ...(hashes
          ? { flagHashes: Object.fromEntries(published.map((flag) => [flag.key, flagContentHash(flag)])) }
          : {}),
      });
    };
    const user = Buffer.from(JSON.stringify(users[0])).toString("base64url");
    const timed = async (url: URL) => {
      const started = performance.now();
      const response = await fetch(new URL("/sdk/v2/vardata", url), {
        headers: { authorization: `Api-Key ${KEY}`, "x-amp-exp-user": user },
      });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return performance.now() - started;
    };
    const measured: Array<Omit<WorkerdColdRow, "flags">> = [];
    for (let sample = 0; sample < samples; sample++) {
      const { mf, url } = await startEdgeMiniflare({ flagCacheTtlMs: 20, rateLimitPer10s: 1_000_000 });
      try {
        const kv = await mf.getKVNamespace("FLAGS", "edge");
        await kv.put(kvNameForApiKey(KEY), document(1, false, true));
        const firstRequestMs = await timed(url);
        const secondRequestMs = await timed(url);
        const afterPublish = async (version: number, hashes: boolean) => {
          await kv.put(kvNameForApiKey(KEY), document(version, true, hashes));
          await sleep(300); // past 10 × the 20 ms cache: the next request loads before answering
          return timed(url);
        };
        const afterPublishNoHashesMs = await afterPublish(2, false);
        await kv.put(kvNameForApiKey(KEY), document(3, false, true));
        await sleep(300);
        await timed(url);
        const afterPublishMs = await afterPublish(4, true);
        measured.push({ firstRequestMs, secondRequestMs, afterPublishMs, afterPublishNoHashesMs });
      } finally {
        await mf.dispose();
      }
    }
    const med = (pick: (m: Omit<WorkerdColdRow, "flags">) => number) => round(median(measured.map(pick)), 1);
    rows.push({
      flags: count,
      firstRequestMs: med((m) => m.firstRequestMs),
      secondRequestMs: med((m) => m.secondRequestMs),
      afterPublishMs: med((m) => m.afterPublishMs),
      afterPublishNoHashesMs: med((m) => m.afterPublishNoHashesMs),
    });
  }
  return rows;
}

if (process.argv[1]?.endsWith("cold-start.ts")) {
  console.table(await benchColdStart());
  console.table(await benchWorkerdColdStart());
}
