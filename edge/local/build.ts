/**
 * Bundles the worker for Miniflare with esbuild, the way wrangler does for deploys
 * (ES module, workerd conditions), into `.tmp/edge/`. Rebuilt once per process.
 */
import { build } from "esbuild";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

let built: Promise<string> | undefined;

export function buildEdgeWorker(): Promise<string> {
  built ??= (async () => {
    const outdir = join(ROOT, ".tmp", "edge", String(process.pid));
    mkdirSync(outdir, { recursive: true });
    return bundleForWorkerd(join(ROOT, "edge/src/index.ts"), join(outdir, "index.mjs"));
  })();
  return built;
}

/** Bundles a worker's entry for workerd (also the peers' workers in bench/peers.ts); resolves to `outfile`. */
export async function bundleForWorkerd(entry: string, outfile: string): Promise<string> {
  await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser"],
    external: ["node:*", "cloudflare:*"], // the runtime's own modules (nodejs_compat, Durable Objects)
    outfile,
    logLevel: "error",
  });
  return outfile;
}
