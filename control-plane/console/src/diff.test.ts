import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyChanges, changesBetween } from "./diff.js";

const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.integer(),
    fc.string({ maxLength: 4 }),
    fc.boolean(),
    tie("array"),
    tie("object"),
  ),
  array: fc.array(tie("value"), { maxLength: 4 }),
  object: fc.dictionary(fc.constantFrom("a", "b", "c", "d"), tie("value"), { maxKeys: 4 }),
}));
const flagLike = fc.record({
  name: fc.string(),
  rollout: fc.integer({ min: 0, max: 100 }),
  variants: fc.array(fc.record({ key: fc.string({ maxLength: 3 }), payload: json.value }), { maxLength: 4 }),
  extra: json.object,
});

describe("reapplying my edit on top of someone else's", () => {
  it("turns the base into my version exactly when nobody else changed it", () => {
    fc.assert(
      fc.property(flagLike, flagLike, (base, mine) => {
        expect(applyChanges(base, changesBetween(base, mine))).toEqual(mine);
      }),
    );
  });

  it("keeps their change to a field I did not touch, and mine to the one I did", () => {
    const base = { name: "Checkout", description: "", rollout: 10, variants: [{ key: "a" }, { key: "b" }] };
    const theirs = { ...base, name: "Checkout v2", variants: [{ key: "a" }, { key: "b" }, { key: "c" }] };
    const mine = { ...base, description: "Growth team", rollout: 50 };
    expect(applyChanges(theirs, changesBetween(base, mine))).toEqual({
      ...theirs,
      description: "Growth team",
      rollout: 50,
    });
  });

  it("removes array items from the end first, so indexes stay right", () => {
    const base = { ids: ["a", "b", "c", "d"] };
    expect(applyChanges(base, changesBetween(base, { ids: ["a"] }))).toEqual({ ids: ["a"] });
  });

  it("never changes the version it is applied to", () => {
    const theirs = { rollout: 1, nested: { list: [1, 2] } };
    const copy = structuredClone(theirs);
    applyChanges(theirs, [{ type: "CHANGE", path: ["nested", "list", 0], value: 9, oldValue: 1 }]);
    expect(theirs).toEqual(copy);
  });
});
