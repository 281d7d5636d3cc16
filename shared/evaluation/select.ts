/**
 * Selectors are paths into the evaluation target `{ context, result }`:
 * `["context", "user", "user_id"]`, `["result", "parent-flag", "key"]`. Compiling one
 * once gives a closure that walks the path with no array iteration per request.
 * `undefined` and `null` both come back as `undefined`, as the reference engine does.
 * The target also carries the evaluation's regex budget, under a symbol no path can name.
 *
 * A context path is read once per evaluation: a set's flags read the same few paths over
 * and over (35 of the bench's 50 flags bucket by `user_id`), and each read was a walk of
 * keyed loads that V8 cannot specialise (one closure shape for every path). A compiled
 * selector keeps the value it read in a slot of its path, stamped with the evaluation's
 * number (`EVALUATION` on the target, from `nextEvaluation`); `result` paths change
 * during an evaluation and are always walked.
 */
import type { REGEX_BUDGET, RegexBudget } from "./regex-budget.js";

/** Where the evaluation's number rides on the target (see nextEvaluation). */
export const EVALUATION: unique symbol = Symbol("evaluation");

export type Target = {
  context: unknown;
  result: Record<string, unknown>;
  [REGEX_BUDGET]?: RegexBudget;
  [EVALUATION]?: number;
};
export type Selector = (target: Target) => unknown;

const step = (value: unknown, key: string): unknown =>
  value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined;

/** What `compileSelector(path)(target)` gives, without compiling: for a path walked once. */
export function selectValue(target: Target, path: readonly string[]): unknown {
  if (path.length === 0) return undefined;
  let value: unknown = target;
  for (const key of path) {
    if (!key) return undefined;
    value = step(value, key);
  }
  return value ?? undefined;
}

/** At most this many memoised names of each kind (context paths, conditions) per isolate. */
export const MAX_SLOTS = 4096;

/**
 * Values computed at most once per evaluation, each under a name: a slot per name, shared by
 * every compiled set of the isolate (the same name must always compute the same value from
 * the same context), stamped with the evaluation's number. Bounded: past MAX_SLOTS names, the
 * names start over in fresh slots. Closures compiled before keep the slots they captured (so
 * a set still in use keeps memoising, and never shares a slot with a later name); the old
 * slots are freed with the last set using them. A long-lived isolate serving many
 * deployments holds at most MAX_SLOTS names, and the sets it compiles now memoise.
 */
class PerEvaluation {
  private slotOf = new Map<string, number>();
  private stamps = new Float64Array(MAX_SLOTS); // 0: never read; evaluations are numbered from 1
  private values: unknown[] = new Array(MAX_SLOTS).fill(undefined);

  memoize<T>(name: string, compute: (target: Target) => T): (target: Target) => T {
    let slot = this.slotOf.get(name);
    if (slot === undefined) {
      if (this.slotOf.size >= MAX_SLOTS) {
        this.slotOf = new Map();
        this.stamps = new Float64Array(MAX_SLOTS);
        this.values = new Array(MAX_SLOTS).fill(undefined);
      }
      this.slotOf.set(name, (slot = this.slotOf.size));
    }
    const at = slot;
    const { stamps, values } = this;
    return (t) => {
      const evaluation = t[EVALUATION];
      if (evaluation === undefined) return compute(t);
      if (stamps[at] === evaluation) return values[at] as T;
      const value = compute(t);
      stamps[at] = evaluation;
      values[at] = value;
      return value;
    };
  }
}

let evaluations = 0;

/** A new evaluation's number: values read under an earlier number are read again. (Doubles: never wraps.) */
export const nextEvaluation = (): number => ++evaluations;

const contextPaths = new PerEvaluation();
const perContext = new PerEvaluation();

/** Whether a selector reads the context (memoisable per evaluation), not a result that changes during one. */
export const readsContext = (path: readonly string[]): boolean => path[0] === "context" && path.length >= 3;

export function compileSelector(path: readonly string[]): Selector {
  const walk = walker(path);
  if (!readsContext(path)) return walk;
  return contextPaths.memoize(JSON.stringify(path), walk); // the name is unambiguous, whatever the elements hold
}

/**
 * `compute` (a function of the context alone, never of results) run at most once per
 * evaluation for every use under the same `name`: for the conditions many flags repeat.
 */
export const oncePerEvaluation = <T>(name: string, compute: (target: Target) => T): ((target: Target) => T) =>
  perContext.memoize(name, compute);

function walker(path: readonly string[]): Selector {
  // An empty path element makes the whole selection undefined in the reference engine.
  if (path.length === 0 || path.some((element) => !element)) return () => undefined;
  const [a, b, c, d] = path;
  switch (path.length) {
    case 1:
      return (t) => step(t, a!) ?? undefined;
    case 2:
      return (t) => step(step(t, a!), b!) ?? undefined;
    case 3:
      return (t) => step(step(step(t, a!), b!), c!) ?? undefined;
    case 4:
      return (t) => step(step(step(step(t, a!), b!), c!), d!) ?? undefined;
    default:
      return (t) => selectValue(t, path);
  }
}
