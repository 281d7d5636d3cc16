/**
 * One cold start, in a fresh process (bench/cold-start.ts spawns one per sample): a deployment
 * document's text to the first evaluation's answer, ours (edge/src/deployment-loader.ts, as an
 * isolate runs it) or @amplitude/experiment-core's (parse, topological sort, evaluate, as its
 * SDKs do), then the same evaluation again (warm). Prints the milliseconds as JSON.
 */
import { EvaluationEngine, topologicalSort } from "@amplitude/experiment-core";
import { readFileSync } from "node:fs";
import { loadDeployment } from "../edge/src/deployment-loader.js";

const [documentPath, engine, contextsJson, keysJson] = process.argv.slice(2) as [
  string,
  "ours" | "core" | "parse",
  string,
  string,
];
const text = readFileSync(documentPath, "utf8");
const contexts = JSON.parse(contextsJson) as object[];
const flagKeys = JSON.parse(keysJson) as string[] | null;

let evaluate: (context: object) => unknown;
const started = performance.now();
if (engine === "ours") {
  const loaded = loadDeployment(text);
  evaluate = (context) => loaded.compiled.evaluate(context as never, flagKeys ?? undefined);
} else if (engine === "core") {
  const { flags } = JSON.parse(text) as { flags: Array<{ key: string }> };
  const sorted = topologicalSort(Object.fromEntries(flags.map((f) => [f.key, f])) as never, flagKeys ?? undefined);
  const core = new EvaluationEngine();
  evaluate = (context) => core.evaluate(context as never, sorted);
} else {
  const parsed = JSON.parse(text) as object;
  evaluate = () => parsed;
}
const first = evaluate(contexts[0]!);
const coldMs = performance.now() - started;
// Warm: the same work for other users, once the flags are loaded (mean per evaluation).
const warmStarted = performance.now();
for (let i = 1; i < contexts.length; i++) evaluate(contexts[i]!);
const warmMs = (performance.now() - warmStarted) / (contexts.length - 1);
process.stdout.write(JSON.stringify({ coldMs, warmMs, results: first ? Object.keys(first).length : 0 }));
