/**
 * Multiple-comparison corrections over a family of hypotheses (an experiment's primary
 * metric × treatments, or its secondary metrics × treatments). Each returns the adjusted
 * p-values (a hypothesis is rejected when its adjusted p ≤ α) and the level at which its
 * interval is drawn, chosen so that an interval excludes 0 exactly when the hypothesis
 * is rejected:
 * - Bonferroni (Dunn 1961): p·m, intervals at α/m. Controls the family-wise error.
 * - Holm (1979, "A simple sequentially rejective multiple test procedure"): step-down,
 *   p₍ᵢ₎·(m − i + 1) made monotone. Same family-wise guarantee, never less power. With R
 *   rejections every interval is drawn at α/(m − R) (α when all are rejected): rejected
 *   p-values are at most α/(m − R + 1), the others above α/(m − R).
 * - Benjamini–Hochberg (1995): step-up, p₍ᵢ₎·m/i made monotone; controls the false
 *   discovery rate. Intervals at R·α/m, the false-coverage-rate intervals of Benjamini &
 *   Yekutieli (2005), α/m when nothing is rejected.
 */
export const CORRECTIONS = ["bonferroni", "holm", "benjamini-hochberg"] as const;
export type Correction = (typeof CORRECTIONS)[number];

export interface Adjusted {
  pValues: number[];
  /** The significance level each hypothesis's interval is drawn at. */
  levels: number[];
}

export function adjust(pValues: readonly number[], alpha: number, correction: Correction): Adjusted {
  const m = pValues.length;
  if (m === 0) return { pValues: [], levels: [] };
  const order = pValues.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const adjusted = new Array<number>(m);
  if (correction === "bonferroni") {
    for (const [i, p] of pValues.entries()) adjusted[i] = Math.min(1, p * m);
    return { pValues: adjusted, levels: pValues.map(() => alpha / m) };
  }
  if (correction === "holm") {
    let running = 0;
    for (const [rank, [p, i]] of order.entries())
      adjusted[i] = running = Math.max(running, Math.min(1, p * (m - rank)));
  } else {
    let running = 1;
    for (let rank = m - 1; rank >= 0; rank--) {
      const [p, i] = order[rank]!;
      adjusted[i] = running = Math.min(running, Math.min(1, (p * m) / (rank + 1)));
    }
  }
  const rejected = adjusted.filter((p) => p <= alpha).length;
  const level = correction === "holm" ? alpha / Math.max(1, m - rejected) : (Math.max(1, rejected) * alpha) / m;
  return { pValues: adjusted, levels: pValues.map(() => level) };
}
