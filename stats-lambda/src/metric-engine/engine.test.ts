/**
 * The metric engine on hand-made cases: each checks the engine's rows against the plain
 * TypeScript reference (reference.test-support.ts) and the figure the case is about by hand.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { beforeAll, describe, expect, test } from "vitest";
import type { ExposureRow } from "./reference.test-support.js";
import {
  canonical,
  connect,
  DAY,
  engineAndReference,
  event,
  exposure,
  HOUR,
  metric,
  query,
  T0,
  total,
  units,
} from "./test-kit.test-support.js";

let db: DuckDBConnection;
beforeAll(async () => {
  db = await connect();
});

describe("units and exposures", () => {
  test("a unit exposed twice and in two variants counts once, in its first variant, and as multiple", async () => {
    const conv = metric({ key: "conv", type: "unique_conversions", eventType: "buy" });
    const exposures = [
      exposure("u1", "treatment", T0 + DAY, { allocation: "control=50,treatment=50" }), // delivered first, later
      exposure("u1", "control", T0, { allocation: "control=50,treatment=50" }),
      exposure("u1", "control", T0 + HOUR),
      exposure("u2", "treatment", T0),
    ];
    const events = [event("u1", "buy", T0 + 2 * DAY)];
    const { engine, reference } = await engineAndReference(db, query([conv]), exposures, events);
    expect(engine).toEqual(reference);
    expect(total(engine, "control", "$exposures").n).toBe(1);
    expect(total(engine, "treatment", "$exposures").n).toBe(1);
    expect(engine.filter((r) => r.metric === "$multipleVariants")).toEqual([
      { day: "2026-03-03", variant: "control", metric: "$multipleVariants", n: 1, sum: 0n, sumSquares: 0n },
    ]);
    expect(total(engine, "control", "$alloc:control=50,treatment=50").n).toBe(1);
    expect(units(engine, "control", "conv")).toBe(1); // counted in its first variant
    expect(units(engine, "treatment", "conv")).toBe(0);
  });

  test("the analysis period: its number, start and stop; untrusted exposures never count", async () => {
    const totals = metric({ key: "t", type: "event_totals", eventType: "buy" });
    const q = query([totals], { experiment: { key: "exp", period: 2 }, from: T0, until: T0 + 3 * DAY });
    const exposures = [
      exposure("old", "control", T0 + HOUR), // period 1
      exposure("late", "control", T0 - HOUR, { analysis_period: 2 }), // served before the restart
      exposure("u1", "control", T0 + HOUR, { analysis_period: 2 }),
      exposure("liar", "control", T0 + HOUR, { analysis_period: 2, untrusted: true }),
      exposure("after", "control", T0 + 3 * DAY, { analysis_period: 2 }), // after the stop
      exposure("other", "control", T0 + HOUR, { analysis_period: 2, experiment_key: "other" }),
      exposure("u2", "control", T0 + HOUR, { analysis_period: 2, project: "q" }),
    ];
    const events = [
      event("u1", "buy", T0 + 2 * HOUR),
      event("u1", "buy", T0 + 3 * DAY - 1),
      event("u1", "buy", T0 + 3 * DAY), // at the stop: not counted
      event("old", "buy", T0 + 2 * HOUR),
    ];
    const { engine, reference } = await engineAndReference(db, q, exposures, events);
    expect(engine).toEqual(reference);
    expect(total(engine, "control", "$exposures").n).toBe(1);
    expect(units(engine, "control", "t")).toBe(2);
  });

  test("user bucketing falls back to the device; device bucketing reads the device only", async () => {
    const totals = metric({ key: "t", type: "event_totals", eventType: "buy" });
    // A device seen before sign-in, then the same person signed in on it.
    const exposures = [exposure("dev1", "control", T0, { user_id: null, device_id: "dev1" })];
    const events = [
      event(undefined, "buy", T0 + HOUR, undefined, { device_id: "dev1" }),
      event("user1", "buy", T0 + 2 * HOUR, undefined, { device_id: "dev1" }),
    ];
    const byUser = await engineAndReference(db, query([totals]), exposures, events);
    expect(byUser.engine).toEqual(byUser.reference);
    expect(units(byUser.engine, "control", "t")).toBe(1); // the signed-in event is user1's, not dev1's
    const byDevice = await engineAndReference(
      db,
      query([totals], { bucketing: { unit: "device_id" } }),
      exposures,
      events,
    );
    expect(byDevice.engine).toEqual(byDevice.reference);
    expect(units(byDevice.engine, "control", "t")).toBe(2);
  });

  test("group bucketing counts the group: every member's events, read from the groups JSON", async () => {
    const totals = metric({ key: "t", type: "event_totals", eventType: "buy" });
    const q = query([totals], { bucketing: { unit: "group", groupType: "company's id" } });
    const groups = (name: string) => JSON.stringify({ "company's id": name, team: "x" });
    const exposures = [
      exposure("acme", "control", T0, { user_id: "ann", groups: groups("acme") }),
      exposure("acme", "control", T0 + HOUR, { user_id: "bob", groups: groups("acme") }),
      exposure("globex", "treatment", T0, { user_id: "cat", groups: groups("globex") }),
    ];
    const events = [
      event("ann", "buy", T0 + 2 * HOUR, undefined, { groups: groups("acme") }),
      event("bob", "buy", T0 + 2 * HOUR, undefined, { groups: groups("acme") }),
      event("cat", "buy", T0 + 2 * HOUR, undefined, { groups: JSON.stringify({ team: "x" }) }), // no group: no unit
    ];
    const { engine, reference } = await engineAndReference(db, q, exposures, events);
    expect(engine).toEqual(reference);
    expect(total(engine, "control", "$exposures").n).toBe(1);
    expect(units(engine, "control", "t")).toBe(2);
    expect(units(engine, "treatment", "t")).toBe(0);
  });
});

describe("windows and timing", () => {
  test("window edges: from exposure + startHours inclusive to exposure + endHours exclusive", async () => {
    const totals = metric({ key: "t", type: "event_totals", eventType: "buy", window: { startHours: 1, endHours: 2 } });
    const exposures = [exposure("u1", "control", T0)];
    const events = [T0 + HOUR - 1, T0 + HOUR, T0 + 2 * HOUR - 1, T0 + 2 * HOUR].map((t) => event("u1", "buy", t));
    const { engine, reference } = await engineAndReference(db, query([totals]), exposures, events);
    expect(engine).toEqual(reference);
    expect(units(engine, "control", "t")).toBe(2);
  });

  test("events before the exposure never count, whenever delivered; late events count on their own day", async () => {
    const totals = metric({ key: "t", type: "event_totals", eventType: "buy" });
    const events = [
      event("u1", "buy", T0 - 1), // before the exposure, stored first
      event("u1", "buy", T0 + 3 * DAY), // delivered long after: counts on its day
      event("u1", "buy", T0),
    ];
    const exposures = [exposure("u1", "control", T0)];
    const { engine, reference } = await engineAndReference(db, query([totals]), exposures, events);
    expect(engine).toEqual(reference);
    const rows = engine.filter((r) => r.metric === "t");
    expect(rows.map((r) => [r.day, r.sum])).toEqual([
      ["2026-03-02", 10_000n],
      ["2026-03-05", 10_000n], // the daily delta: 1 → 2
    ]);
    expect(rows[1]!.sumSquares).toBe(20_000n ** 2n - 10_000n ** 2n);
  });

  test("an event stored twice (at-least-once delivery) counts once", async () => {
    const totals = metric({ key: "t", type: "event_totals", eventType: "buy" });
    const once = event("u1", "buy", T0 + HOUR);
    const { engine, reference } = await engineAndReference(
      db,
      query([totals]),
      [exposure("u1", "control", T0)],
      [once, { ...once }],
    );
    expect(engine).toEqual(reference);
    expect(units(engine, "control", "t")).toBe(1);
  });
});

describe("closed windows (a fixed estimand)", () => {
  test("units enter on the day their window ends, with their window's value; open windows wait", async () => {
    const window = { endHours: 48 };
    const metrics = [
      metric({ key: "t", type: "event_totals", eventType: "buy", window }),
      metric({ key: "c", type: "unique_conversions", eventType: "buy", window }),
      metric({ key: "r", type: "ratio", numerator: { eventType: "buy" }, denominator: { eventType: "view" }, window }),
      metric({ key: "open", type: "event_totals", eventType: "buy" }),
    ];
    const exposures = [
      exposure("u1", "control", T0 + HOUR), // window ends T0 + 49 h: closed on 03-04
      exposure("u2", "control", T0 + DAY), // ends T0 + 3 d: after the horizon, still open
      exposure("u3", "treatment", T0 + 2 * HOUR), // no events: closed with 0
    ];
    const events = [
      event("u1", "buy", T0 + 2 * HOUR),
      event("u1", "buy", T0 + DAY),
      event("u1", "view", T0 + DAY),
      event("u1", "buy", T0 + 50 * HOUR), // after u1's window
      event("u2", "buy", T0 + 2 * DAY + 12 * HOUR), // the horizon
    ];
    const { engine, reference } = await engineAndReference(db, query(metrics), exposures, events);
    expect(engine).toEqual(reference);
    const closedOn = (variant: string, series: string) =>
      engine.filter((r) => r.variant === variant && r.metric === series).map((r) => [r.day, r.n, r.sum]);
    expect(closedOn("control", "$closed:48")).toEqual([["2026-03-04", 1, 0n]]);
    expect(closedOn("treatment", "$closed:48")).toEqual([["2026-03-04", 1, 0n]]);
    expect(closedOn("control", "t:closed")).toEqual([["2026-03-04", 0, 20_000n]]);
    expect(closedOn("control", "c:closed")).toEqual([["2026-03-04", 0, 10_000n]]);
    expect(closedOn("control", "r:closed:den")).toEqual([["2026-03-04", 1, 10_000n]]);
    expect(engine.some((r) => r.metric.startsWith("open:closed"))).toBe(false);
  });

  test("a funnel closes its window's end plus its conversion window after exposure", async () => {
    // First step within 24 h of exposure, the last within 24 h of the first: final 48 h after exposure.
    const funnel = metric({
      key: "f",
      type: "funnel",
      steps: [{ eventType: "view" }, { eventType: "buy" }],
      window: { endHours: 24 },
      conversionWindowHours: 24,
    });
    const exposures = [
      exposure("u1", "control", T0), // view at 23 h, buy at 46 h: converts, closes at T0 + 48 h (03-04)
      exposure("u2", "control", T0 + HOUR), // view at 25 h: after its window, never converts; closes at 49 h
      exposure("u3", "treatment", T0 + 2 * HOUR), // closes at T0 + 50 h: after the horizon, still open
    ];
    const events = [
      event("u1", "view", T0 + 23 * HOUR),
      event("u1", "buy", T0 + 46 * HOUR),
      event("u2", "view", T0 + 26 * HOUR),
      event("u2", "buy", T0 + 27 * HOUR),
      event("u3", "view", T0 + 3 * HOUR),
      event("u3", "buy", T0 + 49 * HOUR + 30 * 60_000), // the horizon, 49.5 h
    ];
    const { engine, reference } = await engineAndReference(db, query([funnel]), exposures, events);
    expect(engine).toEqual(reference);
    const closedOn = (variant: string, series: string) =>
      engine.filter((r) => r.variant === variant && r.metric === series).map((r) => [r.day, r.n, r.sum]);
    expect(closedOn("control", "$closed:48")).toEqual([["2026-03-04", 2, 0n]]);
    expect(closedOn("treatment", "$closed:48")).toEqual([]);
    expect(closedOn("control", "f:closed")).toEqual([["2026-03-04", 0, 10_000n]]);
    expect(engine.some((r) => r.metric === "$closed:24")).toBe(false);
  });
});

describe("events no metric counts (data quality)", () => {
  test("before the unit's exposure, under its variant; of units never exposed, once 24 h old", async () => {
    const totals = metric({ key: "t", type: "event_totals", eventType: "buy" });
    const exposures = [exposure("u1", "control", T0 + DAY)];
    const events = [
      event("u1", "buy", T0), // a day before u1's exposure (delivered first: kept, never counted)
      event("u1", "buy", T0 + 2 * DAY), // counts
      event("stranger", "buy", T0 + HOUR), // never exposed, 47 h before the horizon
      event("late", "buy", T0 + 2 * DAY - HOUR), // never exposed yet, but only 1 h old: may still be
    ];
    const { engine, reference } = await engineAndReference(db, query([totals]), exposures, events);
    expect(engine).toEqual(reference);
    expect(engine.filter((r) => r.metric === "$beforeExposure").map((r) => [r.day, r.variant, r.n])).toEqual([
      ["2026-03-02", "control", 1],
    ]);
    expect(engine.filter((r) => r.metric === "$neverExposed").map((r) => [r.day, r.variant, r.n])).toEqual([
      ["2026-03-02", "", 1],
    ]);
    expect(units(engine, "control", "t")).toBe(1);
  });
});

describe("metric types", () => {
  test("funnel: steps in order, each after the previous, the last within the conversion window", async () => {
    const funnel = metric({
      key: "f",
      type: "funnel",
      steps: [{ eventType: "view" }, { eventType: "cart" }, { eventType: "buy" }],
      conversionWindowHours: 10,
    });
    const u = (name: string) => exposure(name, "control", T0);
    const steps = (name: string, ...list: Array<[string, number]>) =>
      list.map(([type, hours]) => event(name, type, T0 + hours * HOUR));
    const exposures = ["inOrder", "outOfOrder", "tooSlow", "firstBefore", "secondTry", "sameTime"].map(u);
    const events = [
      ...steps("inOrder", ["view", 1], ["cart", 2], ["buy", 3]),
      ...steps("outOfOrder", ["view", 1], ["buy", 2], ["cart", 3]),
      ...steps("tooSlow", ["view", 1], ["cart", 2], ["buy", 11]),
      ...steps("firstBefore", ["view", -1], ["cart", 2], ["buy", 3]),
      // the first try is too slow; a later first step converts
      ...steps("secondTry", ["view", 1], ["cart", 2], ["view", 5], ["cart", 6], ["buy", 12]),
      ...steps("sameTime", ["view", 1], ["cart", 1], ["buy", 1]),
    ];
    const { engine, reference } = await engineAndReference(db, query([funnel]), exposures, events);
    expect(engine).toEqual(reference);
    expect(units(engine, "control", "f")).toBe(2); // inOrder, secondTry
  });

  test("funnels of 4 and 5 steps: every step in order, repeats and skips, the conversion window", async () => {
    const funnel = (key: string, types: string[]) =>
      metric({ key, type: "funnel", steps: types.map((eventType) => ({ eventType })), conversionWindowHours: 10 });
    const five = funnel("f5", ["a", "b", "c", "d", "e"]);
    const four = funnel("f4", ["a", "b", "c", "d"]);
    const plans: Record<string, Array<[string, number]>> = {
      all: [
        ["a", 1],
        ["b", 2],
        ["c", 3],
        ["d", 4],
        ["e", 5],
      ], // both
      fourOnly: [
        ["a", 1],
        ["b", 2],
        ["c", 3],
        ["d", 4],
      ], // f4 only
      skipped: [
        ["a", 1],
        ["b", 2],
        ["d", 3],
        ["c", 4],
        ["e", 5],
      ], // d before c: neither
      lastTooLate: [
        ["a", 1],
        ["b", 2],
        ["c", 3],
        ["d", 4],
        ["e", 12],
      ], // e 11 h after a: f4 only
      repeats: [
        ["a", 1],
        ["a", 2],
        ["b", 3],
        ["b", 4],
        ["c", 5],
        ["d", 6],
        ["e", 7],
      ], // both
    };
    const exposures = Object.keys(plans).map((name) => exposure(name, "control", T0));
    const events = Object.entries(plans).flatMap(([name, list]) =>
      list.map(([type, hours]) => event(name, type, T0 + hours * HOUR)),
    );
    const { engine, reference } = await engineAndReference(db, query([five, four]), exposures, events);
    expect(engine).toEqual(reference);
    expect(units(engine, "control", "f5")).toBe(2); // all, repeats
    expect(units(engine, "control", "f4")).toBe(4); // all, fourOnly, lastTooLate, repeats
  });

  test("funnels by device then user id, and by group: whose events make the steps", async () => {
    const funnel = metric({ key: "f", type: "funnel", steps: [{ eventType: "view" }, { eventType: "buy" }] });
    // Viewed on a device before signing in, bought signed in on it.
    const device = [exposure("dev1", "control", T0, { user_id: null, device_id: "dev1" })];
    const deviceEvents = [
      event(undefined, "view", T0 + HOUR, undefined, { device_id: "dev1" }),
      event("user1", "buy", T0 + 2 * HOUR, undefined, { device_id: "dev1" }),
    ];
    const byUser = await engineAndReference(db, query([funnel]), device, deviceEvents);
    expect(byUser.engine).toEqual(byUser.reference);
    expect(units(byUser.engine, "control", "f")).toBe(0); // the purchase is user1's, not the device's
    const byDevice = await engineAndReference(
      db,
      query([funnel], { bucketing: { unit: "device_id" } }),
      device,
      deviceEvents,
    );
    expect(byDevice.engine).toEqual(byDevice.reference);
    expect(units(byDevice.engine, "control", "f")).toBe(1);

    // A company converts when one member views and another buys after.
    const groups = (name: string) => JSON.stringify({ company: name });
    const q = query([funnel], { bucketing: { unit: "group", groupType: "company" } });
    const companies = [
      exposure("acme", "treatment", T0, { user_id: "ann", groups: groups("acme") }),
      exposure("globex", "treatment", T0, { user_id: "cat", groups: groups("globex") }),
    ];
    const companyEvents = [
      event("ann", "view", T0 + HOUR, undefined, { groups: groups("acme") }),
      event("bob", "buy", T0 + 2 * HOUR, undefined, { groups: groups("acme") }),
      event("cat", "buy", T0 + HOUR, undefined, { groups: groups("globex") }), // bought before viewing
      event("dan", "view", T0 + 2 * HOUR, undefined, { groups: groups("globex") }),
    ];
    const byGroup = await engineAndReference(db, q, companies, companyEvents);
    expect(byGroup.engine).toEqual(byGroup.reference);
    expect(units(byGroup.engine, "treatment", "f")).toBe(1); // acme
    expect(total(byGroup.engine, "treatment", "$exposures").n).toBe(2);
  });

  test("retention on day N and within N days, at the edges of each day", async () => {
    const onDay = metric({ key: "d1", type: "retention", eventType: "open", day: 1 });
    const within = metric({ key: "w3", type: "retention", eventType: "open", day: 3, mode: "within" });
    const day0 = metric({ key: "d0", type: "retention", eventType: "open", day: 0 });
    const at = (name: string, hours: number[]) => hours.map((h) => event(name, "open", T0 + h * HOUR));
    const exposures = ["a", "b", "c", "d"].map((name) => exposure(name, "control", T0));
    const events = [
      ...at("a", [24]), // day 1's first instant: d1, w3
      event("b", "open", T0 + DAY - 1), // day 0's last instant: d0 only
      ...at("c", [48]), // day 2: w3 only
      ...at("d", [96]), // day 4: none
    ];
    const { engine, reference } = await engineAndReference(db, query([onDay, within, day0]), exposures, events);
    expect(engine).toEqual(reference);
    expect(units(engine, "control", "d1")).toBe(1);
    expect(units(engine, "control", "w3")).toBe(2);
    expect(units(engine, "control", "d0")).toBe(1);
  });

  test("ratio: K carries the numerator and n, K:den the denominator, K:cross Σxy", async () => {
    const ratio = metric({
      key: "aov",
      type: "ratio",
      numerator: { eventType: "buy", property: "revenue" },
      denominator: { eventType: "buy" },
    });
    const exposures = [exposure("u1", "control", T0), exposure("u2", "control", T0), exposure("u3", "control", T0)];
    const events = [
      event("u1", "buy", T0 + HOUR, { revenue: 10 }),
      event("u1", "buy", T0 + 2 * HOUR, { revenue: "5.5" }),
      event("u2", "buy", T0 + HOUR, { revenue: 2 }),
      event("u2", "buy", T0 + HOUR, { revenue: "n/a" }), // counts in the denominator only
    ];
    const { engine, reference } = await engineAndReference(db, query([ratio]), exposures, events);
    expect(engine).toEqual(reference);
    const S = 10_000n;
    expect(total(engine, "control", "aov")).toEqual({
      n: 3,
      sum: 175_000n,
      sumSquares: 155_000n ** 2n + (2n * S) ** 2n,
    });
    expect(total(engine, "control", "aov:den")).toEqual({ n: 3, sum: 4n * S, sumSquares: 2n * (2n * S) ** 2n });
    expect(total(engine, "control", "aov:cross").sum).toBe(155_000n * 2n * S + 2n * S * 2n * S);
  });

  test("sums and averages parse values as ingest does, with histograms and capValue", async () => {
    const sum = metric({ key: "s", type: "property_sum", eventType: "buy", property: "v", capValue: 100 });
    const avg = metric({ key: "a", type: "property_average", eventType: "buy", property: "v" });
    const exposures = ["u1", "u2", "u3", "u4"].map((name) => exposure(name, "treatment", T0));
    const events = [
      event("u1", "buy", T0 + HOUR, { v: "12.34567" }), // 4 decimals: 12.3457
      event("u1", "buy", T0 + DAY, { v: -2.5 }),
      event("u2", "buy", T0 + HOUR, { v: 1e9 + 1 }), // out of range: dropped
      event("u2", "buy", T0 + HOUR, { v: true }), // not a number
      event("u2", "buy", T0 + HOUR, { v: " 70 " }),
      event("u2", "buy", T0 + HOUR, { v: 70 }), // 140 → capped at 100
      event("u3", "buy", T0 + HOUR, {}), // absent: not in the average
      // Decimal notation only, as ingest: not DuckDB's digit separators nor JavaScript's radixes.
      event("u4", "buy", T0 + HOUR, { v: "1_000" }),
      event("u4", "buy", T0 + HOUR, { v: "0x1F" }),
    ];
    const { engine, reference } = await engineAndReference(db, query([sum, avg]), exposures, events);
    expect(engine).toEqual(reference);
    expect(total(engine, "treatment", "s").sum).toBe(123_457n - 25_000n + 1_000_000n);
    expect(total(engine, "treatment", "a").n).toBe(2); // units with ≥ 1 valid value
    expect(total(engine, "treatment", "a").sum).toBe(BigInt(Math.round((123_457 - 25_000) / 2)) + 700_000n);
    const buckets = engine.filter((r) => r.metric.startsWith("s~"));
    expect(buckets.reduce((n, r) => n + r.n, 0)).toBe(2); // u1 and u2 each in one bucket at the end
  });
});

describe("filters", () => {
  const props = [
    { plan: "Pro", n: 5, flag: true, s: "5" },
    { plan: "basic", n: 12.5, flag: false },
    { plan: "pro-max", n: "7" },
    { other: 1 },
    { plan: null, n: "abc" },
  ];
  const cases: Array<[string, unknown, number]> = [
    ["=", { property: "plan", op: "=", value: "Pro" }, 1],
    ["= number", { property: "n", op: "=", value: 7 }, 1],
    ["= boolean", { property: "flag", op: "=", value: true }, 1],
    ["!=", { property: "plan", op: "!=", value: "Pro" }, 4],
    ["in", { property: "plan", op: "in", value: ["basic", "pro-max"] }, 2],
    ["not_in", { property: "plan", op: "not_in", value: ["basic", "pro-max"] }, 3],
    ["contains", { property: "plan", op: "contains", value: "PRO" }, 2],
    ["<", { property: "n", op: "<", value: 7 }, 1],
    ["<=", { property: "n", op: "<=", value: 7 }, 2],
    [">", { property: "n", op: ">", value: "7" }, 1],
    [">=", { property: "n", op: ">=", value: 5 }, 3],
    ["is_set", { property: "plan", op: "is_set" }, 3],
    ["a quoted name", { property: "a'b\"c", op: "=", value: 'it\'s "x"' }, 1],
  ];
  test.each(cases)("event property %s", async (_, filter, expected) => {
    const conv = metric({ key: "c", type: "unique_conversions", eventType: "buy", filters: [filter] });
    const exposures = props.map((_, i) => exposure(`u${i}`, "control", T0));
    const events = props.map((p, i) => event(`u${i}`, "buy", T0 + HOUR, i === 0 ? { ...p, "a'b\"c": 'it\'s "x"' } : p));
    const { engine, reference } = await engineAndReference(db, query([conv]), exposures, events);
    expect(engine).toEqual(reference);
    expect(units(engine, "control", "c")).toBe(expected);
  });

  // Every operator on user properties as recorded with the exposure: a built-in column (country,
  // app_version) and a project-configured one (in the exposure's user_properties JSON).
  const users: Array<Partial<ExposureRow>> = [
    { country: "DE", app_version: "2.1", user_properties: JSON.stringify({ tier: "Pro", seats: 5 }) },
    { country: "FR", app_version: "10", user_properties: JSON.stringify({ tier: "basic", seats: 12.5 }) },
    { country: null, app_version: "1.9", user_properties: JSON.stringify({ tier: "pro-max", seats: "7" }) },
    { country: "de", user_properties: JSON.stringify({ seats: null }) },
    {},
  ];
  const userCases: Array<[string, unknown, number]> = [
    ["= (a column)", { property: "country", op: "=", value: "DE" }, 1], // case-sensitive: not "de"
    ["!= (a column)", { property: "country", op: "!=", value: "DE" }, 4],
    ["in (a column)", { property: "country", op: "in", value: ["DE", "FR"] }, 2],
    ["not_in (a column)", { property: "country", op: "not_in", value: ["DE", "FR"] }, 3],
    ["contains (a column)", { property: "country", op: "contains", value: "dE" }, 2],
    ["> (a column)", { property: "app_version", op: ">", value: 2 }, 2],
    ["is_set (a column)", { property: "country", op: "is_set" }, 3],
    ["=", { property: "tier", op: "=", value: "Pro" }, 1],
    ["!=", { property: "tier", op: "!=", value: "Pro" }, 4],
    ["in", { property: "tier", op: "in", value: ["basic", "pro-max"] }, 2],
    ["not_in", { property: "tier", op: "not_in", value: ["basic", "pro-max"] }, 3],
    ["contains", { property: "tier", op: "contains", value: "PRO" }, 2],
    ["<", { property: "seats", op: "<", value: 7 }, 1],
    ["<=", { property: "seats", op: "<=", value: 7 }, 2],
    [">", { property: "seats", op: ">", value: "7" }, 1],
    [">=", { property: "seats", op: ">=", value: 5 }, 3],
    ["is_set", { property: "seats", op: "is_set" }, 3], // a JSON null is not set
  ];
  test.each(userCases)("user property %s", async (_, filter, expected) => {
    const conv = metric({
      key: "c",
      type: "unique_conversions",
      eventType: "buy",
      filters: [{ scope: "user", ...(filter as object) }],
    });
    const exposures = users.map((u, i) => exposure(`u${i}`, "control", T0, u));
    const events = users.map((_, i) => event(`u${i}`, "buy", T0 + HOUR));
    const { engine, reference } = await engineAndReference(db, query([conv]), exposures, events);
    expect(engine).toEqual(reference);
    expect(units(engine, "control", "c")).toBe(expected);
  });

  test("user properties from the unit's first exposure: breakdown columns and configured ones", async () => {
    const conv = (filter: unknown) =>
      metric({
        key: `c${JSON.stringify(filter).length}`,
        type: "unique_conversions",
        eventType: "buy",
        filters: [filter],
      });
    const metrics = [
      conv({ scope: "user", property: "country", op: "=", value: "DE" }),
      conv({ scope: "user", property: "tier", op: "in", value: ["gold", "silver"] }),
    ];
    const exposures = [
      exposure("u1", "control", T0, { country: "DE", user_properties: JSON.stringify({ tier: "gold" }) }),
      exposure("u1", "control", T0 + HOUR, { country: "FR" }), // a later exposure does not change the unit
      exposure("u2", "control", T0, { country: "FR", user_properties: JSON.stringify({ tier: "silver" }) }),
    ];
    const events = [event("u1", "buy", T0 + 2 * HOUR), event("u2", "buy", T0 + 2 * HOUR)];
    const { engine, reference } = await engineAndReference(db, query(metrics), exposures, events);
    expect(engine).toEqual(reference);
    expect(units(engine, "control", metrics[0]!.key)).toBe(1);
    expect(units(engine, "control", metrics[1]!.key)).toBe(2);
  });

  test("quotes in every name reach SQL as data: project, experiment, variant, event type, group type", async () => {
    const conv = metric({ key: "c", type: "unique_conversions", eventType: `it's "buy"` });
    const q = query([conv], { project: `p'1"`, experiment: { key: `e'"`, period: 1 } });
    const exposures = [exposure("u'1", `v'"`, T0, { project: `p'1"`, experiment_key: `e'"` })];
    const events = [event("u'1", `it's "buy"`, T0 + HOUR, undefined, { project: `p'1"` })];
    const { engine, reference } = await engineAndReference(db, q, exposures, events);
    expect(engine).toEqual(reference);
    expect(units(engine, `v'"`, "c")).toBe(1);
  });
});

test("canonical order is stable", () => {
  expect(canonical([])).toEqual([]);
});
