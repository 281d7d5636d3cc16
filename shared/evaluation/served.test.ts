/**
 * The served evaluation (CompiledFlagSet.serve) against what its adapters did by hand
 * before it: every result of the reference engine, less group flags and flags not asked
 * for, less default variants when left out, in the order asked for; and the answer's
 * bytes against JSON.stringify of that object. One long-lived set serves every context,
 * so its reused scratch space is checked not to carry one context's results into the next.
 */
import { EvaluationEngine, topologicalSort as referenceSort } from "@amplitude/experiment-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { contextArb, FLAG_KEYS, flagSetArb } from "./arbitraries.test-support.js";
import { compile, type EvaluationFlag, FLAG_TYPES, isDefaultVariant, servedJson } from "./index.js";

const engine = new EvaluationEngine();
type ReferenceFlags = Parameters<typeof referenceSort>[0];

/** Some flags become group flags (evaluated, never listed to clients). */
const withGroupFlags = flagSetArb.chain((flags) =>
  fc
    .array(fc.boolean(), { minLength: flags.length, maxLength: flags.length })
    .map((grouped) =>
      flags.map(
        (flag, i): EvaluationFlag =>
          grouped[i] && i % 3 === 0
            ? { ...flag, metadata: { ...flag.metadata, flagType: FLAG_TYPES.mutualExclusionGroup } }
            : flag,
      ),
    ),
);

function expected(context: object, flags: EvaluationFlag[], flagKeys: string[] | undefined, defaults: boolean) {
  const byKey = Object.fromEntries(flags.map((flag) => [flag.key, flag])) as unknown as ReferenceFlags;
  const order = referenceSort(byKey, flagKeys);
  const results = engine.evaluate(context as never, order) as Record<string, { metadata?: Record<string, unknown> }>;
  const visible = new Set(
    flags.filter((flag) => flag.metadata?.["flagType"] !== FLAG_TYPES.mutualExclusionGroup).map((f) => f.key),
  );
  // In the order asked for, else the evaluation's (an object would put integer-like keys first).
  const keys = [...new Set(flagKeys ?? order.map((flag) => flag.key))];
  const answer: Array<[string, unknown]> = [];
  for (const key of keys) {
    const variant = results[key];
    if (!visible.has(key) || variant === undefined) continue;
    if (!defaults && isDefaultVariant(variant as never)) continue;
    answer.push([key, variant]);
  }
  return answer;
}

describe("CompiledFlagSet.serve", () => {
  it("serves what a client sees: visible flags asked for, defaults as asked, in order", () => {
    fc.assert(
      fc.property(
        withGroupFlags,
        fc.option(fc.array(fc.constantFrom(...FLAG_KEYS, "missing"), { maxLength: 6 }), { nil: undefined }),
        fc.boolean(),
        fc.array(contextArb, { minLength: 6, maxLength: 6 }),
        (flags, flagKeys, defaults, batch) => {
          const compiled = compile(flags);
          for (const context of batch) {
            const served = compiled.serve(context, { flagKeys, defaults });
            const want = expected(context, flags, flagKeys, defaults);
            expect(served.map((outcome) => outcome.flagKey)).toEqual(want.map(([key]) => key));
            const text = new TextDecoder().decode(servedJson(served));
            expect(JSON.parse(text)).toStrictEqual(Object.fromEntries(want));
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("lists flags in visibleKeys' order when no keys are asked for", () => {
    fc.assert(
      fc.property(withGroupFlags, contextArb, (flags, context) => {
        const compiled = compile(flags);
        const keys = compiled.serve(context).map((outcome) => outcome.flagKey);
        expect(keys).toEqual([...compiled.visibleKeys].filter((key) => keys.includes(key)));
      }),
      { numRuns: 100 },
    );
  });
});
