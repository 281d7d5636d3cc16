/**
 * The novelty check: does the effect change with time since exposure? Early in an
 * experiment every event comes from a unit exposed days ago at most; later, events come
 * from units of every age. So an effect that fades after exposure (novelty) or builds up
 * (learning) makes the lift of the events that arrive later differ from the lift of the
 * first ones, while an effect equal at every age keeps the two alike. At look d, with
 * e = ⌊d/2⌋, per arm over its exposed units:
 *
 *   early: p_e = units converted by look e / units exposed by e
 *   late:  q   = units converted in looks e+1…d / units exposed by d
 *   lift_early = p_e,t / p_e,c − 1,   lift_late = q_t / q_c − 1
 *
 * For a 0/1 metric both are shares of units, with exact variances p(1 − p)/n; the lifts'
 * by the delta method (Deng, Knoblich & Lu 2018): Var ≈ v_t/x_c² + x_t²·v_c/x_c⁴. A unit
 * converts once, so within an arm the two shares are negatively correlated, |Cov| ≤
 * p_e·Δ/(n_e·n_d) (Δ the late conversions, all from early units at most), which is added
 * to the variance of the difference (conservatively, with both arms' bounds):
 *
 *   z = (lift_late − lift_early) / sqrt(Var_late + Var_early + 2·(covariance bound))
 *
 * flagged when |z| > z₀.₉₉₇₅ = 2.807 (0.5% two-sided at one look): over all the daily looks
 * false alarms stay under 5% (novelty.simulation.test.ts). Binary metrics only (conversions, funnels, retention):
 * for sums and counts the late part's variance needs Σ(Δx)² per unit, which the sources
 * do not send. From look 4 on (0-based 3), both halves tested; once moved the flag stays,
 * and shows as `effect_not_stable`.
 */
import type { SufficientStats } from "../../../shared/stats/index.js";

export const NOVELTY_Z = 2.807033768343811;
/** The first look (0-based) the check runs at. */
export const NOVELTY_FIRST_LOOK = 3;

interface Arms {
  control: SufficientStats;
  treatment: SufficientStats;
  eligible: boolean;
}

interface Share {
  p: number;
  n: number;
}

/** A ratio of shares t/c − 1 and its delta-method variance. */
function lift(t: Share, c: Share): { lift: number; variance: number } {
  const vt = (t.p * (1 - t.p)) / t.n;
  const vc = (c.p * (1 - c.p)) / c.n;
  return { lift: t.p / c.p - 1, variance: vt / (c.p * c.p) + (t.p * t.p * vc) / c.p ** 4 };
}

/** Per look, whether a 0/1 metric's lift moved as the units aged (above), at this look or an earlier one. */
export function liftMoved(looks: readonly Arms[]): boolean[] {
  let moved = false;
  return looks.map((late, day) => {
    const early = looks[Math.floor(day / 2)]!;
    if (day >= NOVELTY_FIRST_LOOK && late.eligible && early.eligible) {
      const arm = (pick: (a: Arms) => SufficientStats) => {
        const [e, d] = [pick(early), pick(late)];
        const converted = e.mean * e.n;
        const later = Math.max(0, d.mean * d.n - converted);
        return { early: { p: e.mean, n: e.n }, late: { p: later / d.n, n: d.n }, cov: (e.mean * later) / (e.n * d.n) };
      };
      const [t, c] = [arm((a) => a.treatment), arm((a) => a.control)];
      if ([t.early, t.late, c.early, c.late].every((s) => s.p > 0 && s.p < 1 && s.n > 1)) {
        const a = lift(t.early, c.early);
        const b = lift(t.late, c.late);
        // Covariance bounds carried to the lifts' scale (first-order terms of each arm).
        const covariance =
          t.cov / (c.early.p * c.late.p) + (c.cov * t.early.p * t.late.p) / (c.early.p * c.late.p) ** 2;
        const spread = Math.sqrt(a.variance + b.variance + 2 * covariance);
        moved ||= spread > 0 && Math.abs(b.lift - a.lift) / spread > NOVELTY_Z;
      }
    }
    return moved;
  });
}
