/**
 * Issue 22 item 3 through buildReport: revenue with 10% buyers, lognormal(3, 2) values,
 * 50,000 units per arm. Each experiment is drawn as its sufficient statistics: the buyers
 * per arm (binomial, by its normal approximation), then each buyer's value into the
 * histogram bucket and the metric's sums the sources send (scaled by VALUE_SCALE), so the
 * report sees exactly what it would see from ingest or the metric engine.
 *
 * Figures (seeds 22, 23 and 24, 1,000 experiments each; Monte-Carlo error: ±0.8 points on a
 * 93% coverage, ±0.7 on a 5% rate, ±0.3 points on the mean lift):
 * - the old cap (99th percentile of all units, zeros included) is the buyers' 90th: it
 *   capped ~9% of buyers, removed ~45% of revenue and showed +11.6% for a true +20% with
 *   42% coverage (the issue's figures);
 * - the 99th percentile of the non-zero values: 0.60% of buyers capped, 18.0% of revenue
 *   removed, mean lift 17.2%, t-test relative coverage 91.9%; A/A at 90/10 6.6% (seed 24);
 * - the default now, by the smallest arm's units with a value (shared/stats/winsorize.ts:
 *   the 99.5th at 5,000 buyers an arm, the 97.5th at 1,000): 0.25% of buyers capped, 11.4%
 *   of revenue removed, mean lift 18.2%, coverage 93.3%. A cap is biased towards 0 whenever
 *   the effect scales the values (a capped mean grows by the share of the total below the
 *   cap), so the cap goes as high as the smallest arm's tail allows.
 * - A/A, 4,000 experiments per split (seeds 23, 28–30 at 50/50; 24–27 at 90/10 of 100,000):
 *   4.8% and 4.8% (101 positive, 90 negative). Welch's t alone gave 6.0% on seed 24 and 5.6%
 *   on seeds 24–27 (71 positive, 154 negative): its skew at unequal arms, measured outside the
 *   suite on 120,000 experiments with two generators (5.3–5.4%), and corrected in the t-test
 *   (shared/stats/welch.ts; docs/statistics.md, "Capping": 4.2% ± 0.1 over 70,000).
 */
import { describe, expect, it } from "vitest";
import type { Flag, Metric } from "../../../shared/authoring/schema.js";
import { VALUE_SCALE } from "../../../shared/metric-values.js";
import { dayName, experimentOn, normals, uniforms } from "../../../test/support/simulated-rows.js";
import { BUCKET_SEPARATOR, EXPOSURES, type AggregateRow } from "../store.js";
import { buildReport } from "./index.js";

const QUALITY = { rejectedExposures: 0, droppedValues: {} };
/** A minute on a quiet machine; many when seven test runs share two cores. */
const SLOW_MACHINE_MS = 1_200_000;
const UNITS = 50_000;
const BUYERS = 0.1;

const LOG_SCALE = Math.log2(VALUE_SCALE);

/**
 * One arm's rows at look 0: `units` exposed, `buyers` of them with revenue
 * `scale`·lognormal(3, 2), drawn from `uniform` by Box–Muller (both of its normals), each
 * into the histogram bucket of its scaled value (shared/stats/winsorize.ts), computed from
 * the value's logarithm: the value is continuous, so it falls on an edge with probability 0.
 */
function armRows(
  metric: Metric,
  variant: string,
  units: number,
  buyers: number,
  scale: number,
  uniform: () => number,
): AggregateRow[] {
  const day = dayName(0);
  const n = new Float64Array(64);
  const sums = new Float64Array(64);
  const squares = new Float64Array(64);
  const logScale = Math.log2(scale) + LOG_SCALE;
  for (let i = 0; i < buyers; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(uniform() || 1e-12));
    const angle = 2 * Math.PI * uniform();
    for (const z of i + 1 < buyers
      ? [radius * Math.cos(angle), radius * Math.sin(angle)]
      : [radius * Math.cos(angle)]) {
      const log2 = (3 + 2 * z) / Math.LN2 + logScale; // log₂ of the scaled value
      const scaled = Math.max(1, Math.round(2 ** log2));
      const bucket = Math.max(1, Math.floor(log2) + 1);
      n[bucket]!++;
      sums[bucket]! += scaled;
      squares[bucket]! += scaled * scaled; // a double: exact to 1e-16 relative, all a simulation needs
    }
  }
  const exact = (x: number) => BigInt(Math.round(x));
  const rows: AggregateRow[] = [{ day, variant, metric: EXPOSURES, n: units, sum: 0n, sumSquares: 0n }];
  let sum = 0;
  let sumSquares = 0;
  for (let bucket = 1; bucket < 64; bucket++) {
    if (n[bucket] === 0) continue;
    sum += sums[bucket]!;
    sumSquares += squares[bucket]!;
    rows.push({
      day,
      variant,
      metric: `${metric.key}${BUCKET_SEPARATOR}${bucket}`,
      n: n[bucket]!,
      sum: exact(sums[bucket]!),
      sumSquares: exact(squares[bucket]!),
    });
  }
  rows.push({ day, variant, metric: metric.key, n: 0, sum: exact(sum), sumSquares: exact(sumSquares) });
  return rows;
}

/** A stopped run, so the t-test reads its verdict at this look (its planned end). */
const stopped = (flag: Flag): Flag =>
  ({
    ...flag,
    analysisPeriods: [{ startedAt: "2026-01-01T00:00:00.000Z", stoppedAt: "2026-01-02T00:00:00.000Z", settings: flag }],
  }) as Flag;

/** `split`: the arms' units (control, treatment); 50,000 each by default. */
function simulate(
  metric: Metric,
  method: "sequential" | "ttest",
  lift: number,
  experiments: number,
  seed: number,
  split: [number, number] = [UNITS, UNITS],
) {
  const uniform = uniforms(seed);
  const z = normals(uniform);
  const flag = stopped(experimentOn(metric, split, { statisticalMethod: method }));
  const results = [];
  for (let e = 0; e < experiments; e++) {
    const rows = ["control", "treatment"].flatMap((variant, arm) => {
      const units = split[arm]!;
      const buyers = Math.round(units * BUYERS + Math.sqrt(units * BUYERS * (1 - BUYERS)) * z());
      return armRows(metric, variant, units, buyers, variant === "treatment" ? 1 + lift : 1, uniform);
    });
    const report = buildReport(flag, rows, QUALITY, Date.now());
    const m = report.metrics[0]!;
    results.push({ comparison: m.variants[1]!.comparison!, cap: m.cap });
  }
  return results;
}

const revenue: Metric = { key: "revenue", type: "property_sum", eventType: "purchase", property: "amount" };
/** A/A experiments per seed, 4 seeds a split: Monte-Carlo standard error √(α(1 − α)/4,000) = 0.34 points. */
const AA_EXPERIMENTS = 1000;
const AA_BOUND = 0.05 + 2 * Math.sqrt((0.05 * 0.95) / (4 * AA_EXPERIMENTS));
type Results = ReturnType<typeof simulate>;
const count = (results: Results, verdict: string) => results.filter((r) => r.comparison.verdict === verdict).length;
const rate = (results: Results) =>
  (count(results, "significant_positive") + count(results, "significant_negative")) / results.length;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const covers = (interval: [number, number] | null, value: number) =>
  !!interval && interval[0] <= value && value <= interval[1];

describe("the default cap on zero-inflated revenue", () => {
  it(
    "caps under 1% of buyers and keeps a +20% lift within 2 points, with ≥ 93% t-test coverage",
    () => {
      const results = simulate(revenue, "ttest", 0.2, 1000, 22);
      const lift = mean(results.map((r) => r.comparison.lift!));
      const coverage = mean(results.map((r) => (covers(r.comparison.relativeCi, 0.2) ? 1 : 0)));
      const cap = results.map((r) => r.cap as { percentile: number; cappedShare: number; removedShare: number });
      const cappedShare = mean(cap.map((c) => c.cappedShare)) / BUYERS; // of buyers
      const removed = mean(cap.map((c) => c.removedShare));
      console.log("capping +20%", { lift, coverage, cappedShare, removed, percentile: cap[0]!.percentile });
      // 5,000 buyers in the smallest arm: the 99.5th percentile.
      expect(cap.every((c) => c.percentile >= 0.994)).toBe(true);
      expect(cappedShare).toBeLessThan(0.01); // was ~9%
      expect(removed).toBeLessThan(0.2); // was 45%
      expect(lift).toBeGreaterThanOrEqual(0.18); // was 0.116 (zeros included), 0.172 (the 99th)
      expect(coverage).toBeGreaterThanOrEqual(0.93); // was 0.42, then 0.919
    },
    SLOW_MACHINE_MS,
  );

  it(
    "keeps A/A false positives of the t-test at most α at 50/50 and at 90/10, both tails alike",
    () => {
      // The policy (docs/statistics.md): 4,000 experiments per split, seeds fixed in advance;
      // the assertion fails when a rate is significantly above α (beyond 2 Monte-Carlo
      // standard errors, 5.69%); the rates themselves are measured on 50,000 experiments.
      const run = (seeds: number[], split?: [number, number]) =>
        seeds.flatMap((seed) => simulate(revenue, "ttest", 0, AA_EXPERIMENTS, seed, split));
      const even = run([23, 28, 29, 30]);
      // ~1,000 buyers in the small arm: the 97.5th percentile (1 − 25/n, n a little above 1,000 at times).
      const uneven = run([24, 25, 26, 27], [90_000, 10_000]);
      const [evenRate, unevenRate] = [rate(even), rate(uneven)];
      const [positives, negatives] = [count(uneven, "significant_positive"), count(uneven, "significant_negative")];
      console.log("capping A/A", { even: evenRate, uneven: unevenRate, positives, negatives });
      expect(uneven.every((r) => (r.cap as { percentile: number }).percentile <= 0.98)).toBe(true);
      expect(evenRate).toBeLessThanOrEqual(AA_BOUND);
      expect(unevenRate).toBeLessThanOrEqual(AA_BOUND);
      // Welch's t alone is left-skewed at 90/10 (154 negatives against 71 positives on these
      // seeds); corrected for skew (shared/stats/welch.ts) the tails agree within 2 s.e.
      expect(Math.abs(negatives - positives)).toBeLessThanOrEqual(2 * Math.sqrt(negatives + positives));
    },
    SLOW_MACHINE_MS,
  );

  it(
    "warns where capping is off (percentile 1) on heavy-tailed values, not on light ones",
    () => {
      const uncapped: Metric = { ...revenue, capPercentile: 1 };
      const [heavy] = simulate(uncapped, "ttest", 0, 1, 25);
      expect(heavy!.comparison.warnings).toContain("uncapped_heavy_tail");
      expect(heavy!.comparison.trustworthy).toBe(true); // advisory: the verdict stands, the reader is told
      const light = buildReport(
        stopped(experimentOn(uncapped, [50, 50], { statisticalMethod: "ttest" })),
        ["control", "treatment"].flatMap(
          (variant) => armRows(uncapped, variant, 1000, 200, 1, () => 0.5), // every buyer at e³
        ),
        QUALITY,
        Date.now(),
      );
      expect(light.metrics[0]!.variants[1]!.comparison!.warnings).not.toContain("uncapped_heavy_tail");
    },
    SLOW_MACHINE_MS,
  );
});
