/**
 * In-process evaluation: the 50-flag workload for 10,000 users with our compiled
 * engine, @amplitude/experiment-core and GrowthBook, in the same process. One
 * "evaluation" is all 50 flags for one user. Each engine gets what it would have in a
 * server: flags parsed and sorted once, the user's context built once.
 */
import { EvaluationEngine, topologicalSort } from "@amplitude/experiment-core";
import { GrowthBookClient } from "@growthbook/growthbook";
import { isDeepStrictEqual } from "node:util";
import { compile, type EvaluationFlag, userToContext } from "../shared/evaluation/index.js";
import { prefixedMurmur3 } from "../shared/evaluation/murmur3.js";
import { percentile, round } from "./percentiles.js";
import { createWorkload, growthBookAttributes } from "./workload.js";

export interface EngineResult {
  engine: string;
  evaluationsPerSecond: number;
  medianMicros: number;
  p99Micros: number;
}

const ROUNDS = 5;

/** Times `evaluate` per user; the best of several rounds, after a warm-up round. */
function measure(engine: string, count: number, evaluate: (index: number) => unknown): EngineResult {
  let sink = 0;
  for (let i = 0; i < count; i++) if (evaluate(i)) sink++; // warm-up: let the JIT settle
  let best: EngineResult | undefined;
  for (let round_ = 0; round_ < ROUNDS; round_++) {
    const durations = new Float64Array(count);
    const started = process.hrtime.bigint();
    for (let i = 0; i < count; i++) {
      const t0 = process.hrtime.bigint();
      if (evaluate(i)) sink++;
      durations[i] = Number(process.hrtime.bigint() - t0) / 1000;
    }
    const totalSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const sorted = Array.from(durations).sort((a, b) => a - b);
    const result = {
      engine,
      evaluationsPerSecond: Math.round(count / totalSeconds),
      medianMicros: round(percentile(sorted, 50)),
      p99Micros: round(percentile(sorted, 99)),
    };
    if (!best || result.evaluationsPerSecond > best.evaluationsPerSecond) best = result;
  }
  if (sink < 0) console.log(sink);
  return best!;
}

/**
 * The hash bound: what bucketing alone costs, the floor of any engine that gives these
 * users these variants. For each flag, its bucketing id (user_id or device_id, read off the
 * context) hashed with its salt by our prefixed murmur3 (the salt's blocks mixed once, as
 * the engine does); no targeting, no ranges, no results.
 */
function hashBound(flags: readonly EvaluationFlag[]): (context: { user?: Record<string, unknown> }) => number {
  const buckets = flags.flatMap((flag) =>
    flag.segments.flatMap((segment) =>
      segment.bucket ? [{ field: segment.bucket.selector[2]!, hash: prefixedMurmur3(`${segment.bucket.salt}/`) }] : [],
    ),
  );
  return (context) => {
    let sum = 0;
    const user = context.user!;
    for (let i = 0; i < buckets.length; i++) sum += buckets[i]!.hash(user[buckets[i]!.field] as string);
    return sum;
  };
}

export function benchEvaluation(userCount = 10_000): { results: EngineResult[]; flags: number; users: number } {
  const workload = createWorkload(userCount);
  const contexts = workload.users.map((user) => userToContext(user as unknown as Record<string, unknown>));

  const ours = compile(workload.flags);
  const engine = new EvaluationEngine();
  const sorted = topologicalSort(Object.fromEntries(workload.flags.map((f) => [f.key, f])) as never);
  const growthBook = new GrowthBookClient().initSync({ payload: { features: workload.growthBookFeatures as never } });
  const attributes = workload.users.map(growthBookAttributes);
  const featureKeys = Object.keys(workload.growthBookFeatures);

  // The comparison only means something if both Amplitude-model engines agree.
  for (let i = 0; i < contexts.length; i++) {
    if (!isDeepStrictEqual({ ...ours.evaluate(contexts[i]!) }, engine.evaluate(contexts[i] as never, sorted))) {
      throw new Error(`Parity broken on the benchmark workload for user ${i}`);
    }
  }

  const bound = hashBound(workload.flags);
  const results = [
    measure("ours (compiled)", contexts.length, (i) => ours.evaluate(contexts[i]!)),
    // What the edge's routes run (CompiledFlagSet.serve: visible flags' outcomes, no result object).
    measure("ours, served (the edge's routes)", contexts.length, (i) => ours.serve(contexts[i]!).length),
    measure("hash bound (bucketing hashes only)", contexts.length, (i) => bound(contexts[i] as never)),
    measure("@amplitude/experiment-core", contexts.length, (i) => engine.evaluate(contexts[i] as never, sorted)),
    measure("@growthbook/growthbook", contexts.length, (i) => {
      const user = { attributes: attributes[i]! };
      let on = 0;
      for (const key of featureKeys) if (growthBook.evalFeature(key, user).on) on++;
      return on;
    }),
  ];
  return { results, flags: workload.flags.length, users: contexts.length };
}
