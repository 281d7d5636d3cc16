/**
 * The metric step on fixtures and random event sequences, without DynamoDB: whatever order
 * and number of events a unit sends, the deltas ingest adds up to exactly the unit's value
 * (n, Σx, Σx²) and leave it in exactly one histogram bucket.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { LegacyMetric as Metric } from "../../shared/authoring/schema.js";
import { VALUE_SCALE } from "../../shared/metric-values.js";
import { histogramBucket } from "../../shared/stats/index.js";
import { applyEvent, EMPTY_STATE, type ExactDelta, metricAmount, type UnitMetricState } from "./metrics.js";
import { BUCKET_SEPARATOR } from "./store.js";

const metric = (type: Metric["type"], extra: Partial<Metric> = {}): Metric => ({
  key: "m",
  type,
  eventType: "purchase",
  ...(type.startsWith("property") ? { property: "amount" } : {}),
  ...extra,
});

/** Folds a unit's events (scaled amounts) through applyEvent, summing the deltas per series. */
function unitOf(m: Metric, amounts: number[]) {
  let state: UnitMetricState = EMPTY_STATE;
  const series = new Map<string, ExactDelta>();
  for (const amount of amounts) {
    const applied = applyEvent(m, state, amount);
    if (!applied) continue;
    state = applied.state;
    for (const [name, delta] of applied.deltas) {
      const total = series.get(name) ?? { n: 0, sum: 0n, sumSquares: 0n };
      series.set(name, {
        n: total.n + delta.n,
        sum: total.sum + delta.sum,
        sumSquares: total.sumSquares + delta.sumSquares,
      });
    }
  }
  const buckets = [...series].filter(([name, d]) => name !== m.key && (d.n !== 0 || d.sum !== 0n));
  return { state, total: series.get(m.key), buckets };
}

const scaled = (value: number) => value * VALUE_SCALE;

describe("a unit's metric value", () => {
  it("is what each metric type says, on a fixed sequence", () => {
    const amounts = [scaled(10), scaled(30), scaled(5)];
    expect(unitOf(metric("unique_conversions"), amounts).state[0]).toBe(scaled(1));
    expect(unitOf(metric("event_totals"), amounts).state[0]).toBe(scaled(3));
    expect(unitOf(metric("property_sum"), amounts).state[0]).toBe(scaled(45));
    expect(unitOf(metric("property_average"), amounts).state[0]).toBe(scaled(15));
    expect(unitOf(metric("property_sum", { capValue: 20 }), amounts).state[0]).toBe(scaled(20));
  });

  it("converts once: a unique conversion's second event changes nothing", () => {
    const first = applyEvent(metric("unique_conversions"), EMPTY_STATE, VALUE_SCALE)!;
    expect(applyEvent(metric("unique_conversions"), first.state, VALUE_SCALE)).toBeUndefined();
  });

  it("adds up to exactly the final value, whatever the events, in exactly one histogram bucket", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<Metric["type"]>("unique_conversions", "event_totals", "property_sum", "property_average"),
        fc.array(fc.integer({ min: -1e9, max: 1e9 }), { minLength: 1, maxLength: 30 }),
        fc.option(fc.integer({ min: 1, max: 1e6 }), { nil: undefined }),
        (type, amounts, capValue) => {
          const m = metric(type, capValue === undefined ? {} : { capValue });
          const { state, total, buckets } = unitOf(m, amounts);
          const value = BigInt(state[0]);
          // Exposure counts n for the others; an average counts the unit once, at its first event.
          expect(total).toEqual({ n: type === "property_average" ? 1 : 0, sum: value, sumSquares: value * value });
          if (capValue !== undefined && type !== "unique_conversions") {
            expect(Math.abs(state[0])).toBeLessThanOrEqual(capValue * VALUE_SCALE);
          }
          // Totals, sums and averages are capped (definition.ts isCappedMetric): they keep a histogram.
          if (type !== "unique_conversions") {
            const expected =
              state[0] === 0
                ? []
                : [
                    [
                      `m${BUCKET_SEPARATOR}${histogramBucket(state[0])}`,
                      { n: 1, sum: value, sumSquares: value * value },
                    ],
                  ];
            expect(buckets).toEqual(expected);
          } else {
            expect(buckets).toEqual([]);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("an event's amount", () => {
  it("is one for counting metrics, the scaled property otherwise, and says why it has none", () => {
    expect(metricAmount(metric("event_totals"), undefined)).toEqual({ scaled: VALUE_SCALE });
    expect(metricAmount(metric("property_sum"), { amount: 12.34567 })).toEqual({ scaled: 123457 });
    expect(metricAmount(metric("property_sum"), { amount: "7" })).toEqual({ scaled: scaled(7) });
    expect(metricAmount(metric("property_sum"), {})).toEqual({ absent: true });
    expect(metricAmount(metric("property_sum"), { amount: "seven" })).toEqual({ dropped: "not_a_number" });
    expect(metricAmount(metric("property_sum"), { amount: 1e300 })).toEqual({ dropped: "value_out_of_range" });
  });

  it("reads numeric strings in decimal notation only, as the metric engine's SQL does", () => {
    const amount = (text: string) => metricAmount(metric("property_sum"), { amount: text });
    for (const [text, value] of [
      [" 12.5 ", 12.5],
      ["1e2", 100],
      ["+4", 4],
      [".25", 0.25],
      ["5.", 5],
      ["-0.5E-3", -0.0005],
    ] as const)
      expect(amount(text), text).toEqual({ scaled: Math.round(value * VALUE_SCALE) });
    for (const text of ["0x1F", "0b11", "0o7", "1_000", "Infinity", "1,5", "1e", ""])
      expect(amount(text), text).toEqual({ dropped: "not_a_number" });
  });
});

describe("event totals", () => {
  it("are capped at capValue and kept in a histogram, as the metric engine computes them", () => {
    const { state, buckets } = unitOf(
      metric("event_totals", { capValue: 3 }),
      [1, 1, 1, 1, 1].map(() => VALUE_SCALE),
    );
    expect(state[0]).toBe(3 * VALUE_SCALE);
    expect(buckets).toEqual([
      [`m${BUCKET_SEPARATOR}${histogramBucket(3 * VALUE_SCALE)}`, { n: 1, sum: 30_000n, sumSquares: 900_000_000n }],
    ]);
  });
});
