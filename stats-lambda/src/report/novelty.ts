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
 * false alarms stay under 5% (novelty.simulation.test.ts).
 *
 * Sums and counts (totals, property sums, averages; issue 22 round 2): the same split with
 * means instead of shares, early = x̄_e over the units exposed by e, late = q = (Σx_d − Σx_e)/n_d
 * (each unit's change Δx since look e, 0 for the units exposed later). Var(x̄_e) = M2_e/(n_e(n_e − 1))
 * is exact; the late part's needs Σ(Δx)², which the sources do not send, but they send Σx² at
 * every look, and Σ(Δx)² = Σx_d² − 2Σx_d·x_e + Σx_e² is bounded from it:
 *   - a value that only grows from ≥ 0 (counts; sums of non-negative amounts such as revenue):
 *     x_d·x_e ≥ x_e², so Σ(Δx)² ≤ Σx_d² − Σx_e²;
 *   - any value (averages, which can fall): Σ(Δx)² ≤ (√Σx_d² + √Σx_e²)² (Minkowski's inequality);
 * and the variance of q is taken as (bound − n_d·q²)/(n_d(n_d − 1)), at least the true one. The
 * covariance of the two parts is bounded by Cauchy–Schwarz, |Σ(x_e − x̄_e)(Δx − q)| ≤ √(M2_e·bound),
 * so |Cov| ≤ √(M2_e·bound)/(n_e·n_d). The lifts and their variances then as above (delta method,
 * Deng, Knoblich & Lu 2018, "Applying the Delta Method in Metric Analytics", KDD). All the bounds
 * make the test conservative: false alarms below the binary case's, power bought with larger
 * samples (novelty-sums.simulation.test.ts). Sums and counts read uncapped: each look's cap
 * differs, and the bound needs a unit's own values at both looks. A sum whose amounts can be
 * negative (refunds) breaks the first bound; its check is then approximate.
 *
 * Ratios (Σx/Σy per arm: clicks per session, revenue per order): the same split on the
 * numerator and the denominator, R_e = Σx_e/Σy_e over the units exposed by e and
 * R_late = (Σx_d − Σx_e)/(Σy_d − Σy_e), the ratio of the units' changes since e; each by the
 * delta method (Deng, Knoblich & Lu 2018, §2.2: Var(R) = Σ(xᵢ − R·yᵢ)²·n/((n − 1)(Σy)²)).
 * The early part's Σ(x_e − R_e·y_e)² is exact (shared/stats/delta-method.ts). The later part's
 * Σ(Δx − R·Δy)² is not sent; with z = x − R·y at the later ratio R, it is Σ(Δz)², bounded by
 * Minkowski's inequality by (√Σz_d² + √Σz_e²)², both exact from each look's Σx², Σxy, Σy²
 * (it keeps the numerator's correlation with the denominator). When both sides only grow
 * from 0 (counts, non-negative amounts), ΔxΔy ≥ 0 also bounds it by Σ(Δx)² + R²·Σ(Δy)² ≤
 * (Σx_d² − Σx_e²) + R²(Σy_d² − Σy_e²); the smaller bound is taken. The covariance of the two
 * parts by Cauchy–Schwarz on the linearized values, |Cov| ≤ √(Σ(x_e − R_e·y_e)²·bound)/(Σy_e·ΣΔy).
 * The lifts then as above.
 * From look 4 on (0-based 3), both halves tested; once moved the flag stays,
 * and shows as `effect_not_stable`.
 */
import { type RatioSums, ratioStatistics, type SufficientStats } from "../../../shared/stats/index.js";
import type { MetricKind } from "./metric-statistics.js";

export const NOVELTY_Z = 2.807033768343811;
/** The first look (0-based) the check runs at. */
export const NOVELTY_FIRST_LOOK = 3;

/** One look's arms: statistics (means and shares) or a ratio's sums. */
interface Arms<T = SufficientStats> {
  control: T;
  treatment: T;
  eligible: boolean;
}

/** How the later part's second moment is bounded (below): a 0/1 metric, values that only grow, or any. */
export type Growth = "binary" | "monotone" | "any";

/** A part of an arm: its mean per unit and that mean's variance. */
interface Part {
  mean: number;
  variance: number;
}

/** One arm at looks e and d: the early part, the later part and a bound on |Cov(early, later)|. */
export interface ArmParts {
  early: Part;
  late: Part;
  cov: number;
}

/** A ratio of means t/c − 1 and its delta-method variance. */
function lift(t: Part, c: Part): { lift: number; variance: number } {
  return {
    lift: t.mean / c.mean - 1,
    variance: t.variance / (c.mean * c.mean) + (t.mean * t.mean * c.variance) / c.mean ** 4,
  };
}

const sumSquares = (s: SufficientStats) => s.m2 + s.n * s.mean * s.mean;

/** The early and later parts of one arm between looks e and d (see the header). */
export function armParts(e: SufficientStats, d: SufficientStats, growth: Growth): ArmParts | undefined {
  if (e.n < 2 || d.n < 2) return undefined;
  const later = d.mean * d.n - e.mean * e.n;
  const q = later / d.n;
  if (growth === "binary") {
    if (!(e.mean > 0 && e.mean < 1 && q > 0 && q < 1)) return undefined;
    return {
      early: { mean: e.mean, variance: (e.mean * (1 - e.mean)) / e.n },
      late: { mean: q, variance: (q * (1 - q)) / d.n },
      cov: (e.mean * later) / (e.n * d.n),
    };
  }
  // Σ(Δx)² over the units: at most Σx_d² − Σx_e² when every unit's value only grows from
  // a non-negative start (x_d·x_e ≥ x_e²), and at most (√Σx_d² + √Σx_e²)² always (Minkowski).
  const [sd, se] = [sumSquares(d), sumSquares(e)];
  const bound = growth === "monotone" ? Math.max(0, sd - se) : (Math.sqrt(sd) + Math.sqrt(se)) ** 2;
  const lateM2 = Math.max(0, bound - d.n * q * q);
  if (!(e.mean > 0 && q > 0 && e.m2 > 0 && lateM2 > 0)) return undefined;
  return {
    early: { mean: e.mean, variance: e.m2 / (e.n * (e.n - 1)) },
    late: { mean: q, variance: lateM2 / (d.n * (d.n - 1)) },
    // Cauchy–Schwarz over the early units: |Σ(x_e − x̄_e)(Δx − Δ̄)| ≤ √(M2_e · Σ(Δx)²).
    cov: Math.sqrt(e.m2 * bound) / (e.n * d.n),
  };
}

/** (Σy)²·Σ(xᵢ − (a/b)·yᵢ)² = b²Σx² − 2abΣxy + a²Σy², exact, as a double divided by b². */
function residualAt(s: RatioSums, a: bigint, b: bigint): number {
  const scaled = b * b * s.sumXSquares - 2n * a * b * s.sumXY + a * a * s.sumYSquares;
  return scaled > 0n ? Number(scaled) / Number(b * b) : 0;
}

/** A ratio's early and later parts between looks e and d (see the header); sums scaled alike. */
export function ratioParts(e: RatioSums, d: RatioSums, growth: Exclude<Growth, "binary">): ArmParts | undefined {
  if (e.n < 2 || d.n < 2 || e.sumY <= 0n) return undefined;
  const [a, b] = [d.sumX - e.sumX, d.sumY - e.sumY]; // the later changes' Σx and Σy
  if (b <= 0n || a <= 0n || e.sumX <= 0n) return undefined;
  const early = ratioStatistics(e);
  const earlyResidual = residualAt(e, e.sumX, e.sumY);
  // Σ(Δx − R·Δy)² at R = a/b: Minkowski on z = x − R·y; and, when both sides only grow, ΣΔx² + R²ΣΔy².
  const minkowski = (Math.sqrt(residualAt(d, a, b)) + Math.sqrt(residualAt(e, a, b))) ** 2;
  const growing = Number(b * b * (d.sumXSquares - e.sumXSquares) + a * a * (d.sumYSquares - e.sumYSquares));
  const bound = growth === "monotone" ? Math.min(minkowski, Math.max(0, growing) / Number(b * b)) : minkowski;
  if (!(early.m2 > 0 && bound > 0)) return undefined;
  const [ye, yLate] = [Number(e.sumY), Number(b)];
  return {
    early: { mean: early.mean, variance: early.m2 / (e.n * (e.n - 1)) },
    late: { mean: Number(a) / yLate, variance: (bound * d.n) / ((d.n - 1) * yLate * yLate) },
    cov: Math.sqrt(earlyResidual * bound) / (ye * yLate),
  };
}

/** How one arm's early and later parts are formed from its data at looks e and d. */
export type Split<T> = (e: T, d: T) => ArmParts | undefined;

/** The split of means and shares (armParts) for a kind of growth. */
export const meanSplit =
  (growth: Growth): Split<SufficientStats> =>
  (e, d) =>
    armParts(e, d, growth);

/** The check's z at looks e (early) and d (late), or undefined when a part is empty or degenerate. */
export function noveltyZ<T>(early: Arms<T>, late: Arms<T>, split: Split<T>): number | undefined {
  const t = split(early.treatment, late.treatment);
  const c = split(early.control, late.control);
  if (!t || !c) return undefined;
  const a = lift(t.early, c.early);
  const b = lift(t.late, c.late);
  // Covariance bounds carried to the lifts' scale (first-order terms of each arm).
  const covariance =
    t.cov / (c.early.mean * c.late.mean) + (c.cov * t.early.mean * t.late.mean) / (c.early.mean * c.late.mean) ** 2;
  const spread = Math.sqrt(a.variance + b.variance + 2 * covariance);
  return spread > 0 ? (b.lift - a.lift) / spread : undefined;
}

/** Per look, whether the lift moved as the units aged (above), at this look or an earlier one. */
export function liftMoved<T>(looks: readonly Arms<T>[], split: Split<T>): boolean[] {
  let moved = false;
  return looks.map((late, day) => {
    const early = looks[Math.floor(day / 2)]!;
    if (day >= NOVELTY_FIRST_LOOK && late.eligible && early.eligible) {
      const z = noveltyZ(early, late, split);
      moved ||= z !== undefined && Math.abs(z) > NOVELTY_Z;
    }
    return moved;
  });
}

/**
 * How a metric's per-unit value moves (the bound above): 0/1 metrics exactly; counts and
 * sums only grow (sums read as non-negative amounts: revenue); a unit's average may fall,
 * so the general bound. A ratio's sides are counts and sums: both only grow.
 */
export function growthOf(type: string, kind: MetricKind): Growth {
  if (kind === "binary") return "binary";
  return type === "property_average" ? "any" : "monotone";
}
