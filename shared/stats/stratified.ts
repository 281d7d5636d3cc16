/**
 * Post-stratification over allocation epochs (the strata the sample-ratio check records:
 * units assigned under one set of shares). When the split changes during an experiment
 * (90/10 → 50/50), pooled arms hold different mixes of exposure days: with a baseline or a
 * conversion lag that moves over time the pooled difference is biased (Simpson's
 * paradox). Within an epoch both arms share one mix, so each epoch's difference is
 * unbiased; they are combined with the epochs' shares of units (Miratrix, Sekhon & Yu
 * 2013, "Adjusting treatment effect estimates by post-stratification in randomized
 * experiments", JRSS B 75(2), eq. 2 and its variance conditional on the strata sizes):
 *
 *   w_e = N_e / Σ N_e             (N_e: the epoch's units in both arms)
 *   x̄_a = Σ w_e x̄_{a,e}           Var(x̄_a) = Σ w_e² s²_{a,e} / n_{a,e}
 *
 * N·(x̄_t − x̄_c) = Σ_e N_e (x̄_{t,e} − x̄_{c,e}) is, unit by unit, a sum of independent
 * contributions with coefficients fixed at assignment (±N_e/n_{a,e} ≈ 1/share), so under
 * H0 it is a martingale and the mSPRT on the combined estimate keeps its always-valid
 * guarantee, as on one stratum; simulations through buildReport check it
 * (stratified.simulation.test.ts).
 *
 * The result is handed to the tests as one SufficientStats per arm whose mean is x̄_a and
 * whose variance of the mean (variance / n) is Var(x̄_a), so every test, interval and
 * correction downstream is unchanged.
 */
import { variance, type SufficientStats } from "./sufficient.js";

export interface EpochArms {
  control: SufficientStats;
  treatment: SufficientStats;
}

/**
 * The post-stratified arms, or undefined when fewer than two epochs have both arms with
 * at least two units (then there is nothing to combine: the caller keeps the pooled arms).
 * Epochs missing an arm cannot compare it and are left out of the weights.
 */
export function postStratified(epochs: readonly EpochArms[]): EpochArms | undefined {
  const usable = epochs.filter((e) => e.control.n >= 2 && e.treatment.n >= 2);
  if (usable.length < 2) return undefined;
  const total = usable.reduce((sum, e) => sum + e.control.n + e.treatment.n, 0);
  const arm = (pick: (e: EpochArms) => SufficientStats): SufficientStats => {
    let n = 0;
    let mean = 0;
    let varianceOfMean = 0;
    for (const epoch of usable) {
      const s = pick(epoch);
      const w = (epoch.control.n + epoch.treatment.n) / total;
      n += s.n;
      mean += w * s.mean;
      varianceOfMean += (w * w * variance(s)) / s.n;
    }
    // variance(result) / n = Var(x̄_a): m2 = Var(x̄_a) · n · (n − 1).
    return { n, mean, m2: varianceOfMean * n * (n - 1) };
  };
  return { control: arm((e) => e.control), treatment: arm((e) => e.treatment) };
}
