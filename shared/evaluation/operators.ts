/**
 * Condition operators of the evaluation model, compiled once into predicates.
 *
 * The semantics are those of `@amplitude/experiment-core` (the parity tests compare
 * the two on random inputs); what changes is when work happens: filter values are
 * parsed (numbers, versions, regexes, lower-cased copies, sets) at compile time,
 * never per request.
 *
 * Deliberate differences: an invalid regex never matches (and `regex does not match`
 * therefore always matches a present value), where the reference engine throws and
 * loses every flag of the request; and no value longer than MAX_REGEX_INPUT characters
 * matches a regex (so `regex does not match` holds for it). A backtracking regex costs up
 * to n² steps on an n-character value even when the control plane has refused
 * exponential and cubic patterns: 1,000 characters bound that to about a millisecond,
 * where a hostile user property could otherwise stall the isolate and every request on it.
 * And an evaluation's regex tests share a budget (regex-budget.ts): once it is spent, a regex
 * condition fails, whichever of the two regex operators it uses.
 */
import { unboundedCost } from "./regex-shape.js";
import { coerceString, coerceStringArray } from "./coerce.js";
import { REGEX_BUDGET, type RegexBudget, regexCost, repeats, spend } from "./regex-budget.js";
import type { EvaluationCondition } from "./schema.js";
import { compileSelector, oncePerEvaluation, readsContext, selectValue, type Target } from "./select.js";
import { compareVersions, parseVersion, type SemanticVersion } from "./semver.js";

export const Operator = {
  IS: "is",
  IS_NOT: "is not",
  CONTAINS: "contains",
  DOES_NOT_CONTAIN: "does not contain",
  LESS_THAN: "less",
  LESS_THAN_EQUALS: "less or equal",
  GREATER_THAN: "greater",
  GREATER_THAN_EQUALS: "greater or equal",
  VERSION_LESS_THAN: "version less",
  VERSION_LESS_THAN_EQUALS: "version less or equal",
  VERSION_GREATER_THAN: "version greater",
  VERSION_GREATER_THAN_EQUALS: "version greater or equal",
  SET_IS: "set is",
  SET_IS_NOT: "set is not",
  SET_CONTAINS: "set contains",
  SET_DOES_NOT_CONTAIN: "set does not contain",
  SET_CONTAINS_ANY: "set contains any",
  SET_DOES_NOT_CONTAIN_ANY: "set does not contain any",
  REGEX_MATCH: "regex match",
  REGEX_DOES_NOT_MATCH: "regex does not match",
} as const;

export type OperatorName = (typeof Operator)[keyof typeof Operator];
export const OPERATORS: readonly OperatorName[] = Object.values(Operator);

export type Predicate = (target: Target) => boolean;
/** `budget` is the evaluation's regex budget: only the regex operators read it. */
type StringMatcher = (value: string, budget?: RegexBudget) => boolean;
type SetMatcher = (values: string[]) => boolean;

const SET_OPERATORS = new Set<string>([
  Operator.SET_IS,
  Operator.SET_IS_NOT,
  Operator.SET_CONTAINS,
  Operator.SET_DOES_NOT_CONTAIN,
  Operator.SET_CONTAINS_ANY,
  Operator.SET_DOES_NOT_CONTAIN_ANY,
]);

/** Operators that match a missing value when the filter lists `(none)`; the negated ones do the reverse. */
const MATCH_NONE = new Set<string>([
  Operator.IS,
  Operator.CONTAINS,
  Operator.LESS_THAN,
  Operator.LESS_THAN_EQUALS,
  Operator.GREATER_THAN,
  Operator.GREATER_THAN_EQUALS,
  Operator.VERSION_LESS_THAN,
  Operator.VERSION_LESS_THAN_EQUALS,
  Operator.VERSION_GREATER_THAN,
  Operator.VERSION_GREATER_THAN_EQUALS,
  Operator.SET_IS,
  Operator.SET_CONTAINS,
  Operator.SET_CONTAINS_ANY,
]);
const NEGATED_MATCH_NONE = new Set<string>([
  Operator.IS_NOT,
  Operator.DOES_NOT_CONTAIN,
  Operator.SET_DOES_NOT_CONTAIN,
  Operator.SET_DOES_NOT_CONTAIN_ANY,
]);

const isBooleanText = (text: string): boolean => {
  const lower = text.toLowerCase();
  return lower === "true" || lower === "false";
};

/** `is`: exact match, except that booleans compare case-insensitively when the filter holds one. */
function matchesIs(value: string, filters: readonly string[]): boolean {
  if (filters.some(isBooleanText) && isBooleanText(value)) {
    const lower = value.toLowerCase();
    return filters.some((filter) => filter.toLowerCase() === lower);
  }
  return filters.includes(value);
}

function compileIs(filters: readonly string[]): StringMatcher {
  const exact = new Set(filters);
  if (!filters.some(isBooleanText)) return (value) => exact.has(value);
  const lowered = new Set(filters.map((filter) => filter.toLowerCase()));
  return (value) => (isBooleanText(value) ? lowered.has(value.toLowerCase()) : exact.has(value));
}

// The last string lowered: one evaluation tests the same property against several flags' filters.
let lastText = "";
let lastLower = "";
const lowerCase = (text: string): string => {
  if (text !== lastText) {
    lastLower = text.toLowerCase();
    lastText = text;
  }
  return lastLower;
};

function compileContains(filters: readonly string[]): StringMatcher {
  const lowered: string[] = [];
  for (const filter of filters) lowered.push(filter.toLowerCase());
  return (value) => {
    const lower = lowerCase(value);
    for (let i = 0; i < lowered.length; i++) if (lower.includes(lowered[i]!)) return true;
    return false;
  };
}

/**
 * The ordering operators, one entry each: what they order by and which orders they accept
 * (negative, zero, positive; NaN when the two are unordered, which no operator accepts).
 */
const ORDERINGS = new Map<string, { by: "number" | "version"; accepts: (order: number) => boolean }>([
  [Operator.LESS_THAN, { by: "number", accepts: (order) => order < 0 }],
  [Operator.LESS_THAN_EQUALS, { by: "number", accepts: (order) => order <= 0 }],
  [Operator.GREATER_THAN, { by: "number", accepts: (order) => order > 0 }],
  [Operator.GREATER_THAN_EQUALS, { by: "number", accepts: (order) => order >= 0 }],
  [Operator.VERSION_LESS_THAN, { by: "version", accepts: (order) => order < 0 }],
  [Operator.VERSION_LESS_THAN_EQUALS, { by: "version", accepts: (order) => order <= 0 }],
  [Operator.VERSION_GREATER_THAN, { by: "version", accepts: (order) => order > 0 }],
  [Operator.VERSION_GREATER_THAN_EQUALS, { by: "version", accepts: (order) => order >= 0 }],
]);

/** JavaScript's own `<`/`>` as an order, which is what the reference does for strings and for NaN. */
const rawOrder = (a: string | number, b: string | number): number =>
  a < b ? -1 : a > b ? 1 : a === b ? 0 : Number.NaN;

/** Numeric operators: `Number()` on both sides (so NaN never matches), any filter may match. */
function compileNumeric(accepts: (order: number) => boolean, filters: readonly string[]): StringMatcher {
  const numbers = filters.map(Number);
  return (value) => {
    const number = Number(value);
    for (let i = 0; i < numbers.length; i++) if (accepts(rawOrder(number, numbers[i]!))) return true;
    return false;
  };
}

/** Version operators; when either side does not parse as a version, fall back to string order. */
function compileVersion(accepts: (order: number) => boolean, filters: readonly string[]): StringMatcher {
  const versions: SemanticVersion[] = [];
  for (const filter of filters) {
    const version = parseVersion(filter);
    if (version) versions.push(version);
  }
  const byString: StringMatcher = (value) => {
    for (const filter of filters) if (accepts(rawOrder(value, filter))) return true;
    return false;
  };
  if (versions.length === 0) return byString;
  return (value) => {
    const version = parseVersion(value);
    if (!version) return byString(value);
    for (let i = 0; i < versions.length; i++) if (accepts(compareVersions(version, versions[i]!))) return true;
    return false;
  };
}

export const MAX_REGEX_INPUT = 1000;

/**
 * `regex match` (`negated`: `regex does not match`): whether any pattern matches, each test
 * paid from the budget first. A test the budget cannot pay fails the condition outright
 * rather than being negated, so a spent budget never makes `does not match` hold.
 */
function compileRegex(filters: readonly string[], negated: boolean): StringMatcher {
  const patterns: { regex: RegExp; cost: (length: number) => number }[] = [];
  for (const filter of filters) {
    try {
      const regex = new RegExp(filter);
      // A pattern no budget bounds is never run: its test cannot be paid, so its condition fails (regex-shape.ts).
      const repeating = repeats(filter);
      const cost = unboundedCost(filter) ? () => Number.POSITIVE_INFINITY : (n: number) => regexCost(repeating, n);
      patterns.push({ regex, cost });
    } catch {
      // An invalid pattern matches nothing (see the header comment).
    }
  }
  return (value, budget) => {
    if (value.length > MAX_REGEX_INPUT) return negated;
    for (const { regex, cost } of patterns) {
      if (!spend(budget, cost(value.length))) return false;
      if (regex.test(value)) return !negated;
    }
    return negated;
  };
}

const not =
  <T>(matcher: (value: T) => boolean) =>
  (value: T): boolean =>
    !matcher(value);

function compileStringMatcher(op: string, filters: readonly string[]): StringMatcher {
  const ordering = ORDERINGS.get(op); // a Map: an operator named like an Object property is no ordering
  if (ordering)
    return ordering.by === "number"
      ? compileNumeric(ordering.accepts, filters)
      : compileVersion(ordering.accepts, filters);
  switch (op) {
    case Operator.IS:
      return compileIs(filters);
    case Operator.IS_NOT:
      return not(compileIs(filters));
    case Operator.CONTAINS:
      return compileContains(filters);
    case Operator.DOES_NOT_CONTAIN:
      return not(compileContains(filters));
    case Operator.REGEX_MATCH:
      return compileRegex(filters, false);
    case Operator.REGEX_DOES_NOT_MATCH:
      return compileRegex(filters, true);
    default:
      return () => false;
  }
}

/** Every filter value is in the property's set (`is` semantics per element, lengths compared first). */
function containsAll(values: string[], filters: readonly string[]): boolean {
  if (values.length < filters.length) return false;
  return filters.every((filter) => matchesIs(filter, values));
}

const containsAny = (values: string[], filters: readonly string[]): boolean =>
  filters.some((filter) => matchesIs(filter, values));

function compileSetMatcher(op: string, filters: readonly string[]): SetMatcher {
  const filterSet = new Set(filters);
  const equals: SetMatcher = (values) => {
    const valueSet = new Set(values);
    if (valueSet.size !== filterSet.size) return false;
    for (const filter of filterSet) if (!valueSet.has(filter)) return false;
    return true;
  };
  switch (op) {
    case Operator.SET_IS:
      return equals;
    case Operator.SET_IS_NOT:
      return not(equals);
    case Operator.SET_CONTAINS:
      return (values) => containsAll(values, filters);
    case Operator.SET_DOES_NOT_CONTAIN:
      return (values) => !containsAll(values, filters);
    case Operator.SET_CONTAINS_ANY:
      return (values) => containsAny(values, filters);
    default:
      return (values) => !containsAny(values, filters);
  }
}

/** Conditions whose name (selector, operator, values as JSON) is longer than this are not memoised: big lists. */
const MAX_MEMOISED_CONDITION = 1024;

/**
 * A condition as a predicate. With `memoise` (a flag compiled to be evaluated many times), a
 * condition on the context is decided once per evaluation however many flags repeat it
 * (`country is US`, `email contains @example.com`): the later uses read the first's answer
 * (select.ts oncePerEvaluation). A regex condition's answer is the one its first use paid for.
 */
export function compileCondition(condition: EvaluationCondition, memoise = false): Predicate {
  const predicate = conditionPredicate(condition);
  if (!memoise || !readsContext(condition.selector)) return predicate;
  const name = JSON.stringify([condition.selector, condition.op, condition.values]);
  return name.length > MAX_MEMOISED_CONDITION ? predicate : oncePerEvaluation(name, predicate);
}

/** What a condition gives for a missing value: `(none)` among the filters matches it, or (negated) does not. */
function missingMatches(op: string, filters: readonly string[]): boolean {
  const containsNone = filters.includes("(none)");
  return MATCH_NONE.has(op) ? containsNone : NEGATED_MATCH_NONE.has(op) ? !containsNone : false;
}

/**
 * `compileCondition(condition)(target)` without compiling: for a condition decided once (a
 * flag's first evaluation, compile.ts interpretFlag). A cold isolate pays for every function
 * it runs the first time (V8 parses and compiles each on its first call), and the compiled
 * form's selector, memo and predicate closures are a dozen of them: this walks the path
 * and coerces the value in one function, and only the matcher is made (the same one the
 * compiled form uses, so both give the same answers).
 */
export function matchesCondition(condition: EvaluationCondition, target: Target): boolean {
  const { op, values: filters } = condition;
  const value = selectValue(target, condition.selector);
  if (value === undefined) return missingMatches(op, filters);
  if (SET_OPERATORS.has(op)) {
    const list = coerceStringArray(value);
    return list ? compileSetMatcher(op, filters)(list) : false;
  }
  const match = compileStringMatcher(op, filters);
  const budget = target[REGEX_BUDGET];
  if (typeof value === "string" && value.charCodeAt(0) !== 91 /* [ */) return match(value, budget);
  const list = coerceStringArray(value);
  if (list) {
    for (const item of list) if (match(item, budget)) return true;
    return false;
  }
  const text = coerceString(value);
  return text !== undefined && match(text, budget);
}

function conditionPredicate(condition: EvaluationCondition): Predicate {
  const { op, values: filters } = condition;
  const select = compileSelector(condition.selector);
  const onMissing = missingMatches(op, filters);

  if (SET_OPERATORS.has(op)) {
    const matchSet = compileSetMatcher(op, filters);
    return (target) => {
      const value = select(target);
      if (value === undefined) return onMissing;
      const list = coerceStringArray(value);
      return list ? matchSet(list) : false;
    };
  }

  const matchString = compileStringMatcher(op, filters);
  if (op === Operator.REGEX_MATCH || op === Operator.REGEX_DOES_NOT_MATCH) {
    // The same as below, paying from the evaluation's budget; kept apart so other operators do not read it.
    return (target) => {
      const value = select(target);
      if (value === undefined) return onMissing;
      const budget = target[REGEX_BUDGET];
      if (typeof value === "string" && value.charCodeAt(0) !== 91 /* [ */) return matchString(value, budget);
      const list = coerceStringArray(value);
      if (list) return list.some((item) => matchString(item, budget));
      const text = coerceString(value);
      return text !== undefined && matchString(text, budget);
    };
  }
  return (target) => {
    const value = select(target);
    if (value === undefined) return onMissing;
    // Strings that cannot be JSON arrays (the common case) skip the list coercion.
    if (typeof value === "string" && value.charCodeAt(0) !== 91 /* [ */) return matchString(value);
    const list = coerceStringArray(value);
    if (list) return list.some((item) => matchString(item));
    const text = coerceString(value);
    return text !== undefined && matchString(text);
  };
}
