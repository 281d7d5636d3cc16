import { describe, expect, it } from "vitest";
import { EVALUATION, MAX_SLOTS, nextEvaluation, oncePerEvaluation, type Target } from "./select.js";

/** A memoised value named `name` and how many times it was computed. */
function counted(name: string) {
  const counter = { calls: 0 };
  const read = oncePerEvaluation(name, () => {
    counter.calls += 1;
    return name;
  });
  return { counter, read };
}

const evaluation = (): Target => ({ context: {}, result: {}, [EVALUATION]: nextEvaluation() });

describe("oncePerEvaluation's slots", () => {
  it("keep memoising, without mixing values, past MAX_SLOTS distinct names", () => {
    // An isolate that served many deployments: more names than slots, each compiled once.
    const early = counted("early");
    for (let i = 0; i < MAX_SLOTS * 2 + 5; i++) oncePerEvaluation(`other deployment ${i}`, () => i);
    const late = counted("late");
    const target = evaluation();
    for (let i = 0; i < 3; i++) {
      expect(late.read(target)).toBe("late");
      expect(early.read(target)).toBe("early");
    }
    expect(late.counter.calls).toBe(1); // the current deployment's names memoise (they were computed every time)
    expect(early.counter.calls).toBe(1); // a set compiled before keeps its slots
    late.read(evaluation());
    expect(late.counter.calls).toBe(2); // a new evaluation computes again
  });

  it("never let a later name read an earlier name's value from a reused slot", () => {
    // Names that land on the same slot index in successive rounds, read in one evaluation.
    const firsts = Array.from({ length: MAX_SLOTS }, (_, i) => counted(`first ${i}`));
    const seconds = Array.from({ length: MAX_SLOTS }, (_, i) => counted(`second ${i}`));
    const target = evaluation();
    for (let i = 0; i < MAX_SLOTS; i += 97) {
      expect(firsts[i]!.read(target)).toBe(`first ${i}`);
      expect(seconds[i]!.read(target)).toBe(`second ${i}`);
      expect(firsts[i]!.read(target)).toBe(`first ${i}`);
    }
  });
});
