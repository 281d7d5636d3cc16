/**
 * Guardrail power through buildReport (issue 22, 9): a 10% conversion guardrail, 4,000
 * units per arm a day for 5 daily looks (20,000 per arm), harm of −5% and −10%, and A/A;
 * 1,000 experiments each, drawn from per-day binomial counts (sufficient statistics),
 * seeded. On the same draws, GrowthBook gbstats' one-sided sequential test (the comparison
 * the issue names: `SequentialOneSidedTreatmentLesserTTest`, tuning 5,000, eq. 134 of
 * Waudby-Smith et al. 2023) and a fixed one-sided z read once at the end. Monte-Carlo
 * standard error of a rate p over 1,000: √(p(1 − p)/1000) ≤ 1.6 points.
 */
import { describe, expect, it } from "vitest";
import type { Metric } from "../../../shared/authoring/schema.js";
import { conversion, experimentOn, normals, SimulatedRows, uniforms } from "../../../test/support/simulated-rows.js";
import { buildReport } from "./index.js";

const QUALITY = { rejectedExposures: 0, droppedValues: {} };
const ALPHA = 0.05;
const DAYS = 5;
const PER_DAY = 4_000;
const checkout: Metric = { key: "checkout", type: "unique_conversions", eventType: "checkout" };

/** gbstats' one-sided sequential half-width (gbstats' frequentist tests module, sequential_interval_halfwidth_one_sided). */
function gbstatsHalfWidth(standardError: number, n: number, alpha: number, tuning = 5000): number {
  const a = 2 * alpha;
  const rho2 = (-2 * Math.log(a) + Math.log(-2 * Math.log(a) + 1)) / tuning;
  const s2 = standardError ** 2 * n;
  return Math.sqrt(s2 * ((2 * (n * rho2 + 1)) / (n * n * rho2)) * Math.log(1 + Math.sqrt(n * rho2 + 1) / (2 * alpha)));
}

function simulate(effect: number, seed: number) {
  const uniform = uniforms(seed);
  const normal = normals(uniform);
  const binomial = (n: number, p: number) => Math.round(n * p + Math.sqrt(n * p * (1 - p)) * normal());
  const flag = experimentOn(conversion, [50, 50], { guardrailMetrics: [checkout] });
  const counts = { report: 0, gbstats: 0, fixed: 0 };
  for (let e = 0; e < 1000; e++) {
    const rows = new SimulatedRows();
    const converted = { control: 0, treatment: 0 };
    let [report, gbstats] = [false, false];
    for (let day = 0; day < DAYS; day++) {
      for (const [variant, rate] of [
        ["control", 0.1],
        ["treatment", 0.1 * (1 + effect)],
      ] as const) {
        const count = binomial(PER_DAY, rate);
        converted[variant] += count;
        rows.expose(day, variant, PER_DAY).conversions(day, variant, checkout, count);
      }
      const n = (day + 1) * PER_DAY;
      const [pc, pt] = [converted.control / n, converted.treatment / n];
      const se = Math.sqrt((pc * (1 - pc) + pt * (1 - pt)) / n);
      gbstats ||= pt - pc + gbstatsHalfWidth(se, 2 * n, ALPHA) < 0;
      if (day === DAYS - 1 && (pt - pc) / se < -1.6448536269514722) counts.fixed++;
    }
    const built = buildReport(flag, rows.list(), QUALITY, Date.now());
    const guardrail = built.metrics.find((m) => m.key === checkout.key)!;
    report = guardrail.timeSeries.some((look) => look.variants[1]!.verdict === "harm_detected");
    if (report) counts.report++;
    if (gbstats) counts.gbstats++;
  }
  return { report: counts.report / 1000, gbstats: counts.gbstats / 1000, fixed: counts.fixed / 1000 };
}

describe("guardrails: one-sided always-valid test for harm", () => {
  it.each([
    [-0.05, 2211],
    [-0.1, 2212],
  ])("harm %f at 20,000 per arm: detected at least as often as gbstats' one-sided sequential", (effect, seed) => {
    const power = simulate(effect, seed);
    console.log(
      `guardrail harm ${effect * 100}%: report ${(power.report * 100).toFixed(1)}%, ` +
        `gbstats one-sided sequential ${(power.gbstats * 100).toFixed(1)}%, fixed one-sided z ${(power.fixed * 100).toFixed(1)}%`,
    );
    expect(power.report).toBeGreaterThanOrEqual(power.gbstats);
  });

  it("A/A: harm detected at most α", () => {
    const aa = simulate(0, 2213);
    console.log(`guardrail A/A: report ${(aa.report * 100).toFixed(1)}%, gbstats ${(aa.gbstats * 100).toFixed(1)}%`);
    expect(aa.report).toBeLessThanOrEqual(ALPHA + 3 * Math.sqrt((ALPHA * (1 - ALPHA)) / 1000));
  });
});
