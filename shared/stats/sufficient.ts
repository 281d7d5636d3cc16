/**
 * Sufficient statistics of a sample: count, sum and sum of squares. Enough for means,
 * variances and every test here, mergeable (so shards and days add up), and what the
 * stats service keeps per variant and metric instead of per-user values.
 */
export interface SufficientStats {
  n: number;
  sum: number;
  sumSquares: number;
}

export const EMPTY: SufficientStats = Object.freeze({ n: 0, sum: 0, sumSquares: 0 });

export const merge = (a: SufficientStats, b: SufficientStats): SufficientStats => ({ n: a.n + b.n, sum: a.sum + b.sum, sumSquares: a.sumSquares + b.sumSquares });

export const fromValues = (values: readonly number[]): SufficientStats => values.reduce<SufficientStats>((s, x) => ({ n: s.n + 1, sum: s.sum + x, sumSquares: s.sumSquares + x * x }), EMPTY);

export const mean = (s: SufficientStats): number => (s.n > 0 ? s.sum / s.n : 0);

/**
 * The point estimates every test reports: the difference of means (treatment − control)
 * and the relative lift (treatment / control − 1). NaN where there is no estimate: an arm
 * without users has no mean, and a control mean of 0 has no ratio.
 */
export function pointEstimates(control: SufficientStats, treatment: SufficientStats): { difference: number; lift: number } {
  if (control.n === 0 || treatment.n === 0) return { difference: NaN, lift: NaN };
  const difference = mean(treatment) - mean(control);
  return { difference, lift: mean(control) === 0 ? NaN : mean(treatment) / mean(control) - 1 };
}

/** Unbiased sample variance, Σ(x − x̄)² / (n − 1), from the sums; clamped at 0 against rounding. */
export const variance = (s: SufficientStats): number => (s.n > 1 ? Math.max(0, (s.sumSquares - (s.sum * s.sum) / s.n) / (s.n - 1)) : 0);
