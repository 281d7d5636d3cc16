/**
 * Selectors are paths into the evaluation target `{ context, result }`:
 * `["context", "user", "user_id"]`, `["result", "parent-flag", "key"]`. Compiling one
 * once gives a closure that walks the path with no array iteration per request.
 * `undefined` and `null` both come back as `undefined`, as the reference engine does.
 * The target also carries the evaluation's regex budget, under a symbol no path can name.
 */
import type { REGEX_BUDGET, RegexBudget } from "./regex-budget.js";

export type Target = { context: unknown; result: Record<string, unknown>; [REGEX_BUDGET]?: RegexBudget };
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

export function compileSelector(path: readonly string[]): Selector {
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
