import { describe, expect, it } from "vitest";
import { sequentialHalfWidth } from "./msprt.js";
import { oneSidedHalfWidth, oneSidedLogLambda, oneSidedPValue } from "./one-sided.js";

describe("one-sided mixture SPRT (guardrails)", () => {
  // SciPy's quad over the half-normal mixture: scripts/stats-fixtures.py one-sided-mixture.
  it.each([
    [0.004, 1e-5, 9e-5, 0.13960827357550493],
    [-0.002, 4e-6, 3e-5, -1.6856802268773696],
    [0.01, 4e-6, 3e-5, 10.652524541409852],
    [0, 1e-4, 1e-3, -1.1989476363991851],
  ])("log Λ(η̂ %f, V %f, τ² %f) matches numerical integration", (harm, V, tau2, expected) => {
    expect(oneSidedLogLambda(harm, V, tau2)).toBeCloseTo(expected, 9);
  });

  it("puts the harmful bound at 0 exactly where p = α, inside the two-sided bounds at 2α and α", () => {
    const [V, tau2, level] = [4e-6, 3e-5, 0.05];
    const u = oneSidedHalfWidth(V, tau2, level);
    expect(oneSidedPValue(u, V, tau2)).toBeCloseTo(level, 9);
    expect(u).toBeGreaterThan(sequentialHalfWidth(V, tau2, 2 * level));
    expect(u).toBeLessThan(sequentialHalfWidth(V, tau2, level));
    expect(oneSidedPValue(-1, V, tau2)).toBe(1);
  });
});
