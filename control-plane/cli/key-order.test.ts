import { describe, expect, it } from "vitest";
import { flagInputSchema } from "../../shared/authoring/schema.js";
import { orderKeys } from "./key-order.js";
import { forFile, metricFileSchema } from "./resources.js";

describe("orderKeys", () => {
  it("puts a flag's fields in schema order, nested objects too, records alphabetically, unknown keys last", () => {
    const ordered = orderKeys(flagInputSchema, {
      weights: { treatment: 50, control: 50 },
      zzz: 1,
      variants: [{ payload: { b: 1, a: 2 }, key: "control" }],
      name: "N",
      key: "k",
      primaryMetric: { eventType: "e", type: "unique_conversions", key: "m" },
    });
    expect(JSON.stringify(ordered)).toBe(
      JSON.stringify({
        key: "k",
        name: "N",
        variants: [{ key: "control", payload: { a: 2, b: 1 } }],
        weights: { control: 50, treatment: 50 },
        primaryMetric: { key: "m", type: "unique_conversions", eventType: "e" },
        zzz: 1,
      }),
    );
  });
});

describe("forFile", () => {
  it("leaves out top-level fields whose default gives the same value back", () => {
    const flag = flagInputSchema.parse({
      key: "k",
      name: "N",
      type: "release",
      variants: [{ key: "on" }],
      rollout: 40,
    });
    expect(forFile(flagInputSchema, flag)).toEqual({
      key: "k",
      name: "N",
      type: "release",
      variants: [{ key: "on" }],
      rollout: 40,
    });
  });

  it("keeps a catalog metric's fields and drops archived: false", () => {
    const metric = metricFileSchema.parse({ key: "m", type: "event_totals", eventType: "click", archived: false });
    expect(Object.keys(forFile(metricFileSchema, metric))).toEqual(["key", "type", "eventType"]);
  });
});
