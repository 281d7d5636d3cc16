/**
 * Bundles the console (Preact + uPlot, TypeScript/TSX) with esbuild: in memory for the local
 * Node server, or into a folder for the Lambda bundle (`tsx control-plane/console/build.ts <dir>`).
 */
import { build } from "esbuild";
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ConsoleAssets } from "../src/routes/console.js";

const HERE = dirname(fileURLToPath(import.meta.url));

export async function buildConsole(): Promise<ConsoleAssets> {
  const result = await build({
    entryPoints: [join(HERE, "src/main.tsx")],
    entryNames: "app",
    outdir: "/console",
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    jsx: "automatic",
    jsxImportSource: "preact",
    legalComments: "none",
    write: false,
    logLevel: "silent",
  });
  return new Map(result.outputFiles.map((file) => [basename(file.path), file.text]));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2];
  if (!out) throw new Error("usage: tsx control-plane/console/build.ts <output folder>");
  mkdirSync(out, { recursive: true });
  for (const [name, body] of await buildConsole()) writeFileSync(join(out, name), body);
}
