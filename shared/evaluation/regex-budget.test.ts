import { describe, expect, it } from "vitest";
import { compile, type EvaluationFlag } from "./index.js";
import { Operator } from "./operators.js";
import { newRegexBudget, REGEX_WORK_PER_EVALUATION, regexCost, repeats, spend } from "./regex-budget.js";

const OFF = { key: "off", metadata: { default: true } };
const selector = ["context", "user", "user_properties", "p"];

/** `segments` segments of `patterns` patterns each under `op`, serving `on` when one holds. */
const costlyFlag = (key: string, op: string, segments: number, patterns: number): EvaluationFlag => ({
  key,
  variants: { on: { key: "on" }, off: OFF },
  segments: [
    ...Array.from({ length: segments }, (_, s) => ({
      conditions: [[{ selector, op, values: Array.from({ length: patterns }, (_, i) => `\\d+\\.\\d+x${s}-${i}`) }]],
      variant: "on",
    })),
    { variant: "off" },
  ],
});

const userWith = (p: string) => ({ user: { user_id: "u", user_properties: { p } } });

describe("the regex budget", () => {
  it("charges a repeating pattern the square of the length and a plain one the length", () => {
    expect(repeats("\\d+\\.\\d+")).toBe(true);
    expect(repeats(".*chrome")).toBe(true);
    expect(repeats("^user-\\d{1,5}$")).toBe(true);
    expect(repeats("^(beta|gamma)$")).toBe(false);
    expect(regexCost(true, 999)).toBe(1_000_000);
    expect(regexCost(false, 999)).toBe(1000);
  });

  it("pays what it can, refuses what it cannot, and pays everything when absent", () => {
    const budget = newRegexBudget(10);
    expect(spend(budget, 6)).toBe(true);
    expect(spend(budget, 6)).toBe(false); // refused, and not taken
    expect(budget.remaining).toBe(4);
    expect(spend(budget, 4)).toBe(true);
    expect(spend(budget, 1)).toBe(false);
    expect(spend(undefined, Number.MAX_SAFE_INTEGER)).toBe(true);
  });

  it("fails the regex conditions of an evaluation once it is spent, both operators, and refills per evaluation", () => {
    // 3 segments × 1,000 quadratic patterns on a 1,000-character property: 3e9 units wanted,
    // where the budget holds 8e6 (about eight tests). None of the patterns matches, so
    // without the budget `does not match` would hold and serve `on`.
    const long = "1".repeat(1000);
    const wanted = 3 * 1000 * regexCost(true, long.length);
    expect(wanted).toBeGreaterThan(100 * REGEX_WORK_PER_EVALUATION);
    const flags = compile([
      costlyFlag("never-matches", Operator.REGEX_DOES_NOT_MATCH, 3, 1000),
      costlyFlag("matches", Operator.REGEX_MATCH, 3, 1000),
    ]);
    for (let i = 0; i < 3; i++) {
      // Interpreted first, compiled after: both paths pay from the same budget.
      const spent = flags.evaluate(userWith(long));
      expect(spent["never-matches"]?.key).toBe("off");
      expect(spent["matches"]?.key).toBe("off");
    }
    // A short property: each evaluation gets a fresh budget, and the same patterns decide as usual.
    const short = flags.evaluate(userWith("12.5x"));
    expect(short["never-matches"]?.key).toBe("on");
    expect(short["matches"]?.key).toBe("off");
    expect(flags.evaluate(userWith("12.5x2-999"))["matches"]?.key).toBe("on");
  });

  it("never runs a pattern whose cost no budget bounds, saved before the control plane refused it", () => {
    // 24 optional parts, then 24 a's: V8's first test of a fresh RegExp on 24 a's took 21 s.
    // Without the shape check the budget charged it 25 units and ran it.
    const exponential = `${"(?:a|b)?".repeat(24)}${"a".repeat(24)}$`;
    const backreference = "(.+)+\\1";
    for (const pattern of [exponential, backreference]) {
      const flag = (key: string, op: string): EvaluationFlag => ({
        key,
        variants: { on: { key: "on" }, off: OFF },
        segments: [{ conditions: [[{ selector, op, values: [pattern] }]], variant: "on" }, { variant: "off" }],
      });
      const flags = compile([flag("match", Operator.REGEX_MATCH), flag("no-match", Operator.REGEX_DOES_NOT_MATCH)]);
      for (let i = 0; i < 3; i++) {
        // Interpreted first, compiled after: neither path runs it, and neither operator holds.
        const results = flags.evaluate(userWith("a".repeat(24)));
        expect(results["match"]?.key).toBe("off");
        expect(results["no-match"]?.key).toBe("off");
      }
    }
  });

  it("leaves an evaluation of the usual size alone", () => {
    // 200 flags, each a repeating pattern on a 200-character user agent: 8e6 units would be spent
    // by about 200 such tests, so this is near the edge of what the budget pays for.
    const agent = `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 ${"x".repeat(200)}`.slice(0, 190);
    const flags = compile(
      Array.from({ length: 200 }, (_, i) => ({
        key: `f${i}`,
        variants: { on: { key: "on" }, off: OFF },
        segments: [
          { conditions: [[{ selector, op: Operator.REGEX_MATCH, values: [".*Linux.*"] }]], variant: "on" },
          { variant: "off" },
        ],
      })),
    );
    const results = flags.evaluate(userWith(agent));
    expect(Object.values(results).filter((variant) => variant.key === "on")).toHaveLength(200);
  });
});
