/**
 * Bonferroni correction for m simultaneous comparisons (Dunn 1961, "Multiple
 * Comparisons Among Means"): p-values are multiplied by m (capped at 1) and intervals
 * use α/m, so the family-wise error stays at α.
 */
export const bonferroniP = (pValue: number, comparisons: number): number => Math.min(1, pValue * Math.max(1, comparisons));
export const bonferroniAlpha = (alpha: number, comparisons: number): number => alpha / Math.max(1, comparisons);
