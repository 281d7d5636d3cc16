/**
 * How much regex work one evaluation may do. The control plane refuses exponential and
 * cubic patterns, but a quadratic one still costs about n² steps on an n-character value
 * (`.*chrome.*` takes 1.3 ms on 1,000 characters), and a deployment may hold thousands of
 * them: 3 segments × 1,000 such patterns made one request with a 1,000-character property
 * cost 1.6 s of isolate CPU, and eight of them delayed every other request on the isolate
 * by 12.8 s. So each evaluation carries a budget of work units; each regex test is charged
 * an estimate of its worst case before it runs, and a test the budget cannot pay is not run:
 * its condition fails (whether it reads `regex match` or `regex does not match`), the rest
 * of the evaluation goes on.
 *
 * The estimate is one unit per character for a pattern without repetition (`beta|gamma`:
 * linear) and the square of the length for one with it (`*`, `+` or `{`: the worst case the
 * control plane lets through). At about 1.3 ns per unit (measured on `\d+\.\d+x`,
 * `.*chrome.*` and `a*b` at 1,000 characters), the budget is about 10 ms of CPU per
 * evaluation, while 200 tests of a repeating pattern on a 200-character user agent, or any
 * number on short properties, stay well inside it.
 */

/** Work units per evaluation: about 10 ms of CPU at the worst case the control plane accepts. */
export const REGEX_WORK_PER_EVALUATION = 8_000_000;

/** What is left of one evaluation's regex work; shared by every condition of that evaluation. */
export interface RegexBudget {
  remaining: number;
}

/** Where the budget rides on the evaluation target: a symbol, so no selector path can read it. */
export const REGEX_BUDGET: unique symbol = Symbol("regexBudget");

export const newRegexBudget = (units = REGEX_WORK_PER_EVALUATION): RegexBudget => ({ remaining: units });

/** Whether matching this pattern can backtrack over repetitions (conservatively: any `*`, `+` or `{`). */
export function repeats(source: string): boolean {
  // A loop, not /[*+{]/: a fresh isolate compiles each regex it first tests (see semver.ts).
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 42 /* * */ || c === 43 /* + */ || c === 123 /* { */) return true;
  }
  return false;
}

/** The worst-case work of one test of a pattern on a value of `length` characters. */
export const regexCost = (repeating: boolean, length: number): number =>
  repeating ? (length + 1) * (length + 1) : length + 1;

/**
 * Takes `cost` from the budget if it can pay it, saying whether it did. A missing budget
 * (a predicate called outside an evaluation, as in unit tests) pays everything.
 */
export function spend(budget: RegexBudget | undefined, cost: number): boolean {
  if (cost === Number.POSITIVE_INFINITY) return false; // never payable, budget or not (regex-shape.ts)
  if (budget === undefined) return true;
  if (cost > budget.remaining) return false;
  budget.remaining -= cost;
  return true;
}
