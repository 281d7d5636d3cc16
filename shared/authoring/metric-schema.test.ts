/** Experiment metrics: the old four shapes still parse, references are told from definitions, and which metrics the per-unit ingest computes. */
import { describe, expect, it } from "vitest";
import { isLegacyMetric, metricInputSchema, metricSchema, type Metric } from "./schema.js";

const old: Metric[] = [
  { key: "a", type: "unique_conversions", eventType: "purchase" },
  { key: "b", type: "event_totals", eventType: "view", capValue: 50 },
  { key: "c", type: "property_sum", eventType: "purchase", property: "amount", capPercentile: 0.95 },
  { key: "d", type: "property_average", eventType: "purchase", property: "amount", direction: "decrease" },
];

describe("experiment metrics", () => {
  it("parses the four shapes stored before, unchanged but for the empty filter list", () => {
    for (const metric of old) expect(metricSchema.parse(metric)).toEqual({ ...metric, filters: [] });
  });

  it("tells a catalog reference from an inline definition, and names the failing path of a bad definition", () => {
    expect(metricInputSchema.parse({ metric: "checkout-conversion" })).toEqual({ metric: "checkout-conversion" });
    expect(metricInputSchema.parse(old[0])).toMatchObject({ key: "a" });
    const bad = metricInputSchema.safeParse({ key: "f", type: "funnel", steps: [{ eventType: "x" }] });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(["steps"]);
  });

  it("leaves filtered, windowed and new-type metrics to the event-store engine", () => {
    expect(old.every(isLegacyMetric)).toBe(true);
    const engineOnly: Metric[] = [
      { ...old[0]!, filters: [{ property: "country", scope: "user", op: "=", value: "DE" }] } as Metric,
      { ...old[1]!, window: { startHours: 0, endHours: 24 } } as Metric,
      { key: "r", type: "retention", eventType: "visit", day: 7 },
      { key: "q", type: "ratio", numerator: { eventType: "a" }, denominator: { eventType: "b" } },
    ];
    expect(engineOnly.some(isLegacyMetric)).toBe(false);
  });
});
