/**
 * Whether a regex condition can be saved: it must compile, and it must not take
 * super-linear time on hostile input. recheck (automata-based analysis with attack
 * strings, the most accurate ReDoS checker on npm) classifies the pattern: exponential
 * patterns (`^(a+)+$` stalled an isolate 6.4 s on 30 characters) and polynomial ones of
 * degree 3 or more (`.*a.*b.*c`: 24 s on 1,000 characters) are refused. Quadratic ones stay
 * allowed (`\d+\.\d+`, about 1 ms on the 1,000 characters the edge matches at most:
 * shared/evaluation/operators.ts). Node only: the control plane checks, the edge never does.
 */
import { checkSync } from "recheck";

const MAX_DEGREE = 2;

/** Why the pattern cannot be saved, or undefined when it can. */
export function regexProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern);
  } catch (error) {
    return `invalid regex: ${(error as Error).message}`;
  }
  const diagnostics = checkSync(pattern, "", { timeout: 2000 });
  if (diagnostics.status === "vulnerable") {
    const { complexity } = diagnostics;
    if (complexity.type === "exponential")
      return (
        `regex can take exponential time on some inputs (for example ${JSON.stringify(attackOf(diagnostics))}): ` +
        "rewrite it without nested or overlapping repetition"
      );
    if (complexity.type === "polynomial" && complexity.degree > MAX_DEGREE)
      return (
        `regex can take time growing as the ${complexity.degree}th power of the input: ` +
        "rewrite it with fewer overlapping repetitions"
      );
  }
  if (diagnostics.status === "unknown")
    return `regex is too complex to check for super-linear time (${diagnostics.error.kind}): simplify it`;
  return undefined;
}

function attackOf(diagnostics: { attack: { string: string } }): string {
  return diagnostics.attack.string.slice(0, 40);
}
