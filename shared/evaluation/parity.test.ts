import { EvaluationEngine, topologicalSort as referenceSort } from "@amplitude/experiment-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { conditionArb, contextArb, FLAG_KEYS, flagSetArb, hasValidRegexes } from "./arbitraries.test-support.js";
import { evaluate } from "./evaluate.test-support.js";
import { compile, type EvaluationFlag } from "./index.js";

const engine = new EvaluationEngine();
type ReferenceFlags = Parameters<typeof referenceSort>[0];

/** What the Amplitude SDKs do for local evaluation: sort by dependencies, then evaluate. */
function reference(context: object, flags: EvaluationFlag[], flagKeys?: string[]) {
  const byKey = Object.fromEntries(flags.map((flag) => [flag.key, flag])) as unknown as ReferenceFlags;
  return engine.evaluate(context as never, referenceSort(byKey, flagKeys));
}

describe("parity with @amplitude/experiment-core", () => {
  it("gives identical results on 200 random flag sets × 50 random contexts, interpreted and compiled", () => {
    let contexts = 0;
    let assigned = 0;
    fc.assert(
      fc.property(flagSetArb, fc.array(contextArb, { minLength: 50, maxLength: 50 }), (flags, batch) => {
        const compiled = compile(flags);
        for (const [i, context] of batch.entries()) {
          const expected = reference(context, flags);
          // A fresh set interprets each flag's first evaluation (checked on every fifth context); the
          // long-lived one interprets its first and compiles from its second.
          if (i % 5 === 0) expect(compile(flags).evaluate(context)).toStrictEqual(expected);
          expect(compiled.evaluate(context)).toStrictEqual(expected);
          contexts++;
          assigned += Object.keys(expected).length;
        }
      }),
      { numRuns: 200 },
    );
    expect(contexts).toBeGreaterThanOrEqual(10_000);
    // The generators must exercise assignment, not just produce empty results.
    expect(assigned / contexts).toBeGreaterThan(0.5);
  });

  it("gives the same outcomes (variant, reason, exposure) interpreted as compiled", () => {
    fc.assert(
      fc.property(flagSetArb, fc.array(contextArb, { minLength: 5, maxLength: 5 }), (flags, batch) => {
        const compiled = compile(flags);
        compiled.evaluate(batch[0]!); // every flag's first use: compiled from here on
        for (const context of batch)
          expect(compile(flags).evaluateWithReasons(context)).toStrictEqual(compiled.evaluateWithReasons(context));
      }),
      { numRuns: 100 },
    );
  });

  it("gives identical results when flags repeat the same conditions (each decided once per evaluation)", () => {
    // Every condition drawn from a small pool, so most are repeated across flags and segments; the
    // pool pairs conditions that differ only in their values (the same selector and operator).
    const pairArb = fc
      .tuple(conditionArb([]), conditionArb([]))
      .map(([condition, other]) => [condition, { ...condition, values: other.values }])
      // Borrowed values must still be valid patterns for a regex operator (the reference engine throws).
      .filter((pair) => pair.every(hasValidRegexes));
    const repeatingArb = fc
      .tuple(flagSetArb, fc.array(pairArb, { minLength: 1, maxLength: 2 }))
      .map(([flags, pairs]) => [flags, pairs.flat()] as const)
      .map(([flags, pool]) =>
        flags.map((flag) => ({
          ...flag,
          segments: flag.segments.map((segment, s) => ({
            ...segment,
            conditions: segment.conditions?.map((group, g) =>
              group.map((_, c) => structuredClone(pool[(s + g + c) % pool.length]!)),
            ),
          })),
        })),
      );
    fc.assert(
      fc.property(repeatingArb, fc.array(contextArb, { minLength: 10, maxLength: 10 }), (flags, batch) => {
        const compiled = compile(flags);
        for (const context of batch) {
          const expected = reference(context, flags);
          expect(compiled.evaluate(context)).toStrictEqual(expected);
          expect(Object.fromEntries(compiled.serve(context).map((o) => [o.flagKey, o.variant]))).toStrictEqual(
            expected,
          );
        }
      }),
      { numRuns: 200 },
    );
  });

  it("gives identical results when only some flag keys are requested (parents included)", () => {
    fc.assert(
      fc.property(
        flagSetArb,
        fc.subarray(FLAG_KEYS),
        fc.array(contextArb, { minLength: 10, maxLength: 10 }),
        (flags, keys, batch) => {
          for (const context of batch)
            expect(evaluate(context, flags, keys)).toStrictEqual(reference(context, flags, keys));
        },
      ),
      { numRuns: 100 },
    );
  });
});
