/** Variant weights that always sum to 100: moving one slider spreads the rest over the others. */
export type Weights = Record<string, number>;

export const equalWeights = (keys: string[]): Weights => {
  const base = Math.floor(100 / keys.length);
  return Object.fromEntries(keys.map((key, i) => [key, i === keys.length - 1 ? 100 - base * (keys.length - 1) : base]));
};

/**
 * Sets `key` to `value` (whole percent) and shares what is left among the other variants in
 * proportion to their current weights (equally when they are all 0); rounding goes to the
 * last of them (the others round down), so the total is exactly 100 and none is negative.
 */
export function rebalance(weights: Weights, keys: string[], key: string, value: number): Weights {
  const target = Math.min(100, Math.max(0, Math.round(value)));
  const others = keys.filter((k) => k !== key);
  if (others.length === 0) return { [key]: 100 };
  const rest = 100 - target;
  const current = others.reduce((sum, k) => sum + (weights[k] ?? 0), 0);
  const next: Weights = { [key]: target };
  let given = 0;
  others.forEach((k, i) => {
    const share =
      i === others.length - 1
        ? rest - given
        : Math.floor(current > 0 ? ((weights[k] ?? 0) / current) * rest : rest / others.length);
    next[k] = share;
    given += share;
  });
  return Object.fromEntries(keys.map((k) => [k, next[k]!]));
}
