import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { equalWeights, rebalance } from "./weights.js";

const keys = fc.uniqueArray(fc.stringMatching(/^[a-z]{1,6}$/), { minLength: 1, maxLength: 20 });

describe("variant weight sliders", () => {
  it("always total exactly 100 in whole, non-negative percents, with the moved slider where it was put", () => {
    fc.assert(
      fc.property(
        keys,
        fc.nat({ max: 19 }),
        fc.integer({ min: -10, max: 110 }),
        fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 20, maxLength: 20 }),
        (variants, pick, value, start) => {
          const moved = variants[pick % variants.length]!;
          const before = Object.fromEntries(variants.map((k, i) => [k, start[i]!]));
          const after = rebalance(before, variants, moved, value);
          expect(Object.keys(after).sort()).toEqual([...variants].sort());
          expect(Object.values(after).reduce((a, b) => a + b, 0)).toBe(100);
          for (const weight of Object.values(after)) expect(Number.isInteger(weight) && weight >= 0).toBe(true);
          if (variants.length > 1) expect(after[moved]).toBe(Math.min(100, Math.max(0, value)));
        },
      ),
    );
  });

  it("keeps the other variants' proportions", () => {
    expect(rebalance({ a: 50, b: 30, c: 20 }, ["a", "b", "c"], "a", 0)).toEqual({ a: 0, b: 60, c: 40 });
    expect(rebalance({ a: 100, b: 0, c: 0 }, ["a", "b", "c"], "a", 40)).toEqual({ a: 40, b: 30, c: 30 });
  });

  it("splits equally, the remainder to the last", () => {
    expect(equalWeights(["a", "b", "c"])).toEqual({ a: 33, b: 33, c: 34 });
  });
});
