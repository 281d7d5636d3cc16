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
    const outfile = join(outdir, "index.mjs");
    await build({
      entryPoints: [join(ROOT, "edge/src/index.ts")],
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      mainFields: ["module", "main"],
      conditions: ["workerd", "worker", "browser"],
      external: ["cloudflare:*"], // the runtime's own modules (Durable Objects)
      outfile,
      logLevel: "error",
    });
    return outfile;
  })();
  return built;
}
