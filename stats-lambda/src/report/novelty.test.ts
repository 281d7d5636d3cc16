/**
 * The novelty check's sums-and-counts form (novelty.ts): its z against an independent
 * computation from per-unit values (NumPy/SciPy, below), and its bounds against the exact
 * per-unit quantities for any values (property test).
 *
 * The fixture, per unit: a value at look e (units exposed by then) and at look d. Made and
 * computed with NumPy 2 / SciPy 1.17 from the units themselves (Σ(Δx)² exact, asserted
 * under the bound; the parts' means and M2 from the arrays):
 *   python3 (numpy.random.default_rng(22); exponential amounts; see the issue-22 report)
 * giving z = 0.47945801880782607 (values that only grow) and 0.32095158236566096 (any).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromValues } from "../../../shared/stats/index.js";
import { armParts, growthOf, liftMoved, NOVELTY_Z, noveltyZ } from "./novelty.js";

const control = {
  early: [5.61, 6.27, 0.0, 12.13, 30.8, 19.49],
  late: [5.61, 6.27, 0.0, 12.13, 30.8, 92.21, 3.24, 0.0, 0.0, 0.0, 11.25, 13.48],
};
const treatment = {
  early: [0.0, 0.0, 36.35, 1.57, 0.0, 0.0, 0.0],
  late: [0.0, 40.21, 36.35, 24.73, 29.48, 0.0, 16.94, 0.0, 0.0, 0.0, 0.0, 0.0, 16.45],
};
const look = (pick: "early" | "late") => ({
  control: fromValues(control[pick]),
  treatment: fromValues(treatment[pick]),
  eligible: true,
});

describe("novelty on sums and counts", () => {
  it("matches the z computed with NumPy from the units' own values", () => {
    expect(noveltyZ(look("early"), look("late"), "monotone")).toBeCloseTo(0.47945801880782607, 10);
    expect(noveltyZ(look("early"), look("late"), "any")).toBeCloseTo(0.32095158236566096, 10);
  });

  it("counts and sums only grow, averages may fall, ratios are not checked", () => {
    expect(growthOf("unique_conversions", "binary")).toBe("binary");
    expect(growthOf("event_totals", "count")).toBe("monotone");
    expect(growthOf("property_sum", "distribution")).toBe("monotone");
    expect(growthOf("property_average", "distribution")).toBe("any");
    expect(growthOf("ratio", "ratio")).toBeUndefined();
  });

  it("flags from the 4th look on, and the flag stays", () => {
    // Early, the treatment's units have twice the control's values; later units alike in both arms.
    const cycle = (n: number, scale: number) => Array.from({ length: n }, (_, i) => ((i % 4) + 1) * scale);
    const steady = { control: fromValues(cycle(200, 1)), treatment: fromValues(cycle(200, 2)), eligible: true };
    const jumped = {
      control: fromValues([...cycle(200, 1), ...cycle(200, 1)]),
      treatment: fromValues([...cycle(200, 2), ...cycle(200, 1)]),
      eligible: true,
    };
    expect(NOVELTY_Z).toBeCloseTo(2.807033768343811, 12);
    expect(liftMoved([steady, steady, steady, jumped, steady], "monotone")).toEqual([false, false, false, true, true]);
  });

  // Per unit: an early value (or none: exposed after e) and a change by d.
  const units = (growing: boolean) =>
    fc.array(
      fc.record({
        exposedEarly: fc.boolean(),
        early: fc.double({ min: growing ? 0 : -50, max: 50, noNaN: true }),
        change: fc.double({ min: growing ? 0 : -50, max: 50, noNaN: true }),
      }),
      { minLength: 4, maxLength: 40 },
    );

  it.each([
    ["values that only grow", true, "monotone"],
    ["values of any sign and direction", false, "any"],
  ] as const)("the bounds hold the exact per-unit variance and covariance: %s", (_, growing, growth) => {
    fc.assert(
      fc.property(units(growing), (list) => {
        const early = list.filter((u) => u.exposedEarly);
        const later = [...early, ...list.filter((u) => !u.exposedEarly)];
        const xe = early.map((u) => u.early);
        const xd = later.map((u) => (u.exposedEarly ? u.early : 0) + u.change);
        const parts = armParts(fromValues(xe), fromValues(xd), growth);
        if (!parts) return;
        const delta = later.map((u, i) => xd[i]! - (u.exposedEarly ? u.early : 0));
        const q = delta.reduce((s, x) => s + x, 0) / delta.length;
        const exactVariance = delta.reduce((s, x) => s + (x - q) ** 2, 0) / (delta.length * (delta.length - 1));
        const me = xe.reduce((s, x) => s + x, 0) / xe.length;
        const exactCov = Math.abs(xe.reduce((s, x, i) => s + (x - me) * (delta[i]! - q), 0)) / (xe.length * xd.length);
        const slack = 1e-9 * (1 + exactVariance + exactCov);
        expect(parts.late.mean).toBeCloseTo(q, 9);
        expect(parts.late.variance).toBeGreaterThanOrEqual(exactVariance - slack);
        expect(parts.cov).toBeGreaterThanOrEqual(exactCov - slack);
      }),
      { numRuns: 300, seed: 22 },
    );
  });
});
