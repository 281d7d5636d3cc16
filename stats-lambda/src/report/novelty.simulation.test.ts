/**
 * Novelty through buildReport (issue 22, 6): a conversion whose daily hazard after exposure
 * is 10% (a frequent action: a return visit); the treatment's is raised by +50% × e^(−age/2)
 * (a novelty fading over a few days), by a lasting +10%, or not at all (A/A). 1,000 units
 * per arm a day, 14 daily looks, 1,000 experiments each,
 * drawn per (cohort, arm, day) from binomials of the units not yet converted (exact
 * sufficient statistics of a binary metric), seeded. Monte-Carlo standard error of a rate
 * p over 1,000: √(p(1 − p)/1000), 0.7 points at 5%, 1.3 at 80%.
 */
import { describe, expect, it } from "vitest";
import { cohortSimulation, conversion, normals, uniforms } from "../../../test/support/simulated-rows.js";

const DAYS = 14;
const PER_DAY = 1_000;
const HAZARD = 0.1;

function simulate(novelty: number, seed: number, constant = 0, experiments = 1000) {
  const uniform = uniforms(seed);
  const normal = normals(uniform);
  const binomial = (n: number, p: number): number => {
    if (n <= 0) return 0;
    if (n * p * (1 - p) > 25)
      return Math.max(0, Math.min(n, Math.round(n * p + Math.sqrt(n * p * (1 - p)) * normal())));
    let [u, k, pmf] = [uniform(), 0, (1 - p) ** n];
    while (u > pmf && k < n) {
      u -= pmf;
      pmf *= ((n - k) / (k + 1)) * (p / (1 - p));
      k++;
    }
    return k;
  };
  const options = { metric: conversion, experiments, days: DAYS, perDay: PER_DAY, novelty, constant };
  return cohortSimulation(options, (rows, variant, first, lift) => {
    let waiting = PER_DAY;
    for (let day = first; day < DAYS; day++) {
      const converted = binomial(waiting, HAZARD * lift(day));
      waiting -= converted;
      if (converted > 0) rows.conversions(day, variant, conversion, converted);
    }
  });
}

describe("novelty: an effect that fades with time since exposure", () => {
  it("+50% fading over days since exposure is flagged in at least 80% of experiments", () => {
    const result = simulate(0.5, 2221);
    console.log(
      `novelty +50%: flagged ${(result.flagged * 100).toFixed(1)}%, significant_positive ${(result.significant * 100).toFixed(1)}%`,
    );
    expect(result.flagged).toBeGreaterThanOrEqual(0.8);
  });

  it("a lasting +10% on the hazard (300 experiments) is significant, and not flagged", () => {
    const result = simulate(0, 2223, 0.1, 300);
    console.log(
      `lasting +10%: flagged ${(result.flagged * 100).toFixed(1)}%, significant ${(result.significant * 100).toFixed(1)}%`,
    );
    expect(result.flagged).toBeLessThanOrEqual(0.05);
  });

  it("A/A: flagged in at most 5%", () => {
    const result = simulate(0, 2222);
    console.log(`novelty A/A: flagged ${(result.flagged * 100).toFixed(1)}%`);
    expect(result.flagged).toBeLessThanOrEqual(0.05);
  });
});
