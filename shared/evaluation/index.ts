/**
 * The evaluation engine: flags + context in, variants out. Pure (no I/O, no clock),
 * so the edge, the control plane's preview and tests share it.
 *
 * `compile(flags)` does the parsing once; its `evaluate(context, flagKeys?)` gives what
 * `@amplitude/experiment-core` gives for `new EvaluationEngine().evaluate(context,
 * topologicalSort(flagsByKey, flagKeys))`, the pipeline its SDKs run.
 */

export { compile, type CompiledFlagSet, type Outcome, type ServeOptions } from "./compile.js";
export { servedJson } from "./served.js";
export * from "./flag-metadata.js";
export { USER_FIELDS, userToContext } from "./context.js";
export { murmur3 } from "./murmur3.js";
export { Operator, OPERATORS, type OperatorName } from "./operators.js";
export * from "./schema.js";
export { DependencyCycleError, topologicalSort } from "./topological-sort.js";
