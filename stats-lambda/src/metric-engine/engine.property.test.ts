/**
 * Property test: on random stores (units bucketed by user, device or group, a company whose
 * members' events all count; exposed in one or two variants, at random times, some untrusted
 * or in another period; events of three types with random properties, some
 * before the exposure, some duplicated) and random metrics of every type, with filters,
 * windows and caps, the engine's rows equal the plain TypeScript reference's, exactly.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import fc from "fast-check";
import { beforeAll, expect, test } from "vitest";
import type { EventRow, ExposureRow } from "./reference.test-support.js";
import { connect, DAY, engineAndReference, HOUR, metric, query, T0 } from "./test-kit.test-support.js";

let db: DuckDBConnection;
beforeAll(async () => {
  db = await connect();
});

const UNITS = ["u0", "u1", "u2", "u3", "u4", "u5"];
const TYPES = ["a", "b", "c"];
const time = fc.integer({ min: -6, max: 80 }).map((h) => T0 + h * HOUR + (h % 3) * 17);

const exposureArb = fc.record({
  unit: fc.constantFrom(...UNITS),
  variant: fc.constantFrom("control", "treatment"),
  time,
  period: fc.constantFrom(1, 1, 1, 2),
  untrusted: fc.constantFrom(false, false, false, false, true),
  country: fc.constantFrom("DE", "FR", null),
  allocation: fc.constantFrom("control=50,treatment=50", null),
});

const value = fc.oneof(
  fc.integer({ min: -20, max: 20 }),
  fc.double({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true }).map((x) => Math.round(x * 1e6) / 1e6),
  fc.constantFrom("3", " 4.5 ", "x", "", true, 2e9),
);
const eventArb = fc.record({
  unit: fc.constantFrom(...UNITS),
  type: fc.constantFrom(...TYPES),
  time,
  v: fc.option(value, { nil: undefined }),
  plan: fc.option(fc.constantFrom("Pro", "basic", "pro-max"), { nil: undefined }),
  duplicate: fc.constantFrom(false, false, false, false, true),
});

const filterArb = fc.oneof(
  fc.record({
    property: fc.constant("plan"),
    op: fc.constantFrom("=", "!=", "contains"),
    value: fc.constantFrom("Pro", "pro"),
  }),
  fc.record({
    property: fc.constant("plan"),
    op: fc.constantFrom("in", "not_in"),
    value: fc.constant(["Pro", "basic"]),
  }),
  fc.record({
    property: fc.constant("v"),
    op: fc.constantFrom("<", "<=", ">", ">=", "="),
    value: fc.integer({ min: -5, max: 5 }),
  }),
  fc.record({ property: fc.constantFrom("v", "plan"), op: fc.constant("is_set") }),
  fc.record({
    scope: fc.constant("user"),
    property: fc.constant("country"),
    op: fc.constantFrom("=", "!=", "contains"),
    value: fc.constantFrom("DE", "de"),
  }),
  fc.record({
    scope: fc.constant("user"),
    property: fc.constant("country"),
    op: fc.constantFrom("in", "not_in"),
    value: fc.constant(["DE", "FR"]),
  }),
  fc.record({ scope: fc.constant("user"), property: fc.constant("country"), op: fc.constant("is_set") }),
);
const filters = fc.array(filterArb, { maxLength: 2 });
const windowArb = fc.option(
  fc
    .record({ startHours: fc.constantFrom(0, 1, 5), endHours: fc.constantFrom(undefined, 6, 30) })
    .map((w) => (w.endHours === undefined ? { startHours: w.startHours } : w)),
  { nil: undefined },
);
const eventType = fc.constantFrom(...TYPES);
const side = fc.record({ eventType, filters, property: fc.option(fc.constant("v"), { nil: undefined }) });
const metricArb = fc.oneof(
  fc.record({ type: fc.constant("unique_conversions"), eventType, filters, window: windowArb }),
  fc.record({
    type: fc.constantFrom("event_totals", "property_sum", "property_average"),
    eventType,
    filters,
    window: windowArb,
    capValue: fc.option(fc.constantFrom(3, 10.5), { nil: undefined }),
  }),
  fc.record({ type: fc.constant("ratio"), numerator: side, denominator: side, window: windowArb }),
  fc.record({
    type: fc.constant("funnel"),
    steps: fc.array(fc.record({ eventType, filters }), { minLength: 2, maxLength: 3 }),
    conversionWindowHours: fc.constantFrom(2, 24, 168),
    window: windowArb,
  }),
  fc.record({
    type: fc.constant("retention"),
    eventType,
    filters,
    day: fc.constantFrom(0, 1, 2),
    mode: fc.constantFrom("on_day", "within"),
  }),
);

const needsProperty = (m: { type: string }) => m.type === "property_sum" || m.type === "property_average";

test("the engine equals the reference on random stores and metrics", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(exposureArb, { minLength: 3, maxLength: 10 }),
      fc.array(eventArb, { minLength: 10, maxLength: 40 }),
      fc.array(metricArb, { minLength: 1, maxLength: 3 }),
      fc.constantFrom("user_id", "device_id", "group"),
      fc.option(fc.constantFrom(40, 60), { nil: undefined }),
      async (xs, evs, ms, unit, stopHours) => {
        const metrics = ms.map((m, i) =>
          metric({ key: `m${i}`, ...m, ...(needsProperty(m) ? { property: "v" } : {}) }),
        );
        // Group bucketing: the units are companies, each exposure and event one of several members'.
        const company = (name: string) => JSON.stringify({ company: name });
        const exposures: ExposureRow[] = xs.map((x, i) => ({
          id: `x${i}`,
          project: "p",
          experiment_key: "exp",
          analysis_period: x.period,
          variant: x.variant,
          unit_id: x.unit,
          user_id: unit === "user_id" ? x.unit : unit === "group" ? `member-${i % 3}` : null,
          device_id: unit === "device_id" ? x.unit : null,
          groups: unit === "group" ? company(x.unit) : null,
          allocation: x.allocation,
          country: x.country,
          time: x.time,
          untrusted: x.untrusted,
        }));
        const events: EventRow[] = evs.flatMap((e, i) => {
          const row: EventRow = {
            id: `e${i}`,
            project: "p",
            event_type: e.type,
            user_id: unit === "user_id" ? e.unit : unit === "group" ? `member-${i % 4}` : null,
            device_id: unit === "device_id" ? e.unit : `d-${e.unit}`,
            groups: unit === "group" ? company(e.unit) : null,
            time: e.time,
            event_properties: JSON.stringify({ v: e.v, plan: e.plan }),
          };
          return e.duplicate ? [row, { ...row }] : [row];
        });
        const q = query(metrics, {
          bucketing: unit === "group" ? { unit, groupType: "company" } : { unit },
          from: T0 - DAY,
          until: stopHours === undefined ? undefined : T0 + stopHours * HOUR,
        });
        const { engine, reference } = await engineAndReference(db, q, exposures, events);
        expect(engine).toEqual(reference);
      },
    ),
    { numRuns: 40 },
  );
});
