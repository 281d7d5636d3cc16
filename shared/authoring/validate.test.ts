import { describe, expect, it } from "vitest";
import { FLAG_INPUT_FIELDS } from "./fields.js";
import { flagInputSchema, type FlagInput, type Group } from "./schema.js";
import { validateFlag, type ProjectView } from "./validate.js";

const base = (patch: Record<string, unknown>): FlagInput =>
  flagInputSchema.parse({
    key: "f",
    name: "F",
    type: "experiment",
    variants: [{ key: "control" }, { key: "treatment" }],
    ...patch,
  });

const project = (flags: FlagInput[] = [], groups: Group[] = []): ProjectView => ({
  flags: new Map(flags.map((f) => [f.key, f])),
  groups: new Map(groups.map((g) => [g.key, g])),
});

const messages = (flag: FlagInput, view = project()) =>
  validateFlag(flag, view).map((i) => `${i.path.join(".")}: ${i.message}`);

describe("the authoring fields", () => {
  it("are the fields the schema declares, in the editor's order", () => {
    expect(Object.keys(flagInputSchema.shape)).toEqual([...FLAG_INPUT_FIELDS]);
  });
});

describe("validateFlag", () => {
  it("accepts a well-formed experiment", () => {
    expect(messages(base({ weights: { control: 50, treatment: 50 } }))).toEqual([]);
  });

  it("rejects weights that do not sum to 100 or name unknown variants", () => {
    expect(messages(base({ weights: { control: 50, treatment: 40 } }))).toEqual([
      expect.stringContaining("sum to 100"),
    ]);
    expect(messages(base({ weights: { control: 50, nope: 50 } }))).toEqual([expect.stringContaining("'nope'")]);
  });

  it("rejects undefined variants in inclusions, duplicates and the reserved key", () => {
    expect(messages(base({ inclusions: { ghost: { userIds: ["u"] } } }))).toEqual([expect.stringContaining("'ghost'")]);
    expect(messages(base({ variants: [{ key: "a" }, { key: "a" }] }))).toEqual([
      expect.stringContaining("duplicate variant key 'a'"),
    ]);
    expect(messages(base({ variants: [{ key: "off" }, { key: "b" }] }))).toEqual([expect.stringContaining("reserved")]);
  });

  it("rejects unknown and cyclic prerequisites", () => {
    expect(messages(base({ prerequisites: [{ flagKey: "ghost", variants: ["on"] }] }))).toEqual([
      expect.stringContaining("unknown prerequisite"),
    ]);
    const a = base({ key: "a", prerequisites: [{ flagKey: "f", variants: ["control"] }] });
    expect(messages(base({ prerequisites: [{ flagKey: "a", variants: ["control"] }] }), project([a]))).toEqual([
      expect.stringContaining("cycle: f → a → f"),
    ]);
  });

  it("rejects invalid regexes, group bucketing without a type and unknown groups", () => {
    const segments = [{ name: "s", conditions: [{ property: "email", op: "regex match", values: ["(unclosed"] }] }];
    expect(messages(base({ segments }))).toEqual([
      expect.stringMatching(/^segments\.0\.conditions\.0\.values\.0: invalid regex/),
    ]);
    expect(messages(base({ bucketing: { unit: "group" } }))).toEqual([expect.stringContaining("groupType")]);
    expect(messages(base({ groups: ["nope"] }))).toEqual([expect.stringContaining("unknown group 'nope'")]);
  });

  it("gives each of an experiment's metrics its own key (the report keeps only the first of a key)", () => {
    const metric = (key: string, eventType = key) => ({ key, type: "unique_conversions", eventType });
    expect(
      messages(
        base({
          primaryMetric: metric("buy"),
          secondaryMetrics: [metric("buy", "other"), metric("revenue"), metric("revenue")],
          guardrailMetrics: [metric("revenue"), metric("errors")],
        }),
      ),
    ).toEqual([
      "secondaryMetrics.0.key: metric key 'buy' is already the primary metric: each metric of an experiment has its own key",
      "secondaryMetrics.2.key: metric key 'revenue' is already a secondary metric: each metric of an experiment has its own key",
      "guardrailMetrics.0.key: metric key 'revenue' is already a secondary metric: each metric of an experiment has its own key",
    ]);
    expect(messages(base({ primaryMetric: metric("buy"), guardrailMetrics: [metric("errors")] }))).toEqual([]);
  });

  it("needs two variants for an experiment", () => {
    expect(messages(base({ variants: [{ key: "only" }] }))).toEqual([expect.stringContaining("at least two variants")]);
  });

  it("refuses redirect and rewrite targets that leave the site", () => {
    const withPayload = (payload: unknown) => base({ variants: [{ key: "control" }, { key: "treatment", payload }] });
    for (const target of [
      "//evil.example/phish",
      "/\\evil.example",
      "/\t/evil.example",
      "https://evil.example/",
      "landing",
      "/\\/evil",
      // Same origin once resolved, but the path is `//evil.example/phish`: a relative Location of it leaves the site.
      "/.//evil.example/phish",
      "/..//evil.example/",
    ]) {
      expect(messages(withPayload({ redirect: target, path: "/login" }))).toEqual([
        'variants.1.payload.redirect: redirect must be a path on the same site, like "/landing-v2"',
      ]);
      expect(messages(withPayload({ rewrite: target }))).toHaveLength(1);
    }
    expect(messages(withPayload({ redirect: "/landing-v2?from=a", path: "/landing" }))).toEqual([]);
    expect(messages(withPayload({ rewrite: 5 }))).toHaveLength(1);
    // other payload fields are the app's business
    expect(messages(withPayload({ layout: "//not-a-target" }))).toEqual([]);
  });
});
