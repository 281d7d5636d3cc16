/**
 * A Bayesian readout of one comparison, beside the frequentist test (never instead of it:
 * the verdict stays the sequential test's). After GrowthBook's gbstats
 * (EffectBayesianABTest): a normal likelihood for the relative effect
 * (treatment − control) / |control| with its delta-method standard error
 * (shared/stats/cuped.ts relativeEffect, CUPED-adjusted when the metric is), and a
 * Gaussian prior on that effect. gbstats' default prior is improper (flat): the posterior
 * is then N(estimate, se²) itself. A proper prior N(m, v) shrinks it by precision weighting.
 *
 * - chance to beat control: P(effect > 0 | data), P(effect < 0) for a metric that should decrease
 * - expected loss: E[max(−effect, 0)], what choosing the treatment costs, in relative terms,
 *   if it is in fact worse (E[max(effect, 0)] for a metric that should decrease)
 * - credible interval: the posterior's central 1 − α interval
 */
import normalCdf from "@stdlib/stats-base-dists-normal-cdf";
import normalQuantile from "@stdlib/stats-base-dists-normal-quantile";

export interface GaussianPrior {
  mean: number;
  variance: number;
  /** false: the flat (improper) prior, gbstats' default; mean and variance are then unused. */
  proper: boolean;
}

export const DEFAULT_PRIOR: GaussianPrior = Object.freeze({ mean: 0, variance: 1, proper: false });

export interface BayesianReadout {
  chanceToBeatControl: number;
  expectedLoss: number;
  credibleInterval: [number, number];
  /** The posterior of the relative effect. */
  posteriorMean: number;
  posteriorSd: number;
}

const phi = (z: number) => Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);

/**
 * E[max(X, 0)] and E[max(−X, 0)] for X ~ N(μ, σ²): μΦ(z) + σφ(z) and σφ(z) − μΦ(−z), z = μ/σ
 * (gbstats' risk, in closed form; beyond |z| = 37 the analytic limit, as gbstats takes).
 */
export function risks(mu: number, sigma: number): { ifPositive: number; ifNegative: number } {
  if (sigma > 0 && Math.abs(mu / sigma) > 37) return { ifPositive: Math.max(mu, 0), ifNegative: Math.max(-mu, 0) };
  const z = mu / sigma;
  return {
    ifPositive: mu * normalCdf(z, 0, 1) + sigma * phi(z),
    ifNegative: sigma * phi(z) - mu * normalCdf(-z, 0, 1),
  };
}

export function bayesianReadout(
  effect: { estimate: number; standardError: number },
  options: { alpha: number; decrease?: boolean; prior?: GaussianPrior },
): BayesianReadout | undefined {
  const prior = options.prior ?? DEFAULT_PRIOR;
  const dataVariance = effect.standardError ** 2;
  if (!(dataVariance > 0)) return undefined;
  const precision = 1 / dataVariance + (prior.proper ? 1 / prior.variance : 0);
  const mean = prior.proper
    ? (effect.estimate / dataVariance + prior.mean / prior.variance) / precision
    : effect.estimate;
  const sd = Math.sqrt(1 / precision);
  const above = 1 - normalCdf(0, mean, sd);
  const { ifPositive, ifNegative } = risks(mean, sd);
  return {
    chanceToBeatControl: options.decrease ? 1 - above : above,
    expectedLoss: options.decrease ? ifPositive : ifNegative,
    credibleInterval: [normalQuantile(options.alpha / 2, mean, sd), normalQuantile(1 - options.alpha / 2, mean, sd)],
    posteriorMean: mean,
    posteriorSd: sd,
  };
}
