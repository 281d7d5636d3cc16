/**
 * Fieller's interval for a ratio of independent means (Fieller 1954, "Some problems in
 * interval estimation"; for A/B lifts, Kohavi, Tang & Xu 2020, "Trustworthy Online
 * Controlled Experiments", §18): the set of ratios ρ with
 *
 *   (x̄_t − ρ·x̄_c)² ≤ z² · (v_t + ρ²·v_c)      v = s²/n, the variance of each mean
 *
 * At ρ = 1 this is exactly the test of the difference with the same critical value z, so
 * the relative interval excludes 0 if and only if the absolute one does: the two can never
 * disagree, which the delta method's symmetric interval cannot promise (it also covers
 * less than it claims for skewed data at moderate n). When the control mean is not itself
 * distinguishable from 0 (x̄_c² ≤ z²·v_c) the set is unbounded and there is no interval.
 *
 * The lift is (x̄_t − x̄_c)/|x̄_c|, which is ρ − 1 for a positive control mean and 1 − ρ for a
 * negative one (net revenue after refunds): its sign is always the difference's.
 */
export function fiellerRelativeInterval(
  controlMean: number,
  controlVariance: number,
  treatmentMean: number,
  treatmentVariance: number,
  z: number,
): [number, number] | undefined {
  const z2 = z * z;
  const a = controlMean * controlMean - z2 * controlVariance;
  if (!(a > 0) || !Number.isFinite(z)) return undefined;
  const b = treatmentMean * controlMean;
  const discriminant =
    z2 *
    (controlMean * controlMean * treatmentVariance +
      treatmentMean * treatmentMean * controlVariance -
      z2 * controlVariance * treatmentVariance);
  const root = Math.sqrt(Math.max(0, discriminant));
  const [lo, hi] = [(b - root) / a, (b + root) / a];
  return controlMean > 0 ? [lo - 1, hi - 1] : [1 - hi, 1 - lo];
}
