/**
 * One-shot evaluation for table tests: compiles the flag array once (cached by identity) and
 * evaluates. The services compile a flag set once and keep the compiled form themselves.
 */
import { compile, type CompiledFlagSet } from "./compile.js";
import type { EvaluationContext, EvaluationFlag, EvaluationResults } from "./schema.js";

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
