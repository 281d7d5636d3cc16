/**
 * Bundles the worker for Miniflare with esbuild, the way wrangler does for deploys (ES
 * module, workerd conditions), in memory: Miniflare takes the script as text, so nothing is
 * written to disk. Built once per process.
 */
import { build } from "esbuild";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

let built: Promise<string> | undefined;
let builtLocal: Promise<string> | undefined;

/** The edge worker's bundled source. */
export function buildEdgeWorker(): Promise<string> {
  built ??= bundleForWorkerd(join(ROOT, "edge/src/index.ts"));
  return built;
}

/** The edge worker wrapped for the local system (edge/local/local-worker.ts): its queue spools and drains. */
export function buildLocalEdgeWorker(): Promise<string> {
  builtLocal ??= bundleForWorkerd(join(ROOT, "edge/local/local-worker.ts"));
  return builtLocal;
}

/** Bundles a worker's entry for workerd (also the peers' workers in bench/peers.ts); resolves to its source. */
export async function bundleForWorkerd(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser"],
    external: ["node:*", "cloudflare:*"], // the runtime's own modules (nodejs_compat, Durable Objects)
    write: false,
    outfile: "index.mjs",
    logLevel: "error",
  });
  return result.outputFiles[0]!.text;
}
