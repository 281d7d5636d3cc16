import { describe, expect, it } from "vitest";
import { briefMarkdown, briefSections } from "./brief.js";
import type { Flag, Metric, Report } from "./types.js";

const AT = "2026-12-01T09:00:00.000Z";
const flag: Flag = {
  key: "checkout-redesign",
  name: "Checkout redesign",
  description: "One page instead of four",
  type: "experiment",
  status: "running",
  variants: [
    { key: "control", description: "Current checkout" },
    { key: "treatment", description: "One-page checkout", payload: { layout: "one-page" } },
  ],
  weights: { control: 30, treatment: 70 },
  bucketing: { unit: "user_id" },
  rollout: 20,
  segments: [{ name: "US iOS", conditions: [{ property: "country", op: "is", values: ["US"] }], rollout: 50 }],
  inclusions: { treatment: { userIds: ["qa-ana"], deviceIds: [] } },
  exclusions: { userIds: ["bot-1"], deviceIds: [] },
  prerequisites: [],
  groups: [],
  deployments: ["web"],
  hypothesis: {
    problem: "Users abandon the checkout",
    proposedChange: "A one-page checkout",
    predictedResult: "More purchases",
  },
  primaryMetric: {
    key: "purchase",
    name: "Purchase completed",
    type: "unique_conversions",
    eventType: "purchase_completed",
    filters: [],
  },
  secondaryMetrics: [
    {
      key: "revenue",
      name: "Revenue",
      type: "property_sum",
      eventType: "purchase_completed",
      property: "amount",
      filters: [],
    },
  ],
  guardrailMetrics: [
    { key: "errors", name: "Checkout errors", type: "event_totals", eventType: "checkout_error", filters: [] },
  ],
  statisticalMethod: "sequential",
  confidenceLevel: 0.95,
  minimumDetectableEffect: 0.05,
  analysisPeriods: [{ startedAt: AT, settings: {} as never }],
  version: 4,
  createdAt: "2026-11-30T09:00:00.000Z",
  updatedAt: AT,
  lastChange: { actor: "ana", at: AT, action: "start" },
} as Flag;

const comparison = {
  difference: 0.017,
  lift: 0.17,
  ci: [0.008, 0.026] as [number, number],
  relativeCi: [0.08, 0.26] as [number, number],
  pValue: 0.0004,
  verdict: "significant_positive" as const,
  trustworthy: true,
  warnings: [],
  level: 0.05,
};
const report = {
  experiment: {
    key: flag.key,
    name: flag.name,
    status: "running",
    method: "sequential",
    confidenceLevel: 0.95,
    correction: "bonferroni",
    minimumDetectableEffect: 0.05,
  },
  analysisPeriod: { index: 1, startedAt: AT, stoppedAt: null, settings: {}, periods: 1 },
  variants: [
    { key: "control", exposures: 1200, expectedShare: 0.3 },
    { key: "treatment", exposures: 2800, expectedShare: 0.7 },
  ],
  srm: { pValue: 0.6, mismatch: false, test: "sequential-dirichlet-multinomial", strata: [] },
  metrics: [
    {
      key: "purchase",
      name: "Purchase completed",
      role: "primary",
      type: "unique_conversions",
      eventType: "purchase_completed",
      direction: "increase",
      comparisons: 1,
      registeredAt: "start",
      cap: null,
      variants: [
        { variant: "control", control: true, exposures: 1200, n: 1200, mean: 0.1 },
        { variant: "treatment", control: false, exposures: 2800, n: 2800, mean: 0.117, comparison },
      ],
      timeSeries: [],
    },
  ],
  plan: null,
} as unknown as Report;

const describe_ = (m: Metric) => `${m.type} of ${"eventType" in m ? m.eventType : "?"}`;

describe("the experiment brief", () => {
  const markdown = briefMarkdown(flag, briefSections(flag, report, describe_));

  it("shows every field the admin entered", () => {
    for (const text of [
      "Checkout redesign",
      "One page instead of four",
      "Users abandon the checkout",
      "A one-page checkout",
      "More purchases",
      "Current checkout",
      "One-page checkout",
      '{"layout":"one-page"}',
      "control | 30%",
      "treatment | 70%",
      "Randomized by:** user",
      "20% in the experiment",
      "US iOS: users in US: 50% rollout",
      "treatment: users qa-ana",
      "users bot-1",
      "web",
      "Purchase completed: unique_conversions of purchase_completed",
      "Revenue: property_sum of purchase_completed",
      "Checkout errors: event_totals of checkout_error",
      "sequential test",
      "95% confidence",
      "minimum detectable effect 5.0%",
    ])
      expect(markdown).toContain(text);
  });

  it("has the dates, the results with their intervals, and the decision", () => {
    expect(markdown).toContain("- **Created:** 2026-11-30");
    expect(markdown).toContain("- **Analysis period 1:** 2026-12-01 to now (running)");
    expect(markdown).toContain("Ship treatment");
    expect(markdown).toContain(
      "| treatment | 2,800 | 0.1170 | +17.0% | +8.0% to +26.0% | 0.00040 | significantly better |",
    );
    expect(markdown).toContain("- **Exposures:** control 1,200, treatment 2,800 (analysis period 1 of 1)");
    expect(markdown).toContain("- **Decision:** Not decided yet; the results recommend: Ship treatment");
  });

  it("says what was shipped once decided, and reads without a report", () => {
    const decided = { ...flag, status: "decided", decidedVariant: "treatment" } as Flag;
    const text = briefMarkdown(decided, briefSections(decided, undefined, describe_));
    expect(text).toContain("- **Decision:** Shipped treatment to everyone");
    expect(text).toContain("- **Decided:** 2026-12-01");
    expect(text).toContain("- **Summary:** No report available");
  });

  it("keeps a table cell in its cell", () => {
    const piped = { ...flag, variants: [{ key: "control", description: "a | b\nc" }, flag.variants[1]!] } as Flag;
    expect(briefMarkdown(piped, briefSections(piped, undefined, describe_))).toContain("| control | 30% | a \\| b c |");
  });
});
