/** Sliders for variant weights that keep the total at 100; "equal split" leaves them unset. */
import { equalWeights, rebalance, type Weights } from "../../weights.js";

export function WeightSliders({
  label,
  variants,
  weights,
  onChange,
}: {
  label: string;
  variants: string[];
  weights: Weights | undefined;
  onChange: (weights: Weights | undefined) => void;
}) {
  const shown = weights ?? equalWeights(variants);
  return (
    <fieldset class="weights">
      <legend>{label}</legend>
      <label class="check">
        <input
          type="checkbox"
          checked={weights === undefined}
          onChange={(e) => onChange(e.currentTarget.checked ? undefined : equalWeights(variants))}
        />
        Equal split
      </label>
      {weights !== undefined &&
        variants.map((key) => (
          <label key={key} class="field slider">
            <span class="field-label">
              Weight of {key}: {shown[key] ?? 0}%
            </span>
            <input
              type="range"
              min={0}
              max={100}
              step={1}
              value={shown[key] ?? 0}
              onInput={(e) => onChange(rebalance(shown, variants, key, Number(e.currentTarget.value)))}
            />
          </label>
        ))}
      <p class="hint">Total: {variants.reduce((sum, key) => sum + (shown[key] ?? 0), 0)}%</p>
    </fieldset>
  );
}
