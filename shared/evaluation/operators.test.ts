import { EvaluationEngine } from "@amplitude/experiment-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileCondition, Operator, type OperatorName, OPERATORS } from "./operators.js";

const engine = new EvaluationEngine() as unknown as { matchCondition(target: object, condition: object): boolean };

// A small pool, so that property values and filter values collide often.
const TOKENS = [
  "Pro",
  "pro",
  "PRO",
  "true",
  "TRUE",
  "false",
  "(none)",
  "1",
  "01",
  "1.0",
  "2",
  "1.2.3",
  "1.10.0",
  "1.2.3-rc",
  "",
  "é",
  "a",
  "A",
];
const token = fc.constantFrom(...TOKENS);
const propertyValue = fc.oneof(
  token,
  fc.array(token, { maxLength: 5 }),
  fc.array(token, { maxLength: 3 }).map((list) => JSON.stringify(list)),
  fc.constantFrom(null, undefined, 1, 2, true, false, 0, { a: 1 }, [1, [2]], NaN),
);

describe("compiled operators", () => {
  it("match exactly as the reference engine does, condition by condition", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...OPERATORS),
        fc.array(token, { maxLength: 4 }),
        propertyValue,
        (op, values, value) => {
          const condition = { selector: ["context", "user", "p"], op, values };
          const target = { context: { user: { p: value } }, result: {} };
          expect(compileCondition(condition)(target)).toBe(engine.matchCondition(target, condition));
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it("treat an invalid regex as matching nothing instead of throwing", () => {
    const target = { context: { user: { p: "[abc" } }, result: {} };
    expect(
      compileCondition({ selector: ["context", "user", "p"], op: Operator.REGEX_MATCH, values: ["[", "^\\[a"] })(
        target,
      ),
    ).toBe(true);
    expect(
      compileCondition({ selector: ["context", "user", "p"], op: Operator.REGEX_MATCH, values: ["("] })(target),
    ).toBe(false);
    expect(
      compileCondition({ selector: ["context", "user", "p"], op: Operator.REGEX_DOES_NOT_MATCH, values: ["("] })(
        target,
      ),
    ).toBe(true);
  });

  it("match nothing, and never throw, for an operator they do not know (named like an Object property or not)", () => {
    const target = { context: { user: { p: "3", list: ["a"] } }, result: {} };
    for (const op of ["constructor", "__proto__", "toString", "hasOwnProperty", "less than", ""]) {
      for (const selector of [
        ["context", "user", "p"],
        ["context", "user", "list"],
        ["context", "user", "missing"],
      ]) {
        expect(compileCondition({ selector, op: op as OperatorName, values: ["1", "(none)"] })(target)).toBe(false);
      }
    }
  });

  it("never spends more than about a millisecond on a regex, however long the value", () => {
    // Quadratic patterns may be saved (regex-safety.ts); a value beyond 1,000 characters
    // matches no regex, so a 1 MB user property cannot stall the isolate.
    const quadratic = compileCondition({
      selector: ["context", "user", "p"],
      op: Operator.REGEX_MATCH,
      values: ["\\d+\\.\\d+x"],
    });
    const hostile = { context: { user: { p: "1".repeat(1_000_000) } }, result: {} };
    const started = performance.now();
    expect(quadratic(hostile)).toBe(false);
    // Refused by length, at once; the quadratic match itself would take minutes. Loose for loaded machines.
    expect(performance.now() - started).toBeLessThan(1000);
    expect(
      compileCondition({ selector: ["context", "user", "p"], op: Operator.REGEX_DOES_NOT_MATCH, values: ["x"] })(
        hostile,
      ),
    ).toBe(true);
    const short = { context: { user: { p: `${"1".repeat(999)}.1x` } }, result: {} };
    expect(short.context.user.p.length).toBeGreaterThan(1000);
    expect(quadratic({ context: { user: { p: "12.5x" } }, result: {} })).toBe(true);
  });
});
