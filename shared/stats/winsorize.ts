/**
 * Outlier capping (winsorization) of sum and average metrics from a mergeable histogram,
 * without reading any unit. Each unit's value sits in a power-of-two bucket (by its
 * magnitude, signed); per bucket the stats service adds n, Σx, Σx² exactly as it does for
 * the metric itself, day by day and arm by arm, moving a unit from bucket to bucket as its
 * value grows. At a look:
 * - the caps are the quantiles `percentile` and 1 − `percentile` of the units' non-zero
 *   values (GrowthBook's `ignoreZeros`; zeros included on request), pooled over arms (the
 *   same cap for every arm, or the cap itself would differ by arm), rounded outwards to the edge of
 *   their bucket — at most 2× the exact quantile, and a bucket edge, so every bucket lies
 *   wholly inside or outside the caps and the capped statistics are exact. A quantile that
 *   falls on 0 caps nothing;
 * - an arm's capped statistics are its zeros, its buckets within the caps, and its units
 *   beyond them counted at the cap.
 * Heavy tails make the t statistic skewed, most of all with unequal arms (a 90/10 split),
 * which inflates false positives; capping at a high percentile removes that at little cost
 * in power (Kohavi, Tang & Xu 2020, §22; Statsig and GrowthBook cap the same way).
 *
 * Why not zeros included: where most units have no value (10% buyers), the 99th percentile
 * of all units is the 90th of the buyers, which capped ~9% of them and removed 45% of a
 * lognormal(3, 2) revenue, halving a +20% lift (issue 22). Over the non-zero values the cap
 * is where the tail starts whatever the share of zeros.
 */
import { constant, merge, type SufficientStats } from "./sufficient.js";

/** A scaled integer value's bucket: 0 for 0, else ±(⌊log₂|v|⌋ + 1), covering [2^(b−1), 2^b). */
export function histogramBucket(scaled: number): number {
  if (scaled === 0) return 0;
  const magnitude = Math.abs(scaled);
  let exponent = Math.floor(Math.log2(magnitude));
  if (2 ** exponent > magnitude)
    exponent--; // log2 rounding near powers of two
  else if (2 ** (exponent + 1) <= magnitude) exponent++;
  return Math.sign(scaled) * (exponent + 1);
}

/** The outer edge of a bucket, in scaled units. */
const edge = (bucket: number) => Math.sign(bucket) * 2 ** Math.abs(bucket);

/** One arm's histogram of non-zero values: bucket → statistics of its units (unscaled). */
export type Histogram = ReadonlyMap<number, SufficientStats>;

export interface Cap {
  /** Values beyond are counted at this value (unscaled). */
  value: number;
  /** The bucket whose outer edge it is: buckets further out are capped. */
  bucket: number;
}

export interface Caps {
  upper: Cap | undefined;
  lower: Cap | undefined;
}

/**
 * Over the non-zero values, a cap's rank is at most this many units from the end (pooled;
 * the bucket edge may then cap fewer): with few units with a value the 99th percentile is the
 * sample's largest few, and a small arm's mean stays as skewed as uncapped (sequential A/A
 * revenue at 90/10, 300 units a day: 10.9% false positives without it, 3.4% with it). From
 * 5,000 units with a value the percentile alone decides.
 */
export const MIN_CAPPED_UNITS = 50;
/** …but it never caps more than the units beyond this percentile (the old cap: the buyers' 90th at 10% buyers). */
export const MAX_GUARDED_PERCENTILE = 0.9;

/**
 * The default cap's percentile, by the smallest arm's number of units with a value, n: the
 * cap is placed so that this arm expects UNITS_BEYOND_DEFAULT_CAP of its units beyond it,
 * 1 − 25/n, kept within DEFAULT_CAP_RANGE (the 97.5th up to 1,000 such units, the 99.5th from
 * 5,000). Below the range's end the small-sample guard above still decides.
 *
 * Why it moves: a cap is biased towards 0 when the effect scales the values (a capped mean
 * grows only by the share of the total below the cap), so the higher the cap, the nearer the
 * lift is to the truth; but the t statistic's skew is that of the smallest arm's capped mean,
 * which grows as fewer of its units reach the cap (for a heavy tail the skew of an arm's mean
 * goes as 1/√(its units beyond the cap)). Issue 22's scenario (10% buyers, lognormal(3, 2),
 * +20% on the values, 50,000 units an arm; NumPy, 3,000 experiments, ±0.16 points on the
 * lift): the 99th gave a lift of 17.1% and 93.5% relative coverage, the 99.5th 18.2% and
 * 95.0%. A/A at 90/10 (100,000 units, 1,000 buyers in the small arm) at the 97.5th: Welch's t
 * rejects 5.3–5.4% (90,000 experiments with NumPy's generator, 30,000 with the suite's), all of
 * the excess on the negative side: the small arm's skew, which the t-test's skew correction
 * removes (4.2%; shared/stats/welch.ts); at 50/50 the arms' skews cancel.
 */
export const DEFAULT_CAP_RANGE = { lowest: 0.975, highest: 0.995 } as const;
/** The smallest arm's expected units beyond the default cap, within the range. */
export const UNITS_BEYOND_DEFAULT_CAP = 25;

export function defaultCapPercentile(smallestArmNonZero: number): number {
  const { lowest, highest } = DEFAULT_CAP_RANGE;
  if (smallestArmNonZero <= 0) return lowest;
  return Math.min(highest, Math.max(lowest, 1 - UNITS_BEYOND_DEFAULT_CAP / smallestArmNonZero));
}

/**
 * Caps at the `percentile` quantiles of the non-zero values of all arms together (capping at
 * least MIN_CAPPED_UNITS units on each side that has a cap); with
 * `includeZeros`, of all `units` units (those in no bucket are zeros, bucket 0), and then a
 * cap only where the quantile is not 0.
 */
export function quantileCaps(
  histograms: readonly Histogram[],
  units: number,
  percentile: number,
  scale: number,
  { includeZeros = false }: { includeZeros?: boolean } = {},
): Caps {
  const counts = new Map<number, number>();
  let nonZero = 0;
  for (const histogram of histograms) {
    for (const [bucket, s] of histogram) {
      counts.set(bucket, (counts.get(bucket) ?? 0) + s.n);
      nonZero += s.n;
    }
  }
  if (includeZeros) counts.set(0, Math.max(0, units - nonZero));
  const buckets = [...counts].filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
  const total = buckets.reduce((sum, [, n]) => sum + n, 0);
  if (nonZero === 0 || percentile >= 1) return { upper: undefined, lower: undefined };
  const bucketAtRank = (rank: number) => {
    let seen = 0;
    for (const [bucket, n] of buckets) if ((seen += n) >= rank) return bucket;
    return buckets[buckets.length - 1]![0];
  };
  // The guard moves a rank in by at most to the 90th percentile (never caps more than 10%).
  const guard = includeZeros ? 0 : MIN_CAPPED_UNITS;
  const floor = Math.ceil(Math.min(percentile, MAX_GUARDED_PERCENTILE) * total);
  const topRank = Math.max(floor, Math.min(Math.ceil(percentile * total), total - guard));
  const bottomRank = Math.min(total + 1 - floor, Math.max(Math.floor((1 - percentile) * total) + 1, guard + 1));
  const top = bucketAtRank(Math.max(1, topRank));
  const bottom = bucketAtRank(Math.min(total, Math.max(1, bottomRank)));
  return {
    upper: top > 0 ? { value: edge(top) / scale, bucket: top } : undefined,
    lower: bottom < 0 ? { value: edge(bottom) / scale, bucket: bottom } : undefined,
  };
}

/**
 * A bucket's statistics with its third central moment, from Σx³ ≈ (Σx²)²/Σx: exact when its
 * units share one value, and by Cauchy–Schwarz at most the true Σ|x|³ (within a factor the
 * bucket's width, 2, allows; 1.5% below the exact skew of capped lognormal(3, 2) revenue).
 * The histogram sends no Σx³; the skew-corrected t-test (welch.ts) needs only its order.
 */
function withBucketSkew(s: SufficientStats): SufficientStats {
  const [sum, squares] = [s.n * s.mean, s.m2 + s.n * s.mean * s.mean];
  if (sum === 0) return { ...s, m3: 0 };
  return { ...s, m3: (squares * squares) / sum - 3 * s.mean * squares + 2 * s.n * s.mean ** 3 };
}

/**
 * An arm's statistics with its values capped: `units` is every unit the metric counts (the
 * exposed units for sums, those with events for averages); those in no bucket are zeros.
 * With the third central moment (`m3`, above), for the t-test's skew correction.
 */
export function capStatistics(histogram: Histogram, units: number, { upper, lower }: Caps): SufficientStats {
  let result: SufficientStats = constant(0, 0);
  let inBuckets = 0;
  let above = 0;
  let below = 0;
  for (const [bucket, s] of histogram) {
    inBuckets += s.n;
    if (upper && bucket > upper.bucket) above += s.n;
    else if (lower && bucket < lower.bucket) below += s.n;
    else result = merge(result, withBucketSkew(s));
  }
  result = merge(result, constant(Math.max(0, units - inBuckets), 0));
  if (upper && above > 0) result = merge(result, constant(above, upper.value));
  if (lower && below > 0) result = merge(result, constant(below, lower.value));
  return result;
}

/** How much a cap changes a metric, pooled over arms: the share of units capped and of the total removed. */
export interface CapEffect {
  cappedShare: number;
  removedShare: number;
}

/** `raw`/`capped`: each arm's statistics before and after the caps (same units); `histograms` as capped. */
export function capEffect(
  histograms: readonly Histogram[],
  raw: readonly SufficientStats[],
  capped: readonly SufficientStats[],
  { upper, lower }: Caps,
): CapEffect {
  let units = 0;
  let cappedUnits = 0;
  for (const histogram of histograms)
    for (const [bucket, s] of histogram)
      if ((upper && bucket > upper.bucket) || (lower && bucket < lower.bucket)) cappedUnits += s.n;
  let total = 0;
  let removed = 0;
  raw.forEach((r, i) => {
    units += r.n;
    total += Math.abs(r.n * r.mean);
    removed += Math.abs(r.n * r.mean - capped[i]!.n * capped[i]!.mean);
  });
  return { cappedShare: units > 0 ? cappedUnits / units : 0, removedShare: total > 0 ? removed / total : 0 };
}
