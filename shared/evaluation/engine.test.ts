import { EvaluationEngine, topologicalSort as referenceSort } from "@amplitude/experiment-core";
import { describe, expect, it } from "vitest";
import { checkoutExperiment } from "../../test/support/flags.js";
import { evaluate } from "./evaluate.test-support.js";
import { compile, DependencyCycleError, type EvaluationFlag } from "./index.js";

const reference = (context: object, flags: EvaluationFlag[]) =>
  new EvaluationEngine().evaluate(
    context as never,
    referenceSort(Object.fromEntries(flags.map((f) => [f.key, f])) as never),
  );

const OFF = { key: "off", metadata: { default: true } };

/** The design's bucketing test vector (salt abc123, 50% allocated, 50/50 split), shared with the edge tests. */
const vectorFlag = checkoutExperiment;
const KEY = vectorFlag.key;

const flagWithRule = (
  op: string,
  values: string[],
  selector = ["context", "user", "user_properties", "p"],
): EvaluationFlag => ({
  key: "rule",
  variants: { on: { key: "on" }, off: OFF },
  segments: [{ conditions: [[{ selector, op, values }]], variant: "on" }, { variant: "off" }],
});

const userWith = (p: unknown) => ({ user: { user_id: "u", user_properties: { p } } });

describe("evaluation engine", () => {
  it("buckets the design's test vector", () => {
    const at = (userId: string) => evaluate({ user: { user_id: userId } }, [vectorFlag])[KEY]?.key;
    expect(at("user-1")).toBe("treatment");
    expect(at("user-4")).toBe("control");
    expect(at("user-2")).toBe("off");
  });

  it("merges flag, segment and variant metadata in that order", () => {
    const result = evaluate({ user: { user_id: "user-1" } }, [vectorFlag])[KEY];
    expect(result).toEqual({
      key: "treatment",
      value: "treatment",
      payload: { color: "green" },
      metadata: {
        flagType: "experiment",
        experimentKey: "exp-checkout",
        flagVersion: 3,
        evaluationMode: "remote",
        segmentName: "All Other Users",
      },
    });
  });

  it("gives the default variant when the bucketing value is missing or empty", () => {
    for (const context of [{}, { user: {} }, { user: { user_id: "" } }, { user: { user_id: null } }]) {
      expect(evaluate(context, [vectorFlag])[KEY]?.key).toBe("off");
    }
  });

  it("buckets unicode IDs as the reference does", () => {
    for (const id of ["用户-1", "🙂", "Zoë", "\ud800"]) {
      expect(evaluate({ user: { user_id: id } }, [vectorFlag])).toStrictEqual(
        reference({ user: { user_id: id } }, [vectorFlag]),
      );
    }
  });

  it("honours 0% and 100% allocations", () => {
    const withAllocation = (range: [number, number]): EvaluationFlag => ({
      ...vectorFlag,
      segments: [
        {
          ...vectorFlag.segments[0]!,
          bucket: {
            ...vectorFlag.segments[0]!.bucket!,
            allocations: [{ range, distributions: [{ variant: "treatment", range: [0, 42949673] }] }],
          },
        },
      ],
    });
    const ids = Array.from({ length: 500 }, (_, i) => `user-${i}`);
    expect(ids.every((id) => evaluate({ user: { user_id: id } }, [withAllocation([0, 0])])[KEY]?.key === "off")).toBe(
      true,
    );
    expect(
      ids.every((id) => evaluate({ user: { user_id: id } }, [withAllocation([0, 100])])[KEY]?.key === "treatment"),
    ).toBe(true);
  });

  it("matches a missing value only against (none)", () => {
    expect(evaluate(userWith(undefined), [flagWithRule("is", ["(none)"])])["rule"]?.key).toBe("on");
    expect(evaluate(userWith(undefined), [flagWithRule("is", ["x"])])["rule"]?.key).toBe("off");
    expect(evaluate(userWith(undefined), [flagWithRule("is not", ["x"])])["rule"]?.key).toBe("on");
    expect(evaluate(userWith("x"), [flagWithRule("is", ["(none)"])])["rule"]?.key).toBe("off");
  });

  it("compares numbers given as strings numerically", () => {
    expect(evaluate(userWith("10"), [flagWithRule("greater", ["9"])])["rule"]?.key).toBe("on");
    expect(evaluate(userWith(10), [flagWithRule("greater", ["9"])])["rule"]?.key).toBe("on");
    expect(evaluate(userWith("abc"), [flagWithRule("greater", ["9"])])["rule"]?.key).toBe("off");
  });

  it("treats empty sets as sets", () => {
    expect(evaluate(userWith([]), [flagWithRule("set is", [])])["rule"]?.key).toBe("on");
    expect(evaluate(userWith("[]"), [flagWithRule("set contains any", ["a"])])["rule"]?.key).toBe("off");
    expect(evaluate(userWith([]), [flagWithRule("set does not contain", ["a"])])["rule"]?.key).toBe("on");
  });

  it("keeps evaluating other flags when a rule holds an invalid regex", () => {
    const broken = { ...flagWithRule("regex match", ["(unclosed"]), key: "broken" };
    const results = evaluate(userWith("(unclosed"), [broken, vectorFlag]);
    expect(results["broken"]?.key).toBe("off");
    expect(results[KEY]).toBeDefined();
  });

  it("reads a parent's result through dependencies, evaluating parents first", () => {
    const child: EvaluationFlag = {
      key: "child",
      dependencies: [KEY],
      variants: { on: { key: "on" }, off: OFF },
      segments: [
        { conditions: [[{ selector: ["result", KEY, "key"], op: "is", values: ["treatment"] }]], variant: "on" },
        { variant: "off" },
      ],
    };
    // Child listed first: the topological order still evaluates the parent before it.
    expect(evaluate({ user: { user_id: "user-1" } }, [child, vectorFlag])["child"]?.key).toBe("on");
    expect(evaluate({ user: { user_id: "user-4" } }, [child, vectorFlag])["child"]?.key).toBe("off");
    expect(Object.keys(evaluate({ user: { user_id: "user-1" } }, [child, vectorFlag], ["child"])).sort()).toEqual(
      [KEY, "child"].sort(),
    );
  });

  it("rejects dependency cycles at compile time", () => {
    const a: EvaluationFlag = { key: "a", dependencies: ["b"], variants: {}, segments: [] };
    const b: EvaluationFlag = { key: "b", dependencies: ["a"], variants: {}, segments: [] };
    expect(() => compile([a, b])).toThrow(DependencyCycleError);
  });

  it("accepts any JSON as metadata, such as a flagType that is not a string", () => {
    // Found by the parity property test: `{ toString: null }` cannot become a string.
    const flag: EvaluationFlag = {
      key: "odd",
      metadata: { flagType: { toString: null } },
      variants: { on: { key: "on" } },
      segments: [{ variant: "on" }],
    };
    const compiled = compile([flag]);
    expect(compiled.visibleKeys.has("odd")).toBe(true);
    expect(compiled.evaluate({})).toStrictEqual(reference({}, [flag]));
  });

  it("interprets a flag's first evaluation, then returns frozen results that evaluations share", () => {
    const compiled = compile([vectorFlag]);
    const interpreted = compiled.evaluate({ user: { user_id: "user-1" } })[KEY]!;
    const first = compiled.evaluate({ user: { user_id: "user-1" } })[KEY]!;
    expect(first).toEqual(interpreted);
    expect(Object.isFrozen(first) && Object.isFrozen(first.metadata)).toBe(true);
    expect(compiled.evaluate({ user: { user_id: "user-1" } })[KEY]).toBe(first);
  });

  it("compiles a large set over its first evaluations, a bounded number of flags each, answering the same", () => {
    const flags = Array.from({ length: 2500 }, (_, i): EvaluationFlag => ({ ...vectorFlag, key: `flag-${i}` }));
    const compiled = compile(flags);
    const context = { user: { user_id: "user-1" } };
    const expected = evaluate(context, flags);
    const frozen = () => {
      const results = compiled.evaluate(context);
      expect(results).toStrictEqual(expected);
      return Object.values(results).filter((variant) => Object.isFrozen(variant)).length;
    };
    // Interpreted first (nothing kept), then 1,000 more flags compiled per evaluation.
    expect([frozen(), frozen(), frozen(), frozen(), frozen()]).toEqual([0, 1000, 2000, 2500, 2500]);
  });

  it("gives a reason with each result", () => {
    const reasons = compile([vectorFlag, flagWithRule("is", ["x"])]).evaluateWithReasons(userWith("x"));
    expect(reasons["rule"]?.reason).toBe("TARGETING_MATCH");
    const checkout = compile([vectorFlag]);
    expect(checkout.evaluateWithReasons({ user: { user_id: "user-2" } })[KEY]?.reason).toBe("DEFAULT"); // not allocated
    expect(checkout.evaluateWithReasons({ user: { user_id: "user-1" } })[KEY]?.reason).toBe("SPLIT");
  });
});
