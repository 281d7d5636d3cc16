/**
 * What the shape of a regex says about its worst case, read from its source alone (no
 * engine), so the edge can refuse to run what the control plane refuses to save: a flag
 * saved before a check existed still reaches the edge.
 */
import { repeats } from "./regex-budget.js";

/**
 * `?` quantifiers one pattern may hold. recheck measures time against the input's length, and
 * backtracking over k optional parts that can match the same text is exponential in k itself:
 * `(?:a|b)?` 24 times then 24 `a`s took V8 21 s for a fresh RegExp's first test of 24 a's
 * (k = 16: 0.7 s, 12: 63 ms, 8: 1.5 ms), and recheck calls it safe. Eight keep the usual
 * patterns (a phone number's has seven).
 */
export const MAX_OPTIONAL_PARTS = 8;

/** The `?` quantifiers of a pattern: not `(?` group syntax, lazy `*?`, escaped or in a class. */
export function optionalParts(source: string): number {
  let count = 0;
  let inClass = false;
  let afterQuantifier = false;
  for (let i = 0; i < source.length; i++) {
    const char = source[i]!;
    if (char === "\\") {
      i++;
      afterQuantifier = false;
    } else if (inClass) inClass = char !== "]";
    else if (char === "[") inClass = true;
    else if (char === "?") {
      if (!afterQuantifier && source[i - 1] !== "(") count++;
      afterQuantifier = !afterQuantifier && source[i - 1] !== "(";
      continue;
    } else {
      afterQuantifier = char === "*" || char === "+" || char === "}";
      continue;
    }
    afterQuantifier = false;
  }
  return count;
}

/** Whether the source holds a backreference (`\\1`-`\\9` or `\\k<name>`; escaped backslashes skipped). */
export function hasBackreference(source: string): boolean {
  for (let i = 0; i < source.length - 1; i++) {
    if (source[i] !== "\\") continue;
    const next = source[i + 1]!;
    if ((next >= "1" && next <= "9") || (next === "k" && source[i + 2] === "<")) return true;
    i++;
  }
  return false;
}

/**
 * Patterns whose cost no budget bounds: more optional parts than the cap (exponential in
 * their number), or a backreference beside repetition (`(.+)+\1`: the automaton checks cannot
 * model it). The edge never runs them; their conditions fail, as when a budget is spent.
 */
export const unboundedCost = (source: string): boolean =>
  optionalParts(source) > MAX_OPTIONAL_PARTS || (hasBackreference(source) && repeats(source));
