/**
 * A/A and power simulations through buildReport, the function every report goes through:
 * a look every day for 20 days, at 50/50 and 90/10, on a conversion metric and on
 * zero-inflated lognormal revenue. Seeded: every run sees the same experiments.
 */
import { describe, expect, it } from "vitest";
import type { Metric } from "../../shared/authoring/schema.js";
import { conversion, revenue } from "../../test/support/simulated-rows.js";
import { ALPHA, simulate } from "../../test/support/simulation.js";

/** Three Monte-Carlo standard errors above α. */
const bound = (experiments: number) => ALPHA + 3 * Math.sqrt((ALPHA * (1 - ALPHA)) / experiments);

describe("A/A simulations: 1,000 experiments each, a look every day for 20 days", () => {
  it.each<[string, Metric, [number, number], number]>([
    ["conversions at 50/50", conversion, [50, 50], 200],
    ["conversions at 90/10", conversion, [90, 10], 300],
    ["lognormal revenue at 50/50", revenue, [50, 50], 200],
    ["lognormal revenue at 90/10", revenue, [90, 10], 300],
  ])(
    "%s: false positives at most α, and verdicts that always agree with their intervals",
    (name, metric, weights, unitsPerDay) => {
      const result = simulate({
        metric,
        weights,
        experiments: 1000,
        unitsPerDay,
        seed: 1125 + unitsPerDay + weights[0],
      });
      console.log(
        `A/A ${name}: ${result.positives / 10}% significant, ` +
          `${result.disagreements} disagreeing of ${result.looks} looks`,
      );
      expect(result.positives / 1000).toBeLessThanOrEqual(bound(1000));
      expect(result.disagreements).toBe(0);
    },
  );
});

describe("power: +5% relative on a 10% conversion rate, 50/50, a look every day", () => {
  /** Units per arm by which 80% of the experiments were significant. */
  const needed = (detections: Array<number | undefined>) => {
    const sorted = detections.map((units) => (units === undefined ? Infinity : units / 2)).sort((a, b) => a - b);
    return sorted[Math.ceil(0.8 * sorted.length) - 1]!;
  };

  it("reaches 80% power within the planned sample, sooner when tuned to the minimum detectable effect", () => {
    const scenario = {
      metric: conversion,
      weights: [50, 50] as [number, number],
      experiments: 300,
      days: 80,
      unitsPerDay: 4_000,
      effect: 0.05,
      aggregate: true,
    };
    const tuned = simulate({ ...scenario, seed: 5, flag: { minimumDetectableEffect: 0.05 } });
    const untuned = simulate({ ...scenario, seed: 5 });
    const fixedHorizon = 57_756; // statsmodels NormalIndPower, scripts/stats-fixtures.py
    console.log(
      `80% power: sequential tuned to the MDE ${needed(tuned.unitsAtDetection)} users per arm, ` +
        `untuned ${needed(untuned.unitsAtDetection)}, fixed horizon ${fixedHorizon}`,
    );
    expect(needed(tuned.unitsAtDetection)).toBeLessThan(needed(untuned.unitsAtDetection));
    expect(needed(tuned.unitsAtDetection)).toBeLessThan(2 * fixedHorizon);
    expect(tuned.disagreements).toBe(0);
  });
});
