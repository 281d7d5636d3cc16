/**
 * What one delivery does to one unit of one experiment: pure, so every rule below is a
 * table test.
 *
 * A unit's item carries its variant, first exposure, metric states and the *pending
 * contributions* of the runs that changed it: per (day, metric) the delta the run is to
 * add to its variant's aggregate, and the event ids it applied. A run writes the unit
 * (conditionally on its version), then adds its contributions to the day's aggregates
 * (marking itself there), then writes its event markers and its settle marker. So a
 * contribution is counted exactly once, whatever fails:
 * - a settled run's entries are done: they are dropped the next time the unit is written;
 * - a running run's entries are left alone (it will settle them);
 * - a dead run's entries (past its deadline, unsettled) are adopted: every day its
 *   aggregate write did not reach moves into this run's contribution, its event ids too.
 * An event or exposure already applied by a run still running is not applied again, and
 * its message is deferred: redelivered after that run is settled or dead, it is then a
 * plain duplicate or is adopted. Nothing half-applied is ever skipped as a duplicate.
 */
import type { LegacyMetric as Metric } from "../../../shared/authoring/schema.js";
import { applyEvent, EMPTY_STATE, type ExactDelta, type UnitMetricState } from "../metrics.js";
import { ALLOCATION_PREFIX, baseMetric, dayOf, EXPOSURES, MULTIPLE_VARIANTS } from "../store.js";

/**
 * One series' delta as a unit item stores it: scaled, Σ and Σ² as exact decimal strings (DynamoDB numbers
 * would round them). `decodeDelta` and `encodeDelta` convert; nothing else reads the tuple.
 */
export type StoredDelta = [n: number, sum: string, sumSquares: string];

/**
 * A run's contribution to a unit, as stored in the unit's item. The short field names are the stored
 * attribute names (every unit item carries them); `contributionsOf` reads `d` with names.
 */
export interface PendingEntry {
  run: string;
  /** When the run started. */
  at: number;
  /** Deltas: per `day|series` (`seriesCell`), what the run adds to its variant's aggregate of that day. */
  d: Record<string, StoredDelta>;
  /** Events: the ids of the events the run applied. */
  ev: string[];
}

export interface UnitItem {
  variant: string;
  firstExposure: number;
  version: number;
  metrics: Record<string, UnitMetricState>;
  pending: PendingEntry[];
  multipleVariants?: boolean;
}

/** What is known of the run behind a pending entry. */
export type EntryStatus =
  | { kind: "settled" }
  | { kind: "running" }
  | { kind: "dead"; unappliedCells: ReadonlySet<string> };

/** A contribution's key in a pending entry: a day and a series (a histogram bucket keeps its bucket). */
export const seriesCell = (day: string, series: string) => `${day}|${series}`;

/** An aggregate cell's name in `unappliedCells`: a day and a metric (histogram buckets go with their metric). */
export const cellOf = (day: string, metric: string) => seriesCell(day, baseMetric(metric));

/** The day and the metric (or series) of a key `cellOf` or `seriesCell` built. */
export function parseCell(key: string): { day: string; metric: string } {
  const separator = key.indexOf("|"); // a day (YYYY-MM-DD) has none: the first one ends it
  return { day: key.slice(0, separator), metric: key.slice(separator + 1) };
}

export const encodeDelta = ({ n, sum, sumSquares }: ExactDelta): StoredDelta => [n, String(sum), String(sumSquares)];
export const decodeDelta = ([n, sum, sumSquares]: StoredDelta): ExactDelta => ({
  n,
  sum: BigInt(sum),
  sumSquares: BigInt(sumSquares),
});

/** A pending entry's deltas, decoded: each with its day and series. */
export const contributionsOf = (entry: PendingEntry): Array<{ day: string; series: string; delta: ExactDelta }> =>
  Object.entries(entry.d).map(([key, stored]) => {
    const { day, metric } = parseCell(key);
    return { day, series: metric, delta: decodeDelta(stored) };
  });

export interface ExposureIn {
  variant: string;
  /** The shares the unit was assigned under (`control=50,treatment=50`), for the sample-ratio check. */
  allocation?: string | undefined;
  time: number;
  message: string;
}

export interface EventIn {
  id: string;
  time: number;
  message: string;
  /** The metrics of this experiment the event counts for, with its scaled amount for each. */
  amounts: Array<[Metric, number]>;
}

export interface UnitUpdate {
  /** The unit's new item, or undefined when nothing needs writing. */
  next: UnitItem | undefined;
  /** This run's contribution (adopted ones included), once `next` is written. */
  own: PendingEntry | undefined;
  exposures: number;
  events: number;
  duplicates: number;
  /** Messages to redeliver later: they were applied by a run that is still running. */
  defer: Set<string>;
}

export interface UnitUpdateInput {
  current: UnitItem | undefined;
  exposures: readonly ExposureIn[];
  events: readonly EventIn[];
  /** Event ids with a settled marker. */
  seenEvents: ReadonlySet<string>;
  status: (entry: PendingEntry) => EntryStatus;
  run: string;
  now: number;
}

type Sums = Map<string, ExactDelta>;

function addTo(sums: Sums, key: string, delta: ExactDelta): void {
  const sum = sums.get(key);
  if (sum) {
    sum.n += delta.n;
    sum.sum += delta.sum;
    sum.sumSquares += delta.sumSquares;
  } else sums.set(key, { ...delta });
}

const ONE_UNIT: ExactDelta = { n: 1, sum: 0n, sumSquares: 0n };

export function updateUnit({ current, exposures, events, seenEvents, status, run, now }: UnitUpdateInput): UnitUpdate {
  const result: UnitUpdate = {
    next: undefined,
    own: undefined,
    exposures: 0,
    events: 0,
    duplicates: 0,
    defer: new Set(),
  };
  const sums: Sums = new Map();
  const ownEvents: string[] = [];
  const kept: PendingEntry[] = [];
  const runningEvents = new Set<string>();
  const doneEvents = new Set<string>(); // applied by a settled or adopted run
  let runningExposure = false;
  let changed = false;

  for (const entry of current?.pending ?? []) {
    const state = status(entry);
    const exposes = Object.keys(entry.d).some((key) => parseCell(key).metric === EXPOSURES);
    if (state.kind === "running") {
      kept.push(entry);
      for (const id of entry.ev) runningEvents.add(id);
      runningExposure ||= exposes;
      continue;
    }
    for (const id of entry.ev) doneEvents.add(id);
    if (state.kind === "dead") {
      changed = true; // the adoption must be written
      for (const { day, series, delta } of contributionsOf(entry))
        if (state.unappliedCells.has(cellOf(day, series))) addTo(sums, seriesCell(day, series), delta);
      ownEvents.push(...entry.ev);
    }
  }

  let unit: UnitItem | undefined = current && { ...current, metrics: { ...current.metrics } };
  const byTime = [...exposures].sort((a, b) => a.time - b.time);
  for (const exposure of byTime) {
    if (!unit) {
      unit = { variant: exposure.variant, firstExposure: exposure.time, version: 0, metrics: {}, pending: [] };
      addTo(sums, seriesCell(dayOf(exposure.time), EXPOSURES), ONE_UNIT);
      if (exposure.allocation)
        addTo(sums, seriesCell(dayOf(exposure.time), `${ALLOCATION_PREFIX}${exposure.allocation}`), ONE_UNIT);
      result.exposures++;
      changed = true;
    } else if (unit.variant !== exposure.variant) {
      if (!unit.multipleVariants) {
        unit.multipleVariants = true;
        addTo(sums, seriesCell(dayOf(exposure.time), MULTIPLE_VARIANTS), ONE_UNIT);
        changed = true;
      }
    } else {
      result.duplicates++;
      if (runningExposure && current) result.defer.add(exposure.message);
    }
  }

  for (const event of [...events].sort((a, b) => a.time - b.time)) {
    if (!unit || event.time < unit.firstExposure) continue; // only events after the first exposure count
    if (runningEvents.has(event.id)) {
      result.duplicates++;
      result.defer.add(event.message);
      continue;
    }
    if (seenEvents.has(event.id) || doneEvents.has(event.id) || ownEvents.includes(event.id)) {
      result.duplicates++;
      continue;
    }
    let applied = false;
    for (const [metric, scaled] of event.amounts) {
      const change = applyEvent(metric, unit.metrics[metric.key] ?? EMPTY_STATE, scaled);
      if (!change) continue;
      unit.metrics[metric.key] = change.state;
      for (const [series, delta] of change.deltas) addTo(sums, seriesCell(dayOf(event.time), series), delta);
      applied = true;
    }
    if (!applied) continue;
    ownEvents.push(event.id);
    result.events++;
    changed = true;
  }

  if (!unit || !changed) return result;
  const own: PendingEntry | undefined =
    sums.size > 0 || ownEvents.length > 0
      ? {
          run,
          at: now,
          d: Object.fromEntries([...sums].map(([key, delta]) => [key, encodeDelta(delta)])),
          ev: ownEvents,
        }
      : undefined;
  result.own = own;
  result.next = { ...unit, version: (current?.version ?? 0) + 1, pending: own ? [...kept, own] : kept };
  return result;
}
