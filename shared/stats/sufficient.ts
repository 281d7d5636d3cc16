/**
 * Sufficient statistics of a sample in a numerically stable form: count, mean and M2 (the
 * sum of squared deviations from the mean). Mergeable with Chan, Golub & LeVeque's
 * pairwise update (1979, "Updating formulae and a pairwise algorithm for computing sample
 * variances"), so shards and days add up without the cancellation that n, Σx, Σx² suffer
 * when the mean is large against the spread (at mean/sd = 1e7 that form loses every digit
 * of the variance). The stats service builds them from exact integer sums (fromExactSums).
 */
export interface SufficientStats {
  n: number;
  mean: number;
  /** Σ(x − x̄)² */
  m2: number;
  /**
   * Σ(x − x̄)³, where the source knows it (a capped metric's histogram): the t-test then
   * corrects for the mean's skew (welch.ts). Kept by merge only when both parts have it.
   */
  m3?: number;
}

export const EMPTY: SufficientStats = Object.freeze({ n: 0, mean: 0, m2: 0 });

/** Pairwise update of n, mean, M2 (Chan, Golub & LeVeque 1979) and of M3 (Pébay 2008, eq. 2.1). */
export function merge(a: SufficientStats, b: SufficientStats): SufficientStats {
  if (a.n === 0) return b;
  if (b.n === 0) return a;
  const n = a.n + b.n;
  const delta = b.mean - a.mean;
  const merged: SufficientStats = {
    n,
    mean: a.mean + (delta * b.n) / n,
    m2: a.m2 + b.m2 + (delta * delta * a.n * b.n) / n,
  };
  if (a.m3 !== undefined && b.m3 !== undefined)
    merged.m3 =
      a.m3 + b.m3 + (delta ** 3 * a.n * b.n * (a.n - b.n)) / (n * n) + (3 * delta * (a.n * b.m2 - b.n * a.m2)) / n;
  return merged;
}

/** `count` units all with the value `value`: no spread, no skew. */
export const constant = (count: number, value: number): SufficientStats => ({ n: count, mean: value, m2: 0, m3: 0 });

/** `count` more units whose value is 0 (exposed units without events, for sums and counts). */
export const withZeros = (s: SufficientStats, count: number): SufficientStats =>
  count > 0 ? merge(s, { n: count, mean: 0, m2: 0 }) : s;

/** Welford's one-pass update. */
export function fromValues(values: readonly number[]): SufficientStats {
  let n = 0;
  let mean = 0;
  let m2 = 0;
  for (const x of values) {
    n++;
    const delta = x - mean;
    mean += delta / n;
    m2 += delta * (x - mean);
  }
  return { n, mean, m2 };
}

/** With the third central moment too (two passes): fixtures and tests of the skew-corrected t-test. */
export function fromValuesWithSkew(values: readonly number[]): SufficientStats {
  const s = fromValues(values);
  return { ...s, m3: values.reduce((sum, x) => sum + (x - s.mean) ** 3, 0) };
}

/**
 * From exact integer sums of values scaled by `scale` (Σx and Σx² as BigInts): the
 * deviations are formed exactly, n·Σx² − (Σx)², before anything is rounded.
 */
export function fromExactSums(n: number, sum: bigint, sumSquares: bigint, scale: number): SufficientStats {
  if (n === 0) return EMPTY;
  const count = BigInt(n);
  const deviations = count * sumSquares - sum * sum; // n² · Σ(x − x̄)², scaled²
  const mean = divide(sum, count) / scale;
  const m2 = divide(deviations > 0n ? deviations : 0n, count) / (scale * scale);
  return { n, mean, m2 };
}

/** a / b for BigInts, as the nearest double (integer part first, then the remainder). */
function divide(a: bigint, b: bigint): number {
  return Number(a / b) + Number(a % b) / Number(b);
}

/** From floating-point sums (fixtures and simulations that keep n, Σx, Σx²). */
export const fromSums = (n: number, sum: number, sumSquares: number): SufficientStats =>
  n === 0 ? EMPTY : { n, mean: sum / n, m2: Math.max(0, sumSquares - (sum * sum) / n) };

export const mean = (s: SufficientStats): number => (s.n > 0 ? s.mean : 0);

/** Unbiased sample variance, Σ(x − x̄)² / (n − 1). */
export const variance = (s: SufficientStats): number => (s.n > 1 ? Math.max(0, s.m2 / (s.n - 1)) : 0);

/**
 * The point estimates every test reports: the difference of means (treatment − control)
 * and the relative lift, the difference over |control| (treatment / control − 1 for a
 * positive control mean; the same sign as the difference always). NaN where there is no
 * estimate: an arm without users has no mean, and a control mean of 0 has no ratio.
 */
export function pointEstimates(
  control: SufficientStats,
  treatment: SufficientStats,
): { difference: number; lift: number } {
  if (control.n === 0 || treatment.n === 0) return { difference: NaN, lift: NaN };
  const difference = treatment.mean - control.mean;
  return { difference, lift: control.mean === 0 ? NaN : difference / Math.abs(control.mean) };
}

/**
 * A metric y beside a covariate x over the same units (CUPED's pre-exposure value of the
 * metric, shared/stats/cuped.ts): each one's SufficientStats and their co-moment
 * Σ(x − x̄)(y − ȳ). From the sums n, Σy, Σy², Σx, Σx², Σxy per variant and look; merged
 * with the pairwise update like SufficientStats, so arms pool without cancellation.
 */
export interface PairedStats {
  y: SufficientStats;
  x: SufficientStats;
  /** Σ(x − x̄)(y − ȳ) */
  cross: number;
}

export const EMPTY_PAIRED: PairedStats = Object.freeze({ y: EMPTY, x: EMPTY, cross: 0 });

export function mergePaired(a: PairedStats, b: PairedStats): PairedStats {
  if (a.y.n === 0) return b;
  if (b.y.n === 0) return a;
  const n = a.y.n + b.y.n;
  const dx = b.x.mean - a.x.mean;
  const dy = b.y.mean - a.y.mean;
  return { y: merge(a.y, b.y), x: merge(a.x, b.x), cross: a.cross + b.cross + (dx * dy * a.y.n * b.y.n) / n };
}

/**
 * From exact scaled sums (Σy, Σy², Σx, Σx² at `scale` and scale², Σxy at scale²) over n
 * units: the co-moment n·Σxy − Σx·Σy is formed in BigInt, as fromExactSums does for m2.
 */
export function pairedFromExactSums(
  n: number,
  sums: { sumY: bigint; sumYSquares: bigint; sumX: bigint; sumXSquares: bigint; sumXY: bigint },
  scale: number,
): PairedStats {
  if (n === 0) return EMPTY_PAIRED;
  const count = BigInt(n);
  return {
    y: fromExactSums(n, sums.sumY, sums.sumYSquares, scale),
    x: fromExactSums(n, sums.sumX, sums.sumXSquares, scale),
    cross: divide(count * sums.sumXY - sums.sumX * sums.sumY, count) / (scale * scale),
  };
}

/** From floating-point sums n, Σy, Σy², Σx, Σx², Σxy (fixtures and simulations). */
export const pairedFromSums = (
  n: number,
  sumY: number,
  sumYSquares: number,
  sumX: number,
  sumXSquares: number,
  sumXY: number,
): PairedStats =>
  n === 0
    ? EMPTY_PAIRED
    : { y: fromSums(n, sumY, sumYSquares), x: fromSums(n, sumX, sumXSquares), cross: sumXY - (sumX * sumY) / n };
