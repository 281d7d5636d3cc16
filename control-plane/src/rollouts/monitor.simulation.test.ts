/**
 * The guardrail monitor under simulated rollouts, through the very function the watcher
 * calls (monitorGuardrails). Traffic: 1,000 new units a minute; a plan 1% → 5% → 25% → 50%
 * → 100%, an hour per step, checked every minute while some units are held back (240
 * checks). The guardrail is "had an error" (binary), 5% of units held back. Each minute's
 * units split into the arms by the step's percentage (rounded: the split is not what is
 * tested) and their errors are drawn exactly (binomial by inversion, seeded), so per-arm
 * counts are the sufficient statistics; no per-unit events are drawn.
 */
import { describe, expect, it } from "vitest";
import { seeded } from "../../../shared/stats/seeded.test-support.js";
import type { SufficientStats } from "../../../shared/stats/sufficient.js";
import { monitorGuardrails } from "./monitor.js";

const UNITS_PER_MINUTE = 1000;
const BASE_RATE = 0.05;
const STEPS = [1, 5, 25, 50];
const MINUTES_PER_STEP = 60;

/** Binomial(n, p) by inversion of its CDF: exact, O(np) per draw. */
function binomial(uniform: () => number, n: number, p: number): number {
  const u = uniform();
  const q = p / (1 - p);
  let pk = (1 - p) ** n;
  let cdf = pk;
  let k = 0;
  while (u > cdf && k < n) {
    pk *= ((n - k) / (k + 1)) * q;
    k += 1;
    cdf += pk;
  }
  return k;
}

const binary = (n: number, x: number): SufficientStats => ({
  n,
  mean: n > 0 ? x / n : 0,
  m2: n > 0 ? x * (1 - x / n) : 0,
});

/** The minute harm is declared (from the plan's start), or undefined when the plan reaches 100%. */
function runPlan(seed: number, harm: number): number | undefined {
  const { uniform } = seeded(seed);
  let served = 0;
  let servedErrors = 0;
  let held = 0;
  let heldErrors = 0;
  for (let minute = 0; minute < STEPS.length * MINUTES_PER_STEP; minute++) {
    const percent = STEPS[Math.floor(minute / MINUTES_PER_STEP)]!;
    const newServed = Math.round((UNITS_PER_MINUTE * percent) / 100);
    const newHeld = UNITS_PER_MINUTE - newServed;
    served += newServed;
    held += newHeld;
    servedErrors += binomial(uniform, newServed, BASE_RATE * (1 + harm));
    heldErrors += binomial(uniform, newHeld, BASE_RATE);
    const decision = monitorGuardrails(
      [
        {
          metric: "errors",
          direction: "decrease",
          served: binary(served, servedErrors),
          heldBack: binary(held, heldErrors),
        },
      ],
      { intervals: false },
    );
    if (decision.harm) return minute + 1;
  }
  return undefined;
}

function runMany(runs: number, harm: number, seed: number) {
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const at = runPlan(seed + r * 7919, harm);
    if (at !== undefined) times.push(at);
  }
  times.sort((a, b) => a - b);
  const rate = times.length / runs;
  const se = Math.sqrt((rate * (1 - rate)) / runs);
  const median = times.length > 0 ? times[Math.floor(times.length / 2)]! : undefined;
  return { rate, se, median, times };
}

describe("guardrail monitor, simulated rollouts", () => {
  it("A/A: at most 5% of full plans roll back, checked every minute (600 plans)", () => {
    const { rate, se } = runMany(600, 0, 1);
    console.log(`A/A false rollbacks: ${(rate * 100).toFixed(1)}% ± ${(se * 100).toFixed(1)}% (1 s.e.)`);
    // Monte-Carlo error is ±0.9% at 5%: the bound is the design's α, the estimate sits well under it.
    expect(rate).toBeLessThanOrEqual(0.05);
  });

  it("detects a 30% rise in errors in nearly every plan, and a 10% rise in most before 100% (200 plans each)", () => {
    const strong = runMany(200, 0.3, 2);
    const weak = runMany(200, 0.1, 3);
    const show = (name: string, r: ReturnType<typeof runMany>) =>
      `${name}: detected ${(r.rate * 100).toFixed(1)}% ± ${(r.se * 100).toFixed(1)}%, median minute ${r.median}`;
    console.log(`${show("30% harm", strong)}; ${show("10% harm", weak)}`);
    expect(strong.rate).toBeGreaterThanOrEqual(0.97);
    // Caught while at most half the traffic has it: before the 50% step ends.
    expect(strong.median).toBeLessThanOrEqual(180);
    expect(weak.rate).toBeGreaterThan(0.8);
  });
});
