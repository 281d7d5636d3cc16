/**
 * Whether a flag's regex conditions can be saved, in two steps.
 *
 * regexLimitIssues (synchronous, cheap): each pattern compiles, and the flag holds at most
 * MAX_REGEX_VALUES_PER_FLAG patterns of at most MAX_REGEX_SOURCE_PER_FLAG characters in all.
 * That bounds both the check below and what the flag adds to an evaluation at the edge
 * (whose regex work is bounded per evaluation as well: shared/evaluation/regex-budget.ts).
 * inheritedRegexLimitIssues counts toward those totals the conditions the project segments
 * a flag's rules name bring in (the edge evaluates them as the flag's own).
 *
 * regexSafetyIssues (asynchronous, bounded): no pattern may take super-linear time on
 * hostile input. recheck (automata-based analysis with attack strings, the most accurate
 * ReDoS checker on npm) classifies each pattern: exponential patterns (`^(a+)+$` stalled an
 * isolate 6.4 s on 30 characters) and polynomial ones of degree 3 or more (`.*a.*b.*c`: 24 s
 * on 1,000 characters) are refused. Quadratic ones stay allowed (`\d+\.\d+`, about 1 ms on
 * the 1,000 characters the edge matches at most: shared/evaluation/operators.ts).
 *
 * The analysis runs outside the event loop: recheck's asynchronous `check` talks to its
 * native agent (a child process; a worker thread where the binary is missing). The
 * synchronous `checkSync` used before blocked every control-plane request, `/health`
 * included, for 2 s per pattern: ten `((a{1,30}){1,30}){1,3x}` froze it for 20 s. Each
 * pattern now gets at most CHECK_MS_PER_PATTERN and a flag CHECK_MS_PER_FLAG in all
 * (waiting for a free checker included: at most CONCURRENT_CHECKS run at once in the
 * process); a pattern not decided in that time is refused, naming its condition. Verdicts
 * are remembered, so saving a flag again does not check its patterns again.
 *
 * Node only: the control plane checks, the edge never does.
 */
import { hasBackreference, MAX_OPTIONAL_PARTS, optionalParts } from "../evaluation/regex-shape.js";
import { check } from "recheck";
import type { FlagInput } from "./schema.js";
import type { Issue } from "./validate.js";

/** Regex values (over every regex condition) one flag may hold. */
export const MAX_REGEX_VALUES_PER_FLAG = 50;
/** Characters over all of a flag's regex values. */
export const MAX_REGEX_SOURCE_PER_FLAG = 10_000;
const CHECK_MS_PER_PATTERN = 1000;
export const CHECK_MS_PER_FLAG = 10_000;
const CONCURRENT_CHECKS = 2;
const MAX_DEGREE = 2;
const REMEMBERED_VERDICTS = 10_000;

const REGEX_OPERATORS = new Set(["regex match", "regex does not match"]);

interface RegexValue {
  path: string[];
  pattern: string;
}

type Conditions = ReadonlyArray<{ op: string; values: readonly string[] }>;

/** Every regex value of the conditions, with its path under `prefix`. */
const conditionRegexValues = (conditions: Conditions, prefix: string[]): RegexValue[] =>
  conditions.flatMap((condition, j) =>
    REGEX_OPERATORS.has(condition.op)
      ? condition.values.map((pattern, k) => ({
          path: [...prefix, "conditions", String(j), "values", String(k)],
          pattern,
        }))
      : [],
  );

/** Every regex value of the flag, with its path in the flag. */
const regexValues = (flag: Pick<FlagInput, "segments">): RegexValue[] =>
  flag.segments.flatMap((segment, i) => conditionRegexValues(segment.conditions, ["segments", String(i)]));

/**
 * The flag's regex totals counting its rules' project segments (by key): an issue naming the
 * first rule whose segment pushes them over, when the flag's own values are within the limits
 * (regexLimitIssues names those). A rule naming an unknown segment brings nothing in.
 */
export function inheritedRegexLimitIssues(
  flag: Pick<FlagInput, "segments">,
  segments: ReadonlyMap<string, { conditions: Conditions }>,
): Issue[] {
  const own = regexValues(flag);
  let count = own.length;
  let characters = own.reduce((sum, { pattern }) => sum + pattern.length, 0);
  if (count > MAX_REGEX_VALUES_PER_FLAG || characters > MAX_REGEX_SOURCE_PER_FLAG) return [];
  for (const [i, rule] of flag.segments.entries()) {
    const segment = rule.segment === undefined ? undefined : segments.get(rule.segment);
    if (!segment) continue;
    const inherited = conditionRegexValues(segment.conditions, []);
    count += inherited.length;
    characters += inherited.reduce((sum, { pattern }) => sum + pattern.length, 0);
    const over =
      count > MAX_REGEX_VALUES_PER_FLAG
        ? `at most ${MAX_REGEX_VALUES_PER_FLAG} regex values (with its segments' it holds ${count})`
        : characters > MAX_REGEX_SOURCE_PER_FLAG
          ? `regex values of at most ${MAX_REGEX_SOURCE_PER_FLAG} characters in all (with its segments' they hold ${characters})`
          : undefined;
    if (over)
      return [
        {
          path: ["segments", String(i), "segment"],
          message:
            `a flag may hold ${over}, and segment '${rule.segment}' brings ${inherited.length} in: ` +
            "merge patterns into fewer, or use a list operator such as 'is'",
        },
      ];
  }
  return [];
}

const syntaxProblem = (pattern: string): string | undefined => {
  try {
    new RegExp(pattern);
    return undefined;
  } catch (error) {
    return `invalid regex: ${(error as Error).message}`;
  }
};

/** Patterns that do not compile, and more patterns (or characters of them) than a flag may hold. */
export function regexLimitIssues(flag: FlagInput): Issue[] {
  const values = regexValues(flag);
  const issues: Issue[] = [];
  for (const { path, pattern } of values) {
    const problem = syntaxProblem(pattern);
    if (problem) issues.push({ path, message: problem });
    const optional = problem ? 0 : optionalParts(pattern);
    if (optional > MAX_OPTIONAL_PARTS)
      issues.push({
        path,
        message:
          `regex has ${optional} optional parts (?), at most ${MAX_OPTIONAL_PARTS} are allowed: ` +
          "each can double the work of a failing match; merge them into fewer",
      });
  }
  if (values.length > MAX_REGEX_VALUES_PER_FLAG)
    issues.push({
      path: values[MAX_REGEX_VALUES_PER_FLAG]!.path,
      message:
        `a flag may hold at most ${MAX_REGEX_VALUES_PER_FLAG} regex values (this one holds ${values.length}): ` +
        "merge them into fewer patterns or use a list operator such as 'is'",
    });
  const characters = values.reduce((sum, { pattern }) => sum + pattern.length, 0);
  if (characters > MAX_REGEX_SOURCE_PER_FLAG) {
    let total = 0;
    const over = values.find(({ pattern }) => (total += pattern.length) > MAX_REGEX_SOURCE_PER_FLAG)!;
    issues.push({
      path: over.path,
      message:
        `a flag's regex values may hold at most ${MAX_REGEX_SOURCE_PER_FLAG} characters in all ` +
        `(these hold ${characters}): shorten them`,
    });
  }
  return issues;
}

/** Decided verdicts by pattern (undefined: safe); undecided ones are not kept, they depend on the load. */
const verdicts = new Map<string, string | undefined>();

function remember(pattern: string, verdict: string | undefined): void {
  if (verdicts.size >= REMEMBERED_VERDICTS) verdicts.delete(verdicts.keys().next().value!);
  verdicts.set(pattern, verdict);
}

/** A slot among the CONCURRENT_CHECKS, or undefined if none frees up before `signal` aborts. */
let running = 0;
const waiting: (() => void)[] = [];
async function acquire(signal: AbortSignal): Promise<(() => void) | undefined> {
  while (running >= CONCURRENT_CHECKS) {
    if (signal.aborted) return undefined;
    await new Promise<void>((resolve) => {
      const wake = () => {
        signal.removeEventListener("abort", wake);
        const at = waiting.indexOf(wake);
        if (at >= 0) waiting.splice(at, 1);
        resolve();
      };
      waiting.push(wake);
      signal.addEventListener("abort", wake);
    });
  }
  if (signal.aborted) return undefined;
  running++;
  return () => {
    running--;
    waiting[0]?.();
  };
}

const aborted = (signal: AbortSignal) =>
  new Promise<{ status: "unknown"; error: undefined }>((resolve) => {
    const undecided = () => resolve({ status: "unknown", error: undefined });
    if (signal.aborted) undecided();
    signal.addEventListener("abort", undecided, { once: true });
  });

type Verdict = { decided: true; problem: string | undefined } | { decided: false };

async function analyse(pattern: string, deadline: number, perPatternMs: number): Promise<Verdict> {
  if (verdicts.has(pattern)) return { decided: true, problem: verdicts.get(pattern) };
  const signal = AbortSignal.timeout(Math.max(0, deadline - Date.now()));
  const release = await acquire(signal);
  if (!release) return { decided: false };
  try {
    const timeout = Math.min(perPatternMs, deadline - Date.now());
    if (timeout <= 0) return { decided: false };
    // Raced with the deadline too: an agent that never answers the cancel must not hold the request.
    // A checker that fails (its agent gone) decides nothing: the save is refused, never a 500.
    const diagnostics = await Promise.race([
      check(pattern, "", { timeout, signal }).catch(() => ({ status: "unknown" as const, error: undefined })),
      aborted(signal),
    ]);
    let problem: string | undefined;
    if (diagnostics.status === "unknown") {
      const kind = diagnostics.error?.kind;
      if (kind === undefined || kind === "timeout" || kind === "cancel") return { decided: false };
      // The checker cannot analyse this pattern at all (a feature it does not support): that does not change.
      problem = `regex is too complex to check for super-linear time (${kind}): simplify it`;
    } else if (diagnostics.status === "safe" && diagnostics.checker === "fuzz" && hasBackreference(pattern)) {
      // The automaton cannot model backreferences, so recheck falls back to fuzzing, which calls
      // `(.+)+\\1` safe: V8 took 11 s on 24 distinct characters. A fuzzer finding no attack proves nothing here.
      problem =
        "regex uses a backreference the checker cannot analyse for super-linear time: " +
        "rewrite it without the backreference";
    } else if (diagnostics.status === "vulnerable") {
      const { complexity } = diagnostics;
      if (complexity.type === "exponential")
        problem =
          `regex can take exponential time on some inputs (for example ${JSON.stringify(diagnostics.attack.string.slice(0, 40))}): ` +
          "rewrite it without nested or overlapping repetition";
      else if (complexity.type === "polynomial" && complexity.degree > MAX_DEGREE)
        problem =
          `regex can take time growing as the ${complexity.degree}th power of the input: ` +
          "rewrite it with fewer overlapping repetitions";
    }
    remember(pattern, problem);
    return { decided: true, problem };
  } finally {
    release();
  }
}

/**
 * Patterns that can take super-linear time, or that could not be shown not to within the
 * time allowed (CHECK_MS_PER_PATTERN each, `budgetMs` for the flag). Expects a flag that
 * passed regexLimitIssues; patterns that do not compile are skipped (that check names them).
 * Stops at the first refused pattern: the save fails either way, and the rest would only
 * spend more of the checker's time.
 */
export async function regexSafetyIssues(
  flag: FlagInput,
  budgetMs = CHECK_MS_PER_FLAG,
  /** Tests of the verdicts themselves allow more, so a loaded machine cannot turn a verdict into "undecided". */
  perPatternMs = CHECK_MS_PER_PATTERN,
): Promise<Issue[]> {
  const deadline = Date.now() + budgetMs;
  for (const { path, pattern } of regexValues(flag)) {
    if (syntaxProblem(pattern)) continue;
    const verdict = await analyse(pattern, deadline, perPatternMs);
    if (!verdict.decided)
      return [
        {
          path,
          message:
            `regex could not be checked for super-linear time within the ${perPatternMs / 1000} s allowed ` +
            `per pattern (${budgetMs / 1000} s per flag): simplify it`,
        },
      ];
    if (verdict.problem) return [{ path, message: verdict.problem }];
  }
  return [];
}
