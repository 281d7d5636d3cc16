/**
 * Builds the worker as `wrangler deploy` would (`--dry-run --outdir`), offline, and
 * measures the script: cold-start cost grows with its size, so it has a budget.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { ROOT } from "./local/build.js";

/** The budget for the deployed script (recorded in BENCHMARKS.md). */
export const BUNDLE_BUDGET = { rawKiB: 250, gzipKiB: 80 };

export function buildWithWrangler(environment?: string): { rawKiB: number; gzipKiB: number } {
  const outdir = mkdtempSync(join(tmpdir(), `wrangler-${environment ?? "production"}-`));
  try {
    execFileSync(
      "npx",
      ["wrangler", "deploy", "--dry-run", "--outdir", outdir, ...(environment ? ["--env", environment] : [])],
      { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" }, stdio: "pipe" },
    );
    const script = readdirSync(outdir).find((f) => f.endsWith(".js"));
    if (!script) throw new Error(`wrangler wrote no script to ${outdir}`);
    const bytes = readFileSync(join(outdir, script));
    return {
      rawKiB: Math.round((bytes.length / 1024) * 10) / 10,
      gzipKiB: Math.round((gzipSync(bytes).length / 1024) * 10) / 10,
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
