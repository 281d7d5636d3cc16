/**
 * Ground truth for the engine's tests, in plain TypeScript, written from the definitions
 * (shared/metrics/definition.ts, docs/metrics.md) and not from the SQL: for every unit it
 * finds the first exposure, then its value *as of the end of each day* directly from the
 * list of its events, and emits the change from the day before. Slow and obvious.
 */
import { scaledMetricValue, USER_VALUE_LIMIT, VALUE_SCALE } from "../../../shared/metric-values.js";
import {
  isCappedMetric,
  type EventSelector,
  type MetricDefinition,
  type MetricFilter,
} from "../../../shared/metrics/definition.js";
import { histogramBucket } from "../../../shared/stats/winsorize.js";
import type { AggregateRow } from "../store.js";
import type { MetricQuery } from "./compile.js";
import { eventTypesOf } from "./metric-sql.js";

export interface ExposureRow {
  id: string;
  project: string;
  experiment_key: string;
  analysis_period: number;
  variant: string;
  unit_id: string;
  user_id?: string | null;
  device_id?: string | null;
  groups?: string | null;
  allocation?: string | null;
  time: number;
  untrusted: boolean;
  country?: string | null;
  platform?: string | null;
  os?: string | null;
  app_version?: string | null;
  user_properties?: string | null;
}

export interface EventRow {
  id: string;
  project: string;
  event_type: string;
  user_id?: string | null;
  device_id?: string | null;
  groups?: string | null;
  time: number;
  event_properties?: string | null;
}

const DAY = 86_400_000;
const HOUR = 3_600_000;
const LIMIT = USER_VALUE_LIMIT * VALUE_SCALE;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const endOfDay = (ms: number) => (Math.floor(ms / DAY) + 1) * DAY;
const clampTo = (x: number, limit: number) => Math.max(-limit, Math.min(limit, x));

type Json = Record<string, unknown>;
const parse = (text: string | null | undefined): Json => (text ? (JSON.parse(text) as Json) : {});

/** A JSON member as the engines read it: strings bare, numbers and booleans as written, null absent. */
function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  return String(value);
}

function holds(filter: MetricFilter, value: string | undefined): boolean {
  const values = Array.isArray(filter.value) ? filter.value : [filter.value];
  const equal = (v: unknown) =>
    value !== undefined && (typeof v === "number" ? value.trim() !== "" && Number(value) === v : value === String(v));
  const asNumber = value === undefined || value.trim() === "" ? NaN : Number(value);
  switch (filter.op) {
    case "=":
      return equal(values[0]);
    case "!=":
      return !equal(values[0]);
    case "in":
      return values.some(equal);
    case "not_in":
      return !values.some(equal);
    case "contains":
      return value === undefined ? false : value.toLowerCase().includes(String(values[0]).toLowerCase());
    case "is_set":
      return value !== undefined;
    default: {
      const bound = Number(values[0]);
      if (!Number.isFinite(asNumber) || !Number.isFinite(bound)) return false;
      if (filter.op === "<") return asNumber < bound;
      if (filter.op === "<=") return asNumber <= bound;
      if (filter.op === ">") return asNumber > bound;
      return asNumber >= bound;
    }
  }
}

const BREAKDOWN = new Set(["country", "platform", "os", "app_version"]);

interface Unit {
  key: string;
  variant: string;
  exposedAt: number;
  exposure: ExposureRow;
}
interface Ev {
  row: EventRow;
  props: Json;
}

function matches(selector: EventSelector, event: Ev, unit: Unit): boolean {
  if (event.row.event_type !== selector.eventType) return false;
  return selector.filters.every((f) => {
    if (f.scope === "user") {
      const value = BREAKDOWN.has(f.property)
        ? text(unit.exposure[f.property as "country"])
        : text(parse(unit.exposure.user_properties)[f.property]);
      return holds(f, value);
    }
    return holds(f, text(event.props[f.property]));
  });
}

const scaled = (event: Ev, property: string): number | undefined => {
  const raw = event.props[property];
  // The engines read a member as text: a JSON number and a numeric string alike.
  const result = scaledMetricValue(typeof raw === "boolean" ? "x" : raw);
  return "scaled" in result ? result.scaled : undefined;
};

function inWindow(metric: MetricDefinition, unit: Unit, time: number): boolean {
  const start = unit.exposedAt + Math.round((metric.window?.startHours ?? 0) * HOUR);
  const end =
    metric.window?.endHours === undefined ? Infinity : unit.exposedAt + Math.round(metric.window.endHours * HOUR);
  return time >= start && time < end;
}

/** The unit's value (scaled) from its events before `cutoff`; `counted` = events an average counts. */
function valueAt(
  metric: MetricDefinition,
  unit: Unit,
  events: readonly Ev[],
  cutoff: number,
): { x: number; y: number; counted: number } {
  const before = events.filter((e) => e.row.time < cutoff && e.row.time >= unit.exposedAt);
  const windowed = before.filter((e) => inWindow(metric, unit, e.row.time));
  const cap =
    "capValue" in metric && metric.capValue !== undefined
      ? Math.min(LIMIT, Math.round(metric.capValue * VALUE_SCALE))
      : LIMIT;
  switch (metric.type) {
    case "unique_conversions":
      return { x: windowed.some((e) => matches(metric, e, unit)) ? VALUE_SCALE : 0, y: 0, counted: 0 };
    case "event_totals":
      return {
        x: clampTo(windowed.filter((e) => matches(metric, e, unit)).length * VALUE_SCALE, cap),
        y: 0,
        counted: 0,
      };
    case "property_sum":
    case "property_average": {
      const values = windowed
        .filter((e) => matches(metric, e, unit))
        .map((e) => scaled(e, metric.property))
        .filter((v): v is number => v !== undefined);
      const sum = values.reduce((a, b) => a + b, 0);
      if (metric.type === "property_sum") return { x: clampTo(sum, cap), y: 0, counted: values.length };
      return { x: values.length ? clampTo(Math.round(sum / values.length), cap) : 0, y: 0, counted: values.length };
    }
    case "ratio": {
      const side = (s: typeof metric.numerator) =>
        windowed
          .filter((e) => matches({ eventType: s.eventType, filters: s.filters }, e, unit))
          .reduce((total, e) => total + (s.property === undefined ? VALUE_SCALE : (scaled(e, s.property) ?? 0)), 0);
      return { x: clampTo(side(metric.numerator), LIMIT), y: clampTo(side(metric.denominator), LIMIT), counted: 0 };
    }
    case "retention": {
      const from = unit.exposedAt + (metric.mode === "within" ? Math.min(1, metric.day) : metric.day) * DAY;
      const to = unit.exposedAt + (metric.day + 1) * DAY;
      const hit = windowed.some((e) => matches(metric, e, unit) && e.row.time >= from && e.row.time < to);
      return { x: hit ? VALUE_SCALE : 0, y: 0, counted: 0 };
    }
    case "funnel": {
      const within = Math.round(metric.conversionWindowHours * HOUR);
      // Brute force: any chain of events, one per step, strictly later each, last within the window of the first.
      const chain = (step: number, after: number, first: number): boolean =>
        step === metric.steps.length ||
        before.some(
          (e) =>
            e.row.time > after &&
            e.row.time < first + within &&
            matches(metric.steps[step]!, e, unit) &&
            chain(step + 1, e.row.time, first),
        );
      const converted = windowed.some((e) => matches(metric.steps[0]!, e, unit) && chain(1, e.row.time, e.row.time));
      return { x: converted ? VALUE_SCALE : 0, y: 0, counted: 0 };
    }
  }
}

function eventUnit(query: MetricQuery, row: EventRow): string | undefined {
  const { unit, groupType } = query.bucketing;
  if (unit === "group") return text(parse(row.groups)[groupType!]) ?? undefined;
  return (unit === "device_id" ? row.device_id : (row.user_id ?? row.device_id)) ?? undefined;
}

/** The AggregateRows the engine must return for `query` over these rows. */
export function referenceAggregates(
  query: MetricQuery,
  exposureRows: readonly ExposureRow[],
  eventRows: readonly EventRow[],
): AggregateRow[] {
  const out = new Map<string, AggregateRow>();
  const add = (time: number, variant: string, metric: string, n: number, sum: bigint, sumSquares: bigint) => {
    const key = `${dayOf(time)}|${variant}|${metric}`;
    const row = out.get(key) ?? { day: dayOf(time), variant, metric, n: 0, sum: 0n, sumSquares: 0n };
    row.n += n;
    row.sum += sum;
    row.sumSquares += sumSquares;
    out.set(key, row);
  };
  const inPeriod = (time: number) => time >= query.from && (query.until === undefined || time < query.until);
  const exposures = exposureRows.filter(
    (x) =>
      x.project === query.project &&
      !x.untrusted &&
      inPeriod(x.time) &&
      (!query.experiment ||
        (x.experiment_key === query.experiment.key && x.analysis_period === query.experiment.period)),
  );
  const units = new Map<string, Unit>();
  for (const x of [...exposures].sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : 1)))
    if (!units.has(x.unit_id))
      units.set(x.unit_id, { key: x.unit_id, variant: x.variant, exposedAt: x.time, exposure: x });
  for (const unit of units.values()) {
    add(unit.exposedAt, unit.variant, "$exposures", 1, 0n, 0n);
    if (unit.exposure.allocation) add(unit.exposedAt, unit.variant, `$alloc:${unit.exposure.allocation}`, 1, 0n, 0n);
    const other = exposures.filter((x) => x.unit_id === unit.key && x.variant !== unit.variant);
    if (other.length) add(Math.min(...other.map((x) => x.time)), unit.variant, "$multipleVariants", 1, 0n, 0n);
  }
  const seen = new Set<string>();
  const byUnit = new Map<string, Ev[]>();
  for (const row of eventRows) {
    if (row.project !== query.project || !inPeriod(row.time) || seen.has(row.id)) continue;
    seen.add(row.id);
    const key = eventUnit(query, row);
    if (key === undefined || !units.has(key)) continue;
    byUnit.set(key, [...(byUnit.get(key) ?? []), { row, props: parse(row.event_properties) }]);
  }
  for (const metric of query.metrics) {
    for (const unit of units.values()) {
      const events = byUnit.get(unit.key) ?? [];
      if (metric.type === "ratio") {
        add(unit.exposedAt, unit.variant, metric.key, 1, 0n, 0n);
        add(unit.exposedAt, unit.variant, `${metric.key}:den`, 1, 0n, 0n);
      }
      const days = [
        ...new Set(events.filter((e) => e.row.time >= unit.exposedAt).map((e) => endOfDay(e.row.time))),
      ].sort((a, b) => a - b);
      let previous = { x: 0, y: 0, counted: 0 };
      for (const cutoff of days) {
        const now = valueAt(metric, unit, events, cutoff);
        const [x, px, y, py] = [now.x, previous.x, now.y, previous.y].map(BigInt) as [bigint, bigint, bigint, bigint];
        const time = cutoff - 1;
        const n = metric.type === "property_average" && previous.counted === 0 && now.counted > 0 ? 1 : 0;
        if (x !== px || n) add(time, unit.variant, metric.key, n, x - px, x * x - px * px);
        if (metric.type === "ratio") {
          if (y !== py) add(time, unit.variant, `${metric.key}:den`, 0, y - py, y * y - py * py);
          if (x * y !== px * py) add(time, unit.variant, `${metric.key}:cross`, 0, x * y - px * py, 0n);
        }
        if (isCappedMetric(metric) && now.x !== previous.x) {
          if (previous.x !== 0)
            add(time, unit.variant, `${metric.key}~${histogramBucket(previous.x)}`, -1, -px, -px * px);
          if (now.x !== 0) add(time, unit.variant, `${metric.key}~${histogramBucket(now.x)}`, 1, x, x * x);
        }
        previous = now;
      }
    }
  }
  closedWindows(query, exposures, eventRows, units, byUnit, add);
  unattributed(query, exposures, eventRows, units, add);
  return [...out.values()]
    .filter((r) => r.n !== 0 || r.sum !== 0n || r.sumSquares !== 0n)
    .sort((a, b) => (a.day + a.variant + a.metric < b.day + b.variant + b.metric ? -1 : 1));
}

/**
 * The closed-window series (compile.ts, closed-window.ts): per metric with a window end H, the
 * units whose window ended by the horizon (the latest exposure or event time of the metrics'
 * types read), on the day it ended, with their window value; a funnel's window ends H + its
 * `conversionWindowHours` after the exposure (its last step may come that late).
 */
function closedWindows(
  query: MetricQuery,
  exposures: readonly ExposureRow[],
  eventRows: readonly EventRow[],
  units: ReadonlyMap<string, Unit>,
  byUnit: ReadonlyMap<string, Ev[]>,
  add: (time: number, variant: string, metric: string, n: number, sum: bigint, sumSquares: bigint) => void,
): void {
  const types = new Set(
    query.metrics.flatMap((m) =>
      m.type === "ratio"
        ? [m.numerator.eventType, m.denominator.eventType]
        : m.type === "funnel"
          ? m.steps.map((s) => s.eventType)
          : [m.eventType],
    ),
  );
  const times = [
    ...exposures.map((x) => x.time),
    ...eventRows
      .filter(
        (e) =>
          e.project === query.project &&
          types.has(e.event_type) &&
          e.time >= query.from &&
          (query.until === undefined || e.time < query.until),
      )
      .map((e) => e.time),
  ];
  const horizon = Math.max(0, ...times);
  const closing = (m: MetricDefinition) =>
    m.type === "funnel" && m.window?.endHours !== undefined
      ? m.window.endHours + m.conversionWindowHours
      : m.window?.endHours;
  const windowed = query.metrics.filter((m) => closing(m) !== undefined);
  for (const end of new Set(windowed.map((m) => closing(m)!)))
    for (const unit of units.values())
      if (unit.exposedAt + Math.round(end * HOUR) <= horizon)
        add(unit.exposedAt + Math.round(end * HOUR), unit.variant, `$closed:${end}`, 1, 0n, 0n);
  for (const metric of windowed) {
    const end = Math.round(closing(metric)! * HOUR);
    for (const unit of units.values()) {
      const closesAt = unit.exposedAt + end;
      if (closesAt > horizon) continue;
      const value = valueAt(metric, unit, byUnit.get(unit.key) ?? [], endOfDay(closesAt));
      const [x, y] = [BigInt(value.x), BigInt(value.y)];
      const key = `${metric.key}:closed`;
      const n = metric.type === "property_average" ? (value.counted > 0 ? 1 : 0) : metric.type === "ratio" ? 1 : 0;
      if (x !== 0n || n) add(closesAt, unit.variant, key, n, x, x * x);
      if (metric.type === "ratio") {
        add(closesAt, unit.variant, `${key}:den`, 1, y, y * y);
        if (x * y !== 0n) add(closesAt, unit.variant, `${key}:cross`, 0, x * y, 0n);
      }
      if (isCappedMetric(metric) && value.x !== 0)
        add(closesAt, unit.variant, `${key}~${histogramBucket(value.x)}`, 1, x, x * x);
    }
  }
}

/** Events no metric counts (unattributed.ts): before their unit's first exposure, or of a unit never exposed (24 h on). */
function unattributed(
  query: MetricQuery,
  exposures: readonly ExposureRow[],
  eventRows: readonly EventRow[],
  units: ReadonlyMap<string, Unit>,
  add: (time: number, variant: string, metric: string, n: number, sum: bigint, sumSquares: bigint) => void,
): void {
  const types = new Set(eventTypesOf(query.metrics));
  const read = eventRows.filter(
    (e) =>
      e.project === query.project &&
      types.has(e.event_type) &&
      e.time >= query.from &&
      (query.until === undefined || e.time < query.until),
  );
  if (types.size === 0) return;
  const horizon = Math.max(0, ...exposures.map((x) => x.time), ...read.map((e) => e.time));
  for (const row of read) {
    const key = eventUnit(query, row);
    if (key === undefined) continue;
    const unit = units.get(key);
    if (unit && row.time < unit.exposedAt) add(row.time, unit.variant, "$beforeExposure", 1, 0n, 0n);
    if (!unit && row.time + DAY <= horizon) add(row.time, "", "$neverExposed", 1, 0n, 0n);
  }
}
