/**
 * The evaluation engine: flags + context in, variants out. Pure (no I/O, no clock),
 * so the edge, the control plane's preview and tests share it.
 *
 * `evaluate(context, flags, flagKeys?)` gives what `@amplitude/experiment-core` gives
 * for `new EvaluationEngine().evaluate(context, topologicalSort(flagsByKey, flagKeys))`,
 * the pipeline its SDKs run; `compile(flags)` does the parsing once for repeated use.
 */
import { compile, type CompiledFlagSet } from "./compile.js";
import type { EvaluationContext, EvaluationFlag, EvaluationResults } from "./schema.js";

export { compile, outcomeJson, type CompiledFlagSet, type Outcome } from "./compile.js";
export * from "./flag-metadata.js";
export { USER_FIELDS, userToContext } from "./context.js";
export { murmur3 } from "./murmur3.js";
export { Operator, OPERATORS, type OperatorName } from "./operators.js";
export * from "./schema.js";
export { DependencyCycleError, topologicalSort } from "./topological-sort.js";

// Repeated calls with the same flag array reuse its compiled form.
const compiledCache = new WeakMap<readonly EvaluationFlag[], CompiledFlagSet>();

export function evaluate(
  context: EvaluationContext,
  flags: readonly EvaluationFlag[],
  flagKeys?: readonly string[],
): EvaluationResults {
  let compiled = compiledCache.get(flags);
  if (!compiled) {
    compiled = compile(flags);
    compiledCache.set(flags, compiled);
  }
  return compiled.evaluate(context, flagKeys);
}
