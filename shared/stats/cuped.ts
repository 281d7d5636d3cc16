/**
 * CUPED: variance reduction with pre-experiment data (Deng, Xu, Kohavi & Walker 2013,
 * "Improving the Sensitivity of Online Controlled Experiments by Utilizing Pre-Experiment
 * Data"), as GrowthBook's gbstats computes it (RegressionAdjustedStatistic, compute_theta).
 *
 * Each unit's metric y is paired with a covariate x, the same metric over the 14 days
 * before the unit's first exposure (0 for units without history). With one θ for every arm,
 *
 *   θ = Cov(x, y) / Var(x)        pooled over all arms' units (the treatment cannot move x,
 *                                  which is measured before exposure, so pooling is unbiased)
 *   ŷ_adj = ȳ − θ·(x̄ − x̄_pooled)  per arm; the difference of two arms is gbstats' exactly
 *   s²_adj = s²_y + θ²·s²_x − 2θ·s_xy
 *
 * s²_adj = s²_y·(1 − ρ²) at the pooled optimum, so a pre/post correlation ρ = 0.7 halves the
 * variance. The adjusted arm is a SufficientStats (n, mean, m2 = (n − 1)·s²_adj): the
 * sequential test, the t-test, the corrections, the verdicts and the sample plan consume it
 * unchanged. Centring on x̄_pooled (gbstats subtracts θ·x̄ alone) keeps each arm's adjusted
 * mean on the metric's own scale, so means and lifts read as before.
 */
import { mergePaired, variance, type PairedStats, type SufficientStats } from "./sufficient.js";

/** θ from the pooled units (gbstats' compute_theta); 0 when x or y has no variance. */
export function pooledTheta(arms: readonly PairedStats[]): number {
  const pooled = pool(arms);
  if (variance(pooled.x) === 0 || variance(pooled.y) === 0) return 0;
  return pooled.cross / pooled.x.m2;
}

export const pool = (arms: readonly PairedStats[]): PairedStats =>
  arms.reduce(mergePaired, { y: { n: 0, mean: 0, m2: 0 }, x: { n: 0, mean: 0, m2: 0 }, cross: 0 });

/** One arm adjusted by θ, centred on the pooled covariate mean `centre`. */
export function adjusted(arm: PairedStats, theta: number, centre: number): SufficientStats {
  const { x, y, cross } = arm;
  if (y.n === 0) return y;
  return {
    n: y.n,
    mean: y.mean - theta * (x.mean - centre),
    m2: Math.max(0, y.m2 + theta * theta * x.m2 - 2 * theta * cross),
  };
}

/** What CUPED did to a set of arms at one look. */
export interface CupedAdjustment {
  theta: number;
  /** Per arm, in the order given. */
  arms: SufficientStats[];
  /**
   * 1 − Σ s²_adj/n over Σ s²_y/n across arms: the share of the variance of the arms'
   * means removed (≈ ρ² for a correlation ρ), the same for the variance of a difference
   * between arms of equal size. 0 when nothing is adjusted.
   */
  varianceReduction: number;
}

export function cupedAdjust(arms: readonly PairedStats[]): CupedAdjustment {
  const theta = pooledTheta(arms);
  const centre = pool(arms).x.mean;
  const adjustedArms = arms.map((arm) => adjusted(arm, theta, centre));
  let before = 0;
  let after = 0;
  arms.forEach((arm, i) => {
    if (arm.y.n < 2) return;
    before += variance(arm.y) / arm.y.n;
    after += variance(adjustedArms[i]!) / arm.y.n;
  });
  return { theta, arms: adjustedArms, varianceReduction: before > 0 ? 1 - after / before : 0 };
}

/**
 * The relative effect (treatment − control) / |control| and its standard error as gbstats
 * computes them (frequentist_variance_relative_cuped): the delta method on the adjusted
 * means over the *unadjusted* control mean, with the control's covariance terms. θ = 0
 * gives the plain delta-method variance of a ratio of two independent means. Undefined
 * when there is no ratio (a control mean of 0) or no variance.
 */
export function relativeEffect(
  control: PairedStats,
  treatment: PairedStats,
  theta: number,
): { estimate: number; standardError: number } | undefined {
  const { y: yc, x: xc } = control;
  const { y: yt, x: xt } = treatment;
  if (yc.n < 2 || yt.n < 2 || yc.mean === 0) return undefined;
  const covariance = (arm: PairedStats) => arm.cross / (arm.y.n - 1);
  const mu = yc.mean;
  const difference = yt.mean - theta * xt.mean - (mu - theta * xc.mean);
  const vTreatment =
    (variance(yt) + theta * theta * variance(xt) - 2 * theta * covariance(treatment)) / (yt.n * mu * mu);
  const c = -yt.mean;
  const vControl =
    ((variance(yc) * c * c) / (mu * mu) + (2 * theta * covariance(control) * c) / mu + theta * theta * variance(xc)) /
    (yc.n * mu * mu);
  const v = vTreatment + vControl;
  if (!(v > 0)) return undefined;
  return { estimate: difference / Math.abs(mu), standardError: Math.sqrt(v) };
}
