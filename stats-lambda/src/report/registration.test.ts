import { describe, expect, it } from "vitest";
import type { AnalysisPeriod, Metric } from "../../../shared/authoring/schema.js";
import { conversion, experimentOn, revenue } from "../../../test/support/simulated-rows.js";
import { periodOf } from "./experiment.js";
import { metricChangesOf, reportedMetrics } from "./registration.js";

const checkout: Metric = { key: "checkout", type: "unique_conversions", eventType: "checkout" };
const errors: Metric = { key: "errors", type: "event_totals", eventType: "error", direction: "decrease" };
const flag = experimentOn(conversion, [50, 50], { secondaryMetrics: [revenue, checkout], guardrailMetrics: [errors] });
const periodWith = (metricChanges: unknown): AnalysisPeriod =>
  ({ startedAt: "2026-01-01T00:00:00.000Z", settings: flag, metricChanges }) as AnalysisPeriod;
const registered = (period: AnalysisPeriod | undefined) =>
  Object.fromEntries(reportedMetrics(periodOf(flag).settings, period).map((m) => [m.key, m.registeredAt]));

describe("registration stage", () => {
  it("marks every metric registered at the start without changes", () => {
    expect(registered(undefined)).toEqual({
      conversion: "start",
      revenue: "start",
      checkout: "start",
      errors: "start",
    });
    expect(registered(periodWith(undefined))).toEqual(registered(undefined));
  });

  it("marks a metric added to the running experiment with the time it was added", () => {
    const at = "2026-01-03T10:00:00.000Z";
    expect(registered(periodWith([{ at, action: "added", role: "secondary", metric: "checkout" }]))).toMatchObject({
      checkout: at,
      revenue: "start",
    });
  });

  it("leaves out a removed metric, and shows it again, from its new time, once re-added", () => {
    const removed = [
      { at: "2026-01-02T00:00:00.000Z", action: "added", role: "guardrail", metric: "errors" },
      { at: "2026-01-04T00:00:00.000Z", action: "removed", role: "guardrail", metric: "errors" },
    ];
    expect(registered(periodWith(removed))).not.toHaveProperty("errors");
    const readded = [
      ...removed,
      { at: "2026-01-05T00:00:00.000Z", action: "added", role: "guardrail", metric: "errors" },
    ];
    // Out of order on purpose: the latest by time decides.
    expect(registered(periodWith(readded.reverse()))).toMatchObject({ errors: "2026-01-05T00:00:00.000Z" });
  });

  it("matches a change to the metric's role: a removal as secondary does not remove it as a guardrail", () => {
    const change = [{ at: "2026-01-02T00:00:00.000Z", action: "removed", role: "secondary", metric: "errors" }];
    expect(registered(periodWith(change))).toHaveProperty("errors", "start");
  });

  it("ignores changes that do not parse", () => {
    const changes = [
      null,
      "added",
      { at: "not a time", action: "added", role: "secondary", metric: "checkout" },
      { at: "2026-01-02T00:00:00.000Z", action: "renamed", role: "secondary", metric: "checkout" },
      { at: "2026-01-02T00:00:00.000Z", action: "removed", role: "primary", metric: "conversion" },
    ];
    expect(metricChangesOf(periodWith(changes))).toEqual([]);
    expect(metricChangesOf(periodWith({ not: "a list" }))).toEqual([]);
    expect(registered(periodWith(changes))).toEqual(registered(undefined));
  });
});
