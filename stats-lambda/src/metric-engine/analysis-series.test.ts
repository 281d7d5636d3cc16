/**
 * The engine's analysis series (query-parts.ts) on a generated store, against ground truth
 * computed here from the rows: CUPED's covariates (pre-exposure.ts) as plain sums over each
 * unit's events, and the series per allocation epoch and per breakdown segment (strata.ts)
 * as the reference's rows (reference.test-support.ts) over that stratum's units alone. Then
 * one report built from the engine's rows, showing CUPED used.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { TrinoSQL } from "dt-sql-parser";
import { beforeAll, describe, expect, test } from "vitest";
import type { Metric } from "../../../shared/authoring/schema.js";
import { VALUE_SCALE } from "../../../shared/metric-values.js";
import { experimentOn, uniforms } from "../../../test/support/simulated-rows.js";
import { buildReport } from "../report/index.js";
import {
  ALLOCATION_PREFIX,
  CLOSED_SUFFIX,
  CLOSED_UNITS_PREFIX,
  EPOCH_SEPARATOR,
  EXPOSURES,
  type AggregateRow,
} from "../store.js";
import { compileMetricQuery } from "./compile.js";
import { athena } from "./dialect.js";
import { PRE_EXPOSURE_DAYS } from "./pre-exposure.js";
import { referenceAggregates, type EventRow, type ExposureRow } from "./reference.test-support.js";
import { runMetricQuery } from "./run.js";
import { SEGMENT_SEPARATOR } from "./strata.js";
import { createTable } from "./tables.js";
import { canonical, connect, DAY, event, exposure, HOUR, metric, query, T0 } from "./test-kit.test-support.js";

const ALLOCATIONS = ["control=50,treatment=50", "control=80,treatment=20"];
const COUNTRIES = ["DE", "FR", "US", null];
const metrics = [
  metric({
    key: "conv",
    type: "unique_conversions",
    eventType: "buy",
    filters: [{ property: "plan", op: "=", value: "pro" }],
  }),
  metric({ key: "views", type: "event_totals", eventType: "view", capValue: 6 }),
  metric({ key: "spend", type: "property_sum", eventType: "buy", property: "price", capValue: 40 }),
  metric({ key: "avg", type: "property_average", eventType: "buy", property: "price" }),
  metric({ key: "ratio", type: "ratio", numerator: { eventType: "buy" }, denominator: { eventType: "view" } }),
  metric({ key: "funnel", type: "funnel", steps: [{ eventType: "view" }, { eventType: "buy" }] }),
];
/**
 * With windows (closed-window.ts): closing 2 days after exposure, a funnel's 1-day window
 * plus its 1-day conversion window sharing that close, and one closing at 3 days.
 */
const withWindows = [
  ...metrics,
  metric({ key: "views2d", type: "event_totals", eventType: "view", window: { startHours: 0, endHours: 48 } }),
  metric({
    key: "ratio2d",
    type: "ratio",
    numerator: { eventType: "buy", property: "price" },
    denominator: { eventType: "view" },
    window: { startHours: 0, endHours: 48 },
  }),
  metric({
    key: "funnel1d",
    type: "funnel",
    steps: [{ eventType: "view" }, { eventType: "buy" }],
    window: { startHours: 0, endHours: 24 },
    conversionWindowHours: 24,
  }),
  metric({ key: "conv3d", type: "unique_conversions", eventType: "buy", window: { startHours: 0, endHours: 72 } }),
];

/** 240 units exposed over three days (some again, some in the other variant), events from 20 days before to 5 after. */
function generate(seed: number) {
  const random = uniforms(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const exposures: ExposureRow[] = [];
  const events: EventRow[] = [];
  for (let u = 0; u < 240; u++) {
    const unit = `u${u}`;
    const variant = random() < 0.5 ? "control" : "treatment";
    const first = T0 + Math.floor(random() * 3 * DAY);
    const allocation = u < 100 ? ALLOCATIONS[0]! : ALLOCATIONS[1]!;
    const country = pick(COUNTRIES);
    exposures.push(exposure(unit, variant, first, { allocation, country }));
    // A later exposure: its allocation and country are not the unit's (the first exposure's are).
    if (random() < 0.2)
      exposures.push(
        exposure(unit, random() < 0.3 ? "control" : variant, first + HOUR, {
          allocation: ALLOCATIONS[0],
          country: "XX",
        }),
      );
    const count = Math.floor(random() * 12);
    for (let e = 0; e < count; e++) {
      const time = first - 20 * DAY + Math.floor(random() * 25 * DAY);
      const row =
        random() < 0.5
          ? event(unit, "view", time)
          : event(unit, "buy", time, { plan: random() < 0.6 ? "pro" : "free", price: Math.round(random() * 300) / 10 });
      events.push(row);
      if (random() < 0.15) events.push({ ...row }); // a copy: one id, counted once
    }
  }
  return { exposures, events };
}

const store = { deployment: "d", source: "client" };
async function load(db: DuckDBConnection, exposures: ExposureRow[], events: EventRow[]) {
  await createTable(
    db,
    "exposures",
    exposures.map((x) => ({ ...store, ...x })),
  );
  await createTable(
    db,
    "events",
    events.map((e) => ({ ...store, ...e })),
  );
}

type Sums = { n: number; sum: bigint; sumSquares: bigint };
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The covariate series computed directly: each unit's x and history, and Σx·Δy by the day y moves. */
function covariateTruth(exposures: ExposureRow[], events: EventRow[]): Map<string, Sums> {
  const out = new Map<string, Sums>();
  const add = (day: string, variant: string, series: string, n: number, sum: bigint, sumSquares: bigint) => {
    const key = `${day}|${variant}|${series}`;
    const s = out.get(key) ?? { n: 0, sum: 0n, sumSquares: 0n };
    out.set(key, { n: s.n + n, sum: s.sum + sum, sumSquares: s.sumSquares + sumSquares });
  };
  const firsts = new Map<string, ExposureRow>();
  for (const x of exposures) {
    const seen = firsts.get(x.unit_id);
    if (!seen || x.time < seen.time) firsts.set(x.unit_id, x);
  }
  const byId = new Map(events.map((e) => [e.id, e])); // copies share an id: one each
  for (const [unit, first] of firsts) {
    const own = [...byId.values()].filter((e) => e.user_id === unit).sort((a, b) => a.time - b.time);
    const pre = own.filter((e) => e.time < first.time && e.time >= first.time - PRE_EXPOSURE_DAYS * DAY);
    const post = own.filter((e) => e.time >= first.time);
    const props = (e: EventRow) => JSON.parse(e.event_properties ?? "{}") as { plan?: string; price?: number };
    const rules = {
      conv: {
        history: (e: EventRow) => e.event_type === "buy",
        value: (list: EventRow[]) =>
          list.some((e) => e.event_type === "buy" && props(e).plan === "pro") ? VALUE_SCALE : 0,
      },
      views: {
        history: (e: EventRow) => e.event_type === "view",
        value: (list: EventRow[]) => Math.min(6, list.filter((e) => e.event_type === "view").length) * VALUE_SCALE,
      },
      spend: {
        history: (e: EventRow) => e.event_type === "buy",
        value: (list: EventRow[]) =>
          Math.min(
            40 * VALUE_SCALE,
            list
              .filter((e) => e.event_type === "buy")
              .reduce((s, e) => s + Math.round(props(e).price! * VALUE_SCALE), 0),
          ),
      },
    };
    for (const [key, rule] of Object.entries(rules)) {
      const x = BigInt(rule.value(pre));
      if (pre.some(rule.history) || x !== 0n)
        add(isoDay(first.time), first.variant, `${key}:pre`, pre.some(rule.history) ? 1 : 0, x, x * x);
      // y at the end of each day from the exposure day on; Σx·(y − y the day before) on the days it moves.
      let before = 0n;
      for (let day = Math.floor(first.time / DAY); day <= Math.floor(T0 / DAY) + 10; day++) {
        const y = BigInt(rule.value(post.filter((e) => e.time < (day + 1) * DAY)));
        if (y !== before && x !== 0n)
          add(isoDay(day * DAY), first.variant, `${key}:pre:cross`, 0, x * (y - before), 0n);
        before = y;
      }
    }
  }
  for (const [key, s] of out) if (s.n === 0 && s.sum === 0n && s.sumSquares === 0n) out.delete(key);
  return out;
}

const keyed = (rows: readonly AggregateRow[]) =>
  new Map(rows.map((r) => [`${r.day}|${r.variant}|${r.metric}`, { n: r.n, sum: r.sum, sumSquares: r.sumSquares }]));

/** The units whose first exposure matches, with all their exposures. */
function unitsWhere(exposures: ExposureRow[], keep: (first: ExposureRow) => boolean): ExposureRow[] {
  const firsts = new Map<string, ExposureRow>();
  for (const x of exposures) {
    const seen = firsts.get(x.unit_id);
    if (!seen || x.time < seen.time) firsts.set(x.unit_id, x);
  }
  return exposures.filter((x) => keep(firsts.get(x.unit_id)!));
}

/** Rows named `<series><sep><stratum>` (or epochSeries'), renamed to plain series, for one stratum. */
function stratumRows(rows: readonly AggregateRow[], rename: (metric: string) => string | undefined) {
  return canonical(
    rows.flatMap((r) => {
      const metric = rename(r.metric);
      return metric === undefined ? [] : [{ ...r, metric }];
    }),
  );
}

let db: DuckDBConnection;
let data: ReturnType<typeof generate>;
beforeAll(async () => {
  db = await connect();
  data = generate(27);
  await load(db, data.exposures, data.events);
});

describe("the engine's analysis series", () => {
  test("CUPED's covariates equal the sums over each unit's events before its first exposure", async () => {
    const q = query(metrics, { covariates: true });
    const rows = await runMetricQuery(db, q);
    const engine = keyed(rows.filter((r) => r.metric.includes(":pre")));
    const truth = covariateTruth(data.exposures, data.events);
    expect(truth.size).toBeGreaterThan(40);
    expect(engine).toEqual(truth);
    // No covariate for the metrics CUPED cannot use, and the main rows are the reference's.
    expect(rows.some((r) => /^(avg|ratio|funnel):pre/.test(r.metric))).toBe(false);
    expect(canonical(rows.filter((r) => !r.metric.includes(":pre")))).toEqual(
      canonical(referenceAggregates(q, data.exposures, data.events)),
    );
  });

  test("per allocation epoch, every metric's series are the reference's over that epoch's units", async () => {
    const rows = await runMetricQuery(db, query(withWindows, { epochs: true }));
    expect(rows.some((r) => r.metric.startsWith(`views2d${CLOSED_SUFFIX}${EPOCH_SEPARATOR}`))).toBe(true);
    expect(rows.some((r) => r.metric.startsWith(`funnel1d${CLOSED_SUFFIX}${EPOCH_SEPARATOR}`))).toBe(true);
    for (const allocation of ALLOCATIONS) {
      // The closed windows' units per epoch too (`$closed:48@<allocation>`), the other `$` series aside.
      const reference = referenceAggregates(
        query(withWindows),
        unitsWhere(data.exposures, (first) => first.allocation === allocation),
        data.events,
      ).filter((r) => !r.metric.startsWith("$") || r.metric.startsWith(CLOSED_UNITS_PREFIX));
      const suffix = `${EPOCH_SEPARATOR}${allocation}`;
      const epoch = stratumRows(rows, (m) => (m.includes(suffix) ? m.replace(suffix, "") : undefined));
      expect(epoch.length).toBeGreaterThan(20);
      expect(epoch).toEqual(canonical(reference));
      const units = new Set(unitsWhere(data.exposures, (f) => f.allocation === allocation).map((x) => x.unit_id));
      const exposed = rows.filter((r) => r.metric === `${ALLOCATION_PREFIX}${allocation}`);
      expect(exposed.reduce((s, r) => s + r.n, 0)).toBe(units.size);
    }
  });

  test("with one allocation the epochs are not computed", async () => {
    const one = data.exposures.map((x) => ({ ...x, allocation: ALLOCATIONS[0] }));
    const single = await connect();
    await load(single, one, data.events);
    const rows = await runMetricQuery(single, query(withWindows, { epochs: true }));
    expect(rows.filter((r) => r.metric.includes(EPOCH_SEPARATOR))).toEqual([]);
  });

  test("per breakdown segment, every series (exposures too) is the reference's over that segment's units", async () => {
    const rows = await runMetricQuery(db, query(metrics, { breakdown: "country" }));
    for (const country of COUNTRIES) {
      const value = country ?? "";
      const reference = referenceAggregates(
        query(metrics),
        unitsWhere(data.exposures, (first) => (first.country ?? null) === country),
        data.events,
      ).filter((r) => !r.metric.startsWith("$") || r.metric === EXPOSURES);
      const suffix = `${SEGMENT_SEPARATOR}${value}`;
      const segment = stratumRows(rows, (m) =>
        m.endsWith(suffix) && m.indexOf(SEGMENT_SEPARATOR) === m.length - suffix.length
          ? m.slice(0, -suffix.length)
          : undefined,
      );
      expect(segment.some((r) => r.metric === EXPOSURES)).toBe(true);
      expect(segment).toEqual(canonical(reference));
    }
    // A configured property (a member of user_properties) splits the same way.
    const tiered = data.exposures.map((x, i) => ({
      ...x,
      user_properties: JSON.stringify({ tier: i % 2 ? "gold" : "basic" }),
    }));
    const other = await connect();
    await load(other, tiered, data.events);
    const byTier = await runMetricQuery(other, query(metrics, { breakdown: "tier" }));
    const exposed = (tier: string) =>
      byTier.filter((r) => r.metric === `${EXPOSURES}${SEGMENT_SEPARATOR}${tier}`).reduce((s, r) => s + r.n, 0);
    expect(exposed("gold") + exposed("basic")).toBe(240);
    expect(exposed("gold")).toBeGreaterThan(0);
  });

  test("with every option on, the Athena SQL parses as Trino", () => {
    const sql = compileMetricQuery(query(withWindows, { covariates: true, epochs: true, breakdown: `ti'er"` }), athena);
    expect(new TrinoSQL().validate(sql)).toEqual([]);
  });
});

test("a report from the engine's rows uses CUPED where units have a pre-exposure history", async () => {
  // 2,000 units, half with history; a unit that bought before buys again more often (pre/post correlation).
  const random = uniforms(7);
  const exposures: ExposureRow[] = [];
  const events: EventRow[] = [];
  for (let u = 0; u < 2000; u++) {
    const unit = `r${u}`;
    const first = T0 + Math.floor(random() * DAY);
    exposures.push(exposure(unit, u % 2 ? "treatment" : "control", first));
    const buyer = random() < 0.5;
    if (buyer) events.push(event(unit, "buy", first - 3 * DAY, { plan: "pro" }));
    if (random() < (buyer ? 0.8 : 0.1)) events.push(event(unit, "buy", first + HOUR, { plan: "pro" }));
  }
  const report = await connect();
  await load(report, exposures, events);
  const conv: Metric = { key: "conv", type: "unique_conversions", eventType: "buy" };
  const rows = await runMetricQuery(report, query([metric(conv)], { covariates: true }));
  const built = buildReport(experimentOn(conv), rows, { rejectedExposures: 0, droppedValues: {} }, Date.now());
  const cuped = built.metrics[0]!.cuped;
  expect(cuped).toBeDefined();
  expect(cuped!.unitsWithHistory).toBeGreaterThan(900);
  // ρ² for this design is ≈ 0.49: the variance of the arms' means is about halved.
  expect(cuped!.varianceReduction).toBeGreaterThan(0.3);
});
