/**
 * Ratio metrics (Σx / Σy over units: clicks per session, revenue per order) by the delta
 * method, after Deng, Knoblich & Lu (2018), "Applying the Delta Method in Metric Analytics:
 * A Practical Guide with Novel Ideas", §2.2: the unit (the randomization unit) is the
 * independent observation, not the session or order, so the ratio's variance is that of a
 * ratio of two correlated means,
 *
 *   R = x̄ / ȳ      Var(R) ≈ (1/n) · (σ²ₓ/μ²ᵧ − 2·μₓ·σₓᵧ/μ³ᵧ + μ²ₓ·σ²ᵧ/μ⁴ᵧ)
 *
 * With sample moments that is (1/n) · s², where s² = Σ(xᵢ − R·yᵢ)² / ((n − 1)·ȳ²) is the
 * variance of each unit's linearized value (xᵢ − R·yᵢ)/ȳ: the nR·ȳ terms cancel because
 * Σ(xᵢ − R·yᵢ) = 0. Multiplied out by (Σy)², Σ(xᵢ − R·yᵢ)² is an integer expression of the
 * exact sums — (Σy)²·Σx² − 2·Σx·Σy·Σxy + (Σx)²·Σy² — formed here in BigInt before anything
 * is rounded, as fromExactSums does for means.
 *
 * The result is a SufficientStats whose mean is R and whose variance / n is Var(R), so the
 * same tests (Welch, mSPRT), corrections, Fieller lift interval and sample plan apply to a
 * ratio unchanged: the two arms are independent, each contributes its Var(R).
 */
import { EMPTY, type SufficientStats } from "./sufficient.js";

/** Exact sums over units of a ratio's numerator x and denominator y, scaled alike. */
export interface RatioSums {
  /** Units (exposed, with or without events). */
  n: number;
  sumX: bigint;
  sumXSquares: bigint;
  sumY: bigint;
  sumYSquares: bigint;
  /** Σ xᵢ·yᵢ */
  sumXY: bigint;
}

/**
 * The ratio Σx/Σy and its delta-method variance as (n, mean = R, m2 = s²·(n − 1)), or
 * EMPTY-like statistics without variance when there is no ratio yet (no units, Σy = 0):
 * the tests treat those as untestable.
 */
export function ratioStatistics(sums: RatioSums): SufficientStats {
  const { n, sumX, sumXSquares, sumY, sumYSquares, sumXY } = sums;
  if (n === 0) return EMPTY;
  if (sumY === 0n) return { n, mean: 0, m2: 0 };
  // (Σy)² · Σ(xᵢ − R·yᵢ)², exact; never negative for real data (Cauchy–Schwarz), clamped for inconsistent sums.
  const residual = sumY * sumY * sumXSquares - 2n * sumX * sumY * sumXY + sumX * sumX * sumYSquares;
  const count = BigInt(n);
  // s² = Σ(xᵢ − R·yᵢ)² · n² / ((n − 1)·(Σy)²) = residual · n² / ((n − 1)·(Σy)⁴); m2 = s²·(n − 1).
  const m2 = residual > 0n ? ratioOf(residual * count * count, sumY ** 4n) : 0;
  return { n, mean: ratioOf(sumX, sumY), m2 };
}

/** a / b for BigInts as the nearest double, for quotients of any size (BigInt division truncates). */
function ratioOf(a: bigint, b: bigint): number {
  const quotient = a / b;
  return Number(quotient) + Number(a - quotient * b) / Number(b);
}

/** The delta-method variance of R from floating-point moments (the formula above, term by term). */
export function deltaMethodVariance(moments: {
  n: number;
  meanX: number;
  meanY: number;
  varianceX: number;
  varianceY: number;
  covariance: number;
}): number {
  const { n, meanX, meanY, varianceX, varianceY, covariance } = moments;
  return (varianceX / meanY ** 2 - (2 * meanX * covariance) / meanY ** 3 + (meanX ** 2 * varianceY) / meanY ** 4) / n;
}
