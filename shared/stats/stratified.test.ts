import { describe, expect, it } from "vitest";
import { postStratified } from "./stratified.js";
import { fromValues, variance } from "./sufficient.js";

describe("post-stratification over allocation epochs", () => {
  it("weights each epoch's arms by its share of units, and their variances by its square", () => {
    const epochs = [
      { control: fromValues([1, 0, 1, 1, 0, 1, 1, 0, 1]), treatment: fromValues([0, 1, 1]) },
      { control: fromValues([0, 0, 1, 0]), treatment: fromValues([1, 0, 0, 0, 0, 1]) },
    ];
    const combined = postStratified(epochs)!;
    // w = 12/22 and 10/22; by hand: control 12/22·6/9 + 10/22·1/4, Var = Σ w² s²/n.
    const w = [12 / 22, 10 / 22];
    expect(combined.control.mean).toBeCloseTo(w[0]! * (6 / 9) + w[1]! * (1 / 4), 12);
    expect(combined.treatment.mean).toBeCloseTo(w[0]! * (2 / 3) + w[1]! * (2 / 6), 12);
    const expected = epochs.reduce((v, e, i) => v + (w[i]! ** 2 * variance(e.control)) / e.control.n, 0);
    expect(variance(combined.control) / combined.control.n).toBeCloseTo(expected, 12);
    expect(combined.control.n).toBe(13);
  });

  it("combines nothing when fewer than two epochs have both arms", () => {
    const arm = fromValues([1, 0, 1]);
    expect(postStratified([{ control: arm, treatment: arm }])).toBeUndefined();
    expect(
      postStratified([
        { control: arm, treatment: arm },
        { control: arm, treatment: fromValues([1]) },
      ]),
    ).toBeUndefined();
  });
});
