/**
 * The novelty check's sums-and-counts and ratio forms (novelty.ts): their z against an
 * independent computation from per-unit values (NumPy/SciPy, below; the ratio's from
 * `scripts/stats-fixtures.py novelty-ratio`, NumPy's sample moments), and their bounds against
 * the exact per-unit quantities for any values (property tests).
 *
 * The fixture, per unit: a value at look e (units exposed by then) and at look d. Made and
 * computed with NumPy 2 / SciPy 1.17 from the units themselves (Σ(Δx)² exact, asserted
 * under the bound; the parts' means and M2 from the arrays):
 *   python3 (numpy.random.default_rng(22); exponential amounts; see the issue-22 report)
 * giving z = 0.47945801880782607 (values that only grow) and 0.32095158236566096 (any).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromValues, type RatioSums } from "../../../shared/stats/index.js";
import { ratioSumsOf } from "../../../shared/stats/ratio-sums.test-support.js";
import reference from "../../../test/fixtures/novelty-ratio-reference.json" with { type: "json" };
import { armParts, growthOf, liftMoved, meanSplit, NOVELTY_Z, noveltyZ, ratioParts } from "./novelty.js";

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
    expect(noveltyZ(look("early"), look("late"), meanSplit("monotone"))).toBeCloseTo(0.47945801880782607, 10);
    expect(noveltyZ(look("early"), look("late"), meanSplit("any"))).toBeCloseTo(0.32095158236566096, 10);
  });

  it("counts, sums and ratios' sides only grow, averages may fall", () => {
    expect(growthOf("unique_conversions", "binary")).toBe("binary");
    expect(growthOf("event_totals", "count")).toBe("monotone");
    expect(growthOf("property_sum", "distribution")).toBe("monotone");
    expect(growthOf("property_average", "distribution")).toBe("any");
    expect(growthOf("ratio", "ratio")).toBe("monotone");
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
    expect(liftMoved([steady, steady, steady, jumped, steady], meanSplit("monotone"))).toEqual([
      false,
      false,
      false,
      true,
      true,
    ]);
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

describe("novelty on ratios", () => {
  const ratioLook = (pick: "early" | "late") => ({
    control: ratioSumsOf(reference.control[pick]),
    treatment: ratioSumsOf(reference.treatment[pick]),
    eligible: true,
  });

  it.each(["monotone", "any"] as const)("matches the z computed with NumPy from the units' (x, y): %s", (growth) => {
    const split = (e: RatioSums, d: RatioSums) => ratioParts(e, d, growth);
    expect(noveltyZ(ratioLook("early"), ratioLook("late"), split)).toBeCloseTo(reference[growth].z, 10);
    const treatment = ratioParts(ratioLook("early").treatment, ratioLook("late").treatment, growth)!;
    expect(treatment.late.variance).toBeCloseTo(reference[growth].treatmentLateVariance, 12);
    // The bound holds the exact variance NumPy computes from the units' changes.
    expect(treatment.late.variance).toBeGreaterThanOrEqual(reference[growth].treatmentLateExactVariance);
  });

  it("has no parts without a later change in the numerator or denominator", () => {
    const early = ratioSumsOf([
      [1, 2],
      [0, 3],
    ]);
    expect(ratioParts(early, early, "monotone")).toBeUndefined();
  });

  // Per unit: an early (x, y) (or none: exposed after e) and a change by d.
  const units = (growing: boolean) => {
    const side = fc.integer({ min: growing ? 0 : -20, max: 20 });
    return fc.array(
      fc.record({ exposedEarly: fc.boolean(), x: side, y: fc.integer({ min: 0, max: 20 }), dx: side, dy: side }),
      { minLength: 4, maxLength: 40 },
    );
  };

  it.each([
    ["sides that only grow", true, "monotone"],
    ["a numerator of any sign and direction", false, "any"],
  ] as const)("the bounds hold the exact delta-method variance and covariance: %s", (_, growing, growth) => {
    fc.assert(
      fc.property(units(growing), (list) => {
        const early = list.filter((u) => u.exposedEarly);
        const later = [...early, ...list.filter((u) => !u.exposedEarly)];
        const start = (u: (typeof list)[number]) => (u.exposedEarly ? [u.x, u.y] : [0, 0]);
        const e = early.map((u) => [u.x, u.y]);
        const d = later.map((u) => [start(u)[0]! + u.dx, Math.max(0, start(u)[1]! + u.dy)]);
        const parts = ratioParts(ratioSumsOf(e), ratioSumsOf(d), growth);
        if (!parts) return;
        const delta = later.map((u, i) => [d[i]![0]! - start(u)[0]!, d[i]![1]! - start(u)[1]!] as const);
        const [dx, dy] = [delta.reduce((s, [x]) => s + x, 0), delta.reduce((s, [, y]) => s + y, 0)];
        const rLate = dx / dy;
        const residual = delta.reduce((s, [x, y]) => s + (x - rLate * y) ** 2, 0);
        const exactVariance = (residual * later.length) / ((later.length - 1) * dy * dy);
        const [ex, ey] = [e.reduce((s, [x]) => s + x!, 0), e.reduce((s, [, y]) => s + y!, 0)];
        const rEarly = ex / ey;
        const crossed = e.reduce((s, [x, y], i) => s + (x! - rEarly * y!) * (delta[i]![0] - rLate * delta[i]![1]), 0);
        const exactCov = Math.abs(crossed) / (ey * dy);
        const slack = 1e-9 * (1 + exactVariance + exactCov);
        expect(parts.late.mean).toBeCloseTo(rLate, 9);
        expect(parts.early.mean).toBeCloseTo(rEarly, 9);
        expect(parts.late.variance).toBeGreaterThanOrEqual(exactVariance - slack);
        expect(parts.cov).toBeGreaterThanOrEqual(exactCov - slack);
      }),
      { numRuns: 300, seed: 22 },
    );
  });
});
