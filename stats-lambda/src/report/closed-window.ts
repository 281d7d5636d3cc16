/**
 * A fixed estimand for metrics whose value grows with time since exposure (issue 22, 2).
 *
 * A unit's cumulative value (its conversions with a lag, its count of events, its revenue)
 * keeps growing, so over all units exposed so far the arms' true difference grows from look
 * to look; the sequential interval, a running intersection that assumes one fixed parameter,
 * then stops covering it (Poisson counts +20%: 0.1% coverage at the final look). A metric
 * with a window end (`window.endHours`, shared/metrics/definition.ts) has a fixed one: each
 * unit's value within `[exposure + startHours, exposure + endHours)`. Its units enter the
 * test only once their window has closed, with their whole window's value: the source sends
 * them as `<metric>:closed…` on the day the window ends, with the count of those units,
 * `$closed:<endHours>` (store.ts). At every look the test then compares the same quantity,
 * the mean window value of a unit, on a growing sample of complete units: the setting
 * mSPRT's guarantee is proved for (Johari et al. 2017; the same rule as GrowthBook's
 * conversion windows with in-progress units excluded). Units still inside their window are
 * shown (exposures) but not tested.
 *
 * Every metric has a window by default where the source closes windows (the metric engine,
 * `closesWindows`) and the experiment asks for one (`defaultMetricWindow`, shared/authoring/schema.ts;
 * new experiments: DEFAULT_WINDOW_HOURS; stored ones without it and `"none"`: none): that many hours after exposure (retention: the end of its day),
 * overridden by the metric's own `window.endHours`. A funnel's first step is in the window and its
 * last within `conversionWindowHours` of the first, so its units enter once both have passed
 * (shared/metrics/definition.ts `closingHoursOf`: `$closed:<endHours + conversionWindowHours>`).
 *
 * Epochs: the source sends the closed series per allocation epoch too (`K:closed@<allocation>`,
 * `$closed:<hours>@<allocation>`, store.ts `epochSeries`), which the closed view reads as the
 * running view's (`K@<allocation>`, `$alloc:<allocation>`), so analyse.ts post-stratifies the
 * closed units over epochs exactly as it does the running ones (docs/statistics.md). Before any unit's
 * window has closed the report shows the running values as a description only, with no
 * verdict (`window_not_closed`): a test on them would be a test of a growing quantity, the
 * estimand the window exists to avoid. Without closed series from a source that does not
 * close windows (ingest's), a metric without its own window end is analysed on the running
 * values as before.
 */
import { DEFAULT_METRIC_WINDOW, type DefaultMetricWindow } from "../../../shared/authoring/schema.js";
import { closingHoursOf } from "../../../shared/metrics/definition.js";
import { ALLOCATION_PREFIX, CLOSED_SUFFIX, CLOSED_UNITS_PREFIX, EPOCH_SEPARATOR, EXPOSURES } from "../store.js";
import type { Cumulative } from "./cumulative.js";
import type { MetricDefinitionLike } from "./registration.js";

/**
 * The default window: a week after each unit's first exposure, so that every unit's value
 * spans each weekday once (a weekday pattern averages out within a unit) and a verdict can
 * come a week after the start (GrowthBook's conversion windows default to 72 hours; a week
 * suits revenue and counts, which keep growing for longer).
 */
export const DEFAULT_WINDOW_HOURS = DEFAULT_METRIC_WINDOW.endHours;

/** The default window's end in hours an experiment's `defaultMetricWindow` asks for (absent or `"none"`: none). */
export const defaultWindowHoursOf = (setting: DefaultMetricWindow | undefined): number | undefined =>
  setting === undefined || setting === "none" ? undefined : setting.endHours;

type WindowedMetric = Pick<MetricDefinitionLike, "type" | "window"> & { day?: unknown };

/** The window end the metric gets by default: retention's is the end of its day (a funnel's first step is in it). */
export function defaultWindowEndOf(metric: WindowedMetric, hours = DEFAULT_WINDOW_HOURS): number | undefined {
  if (metric.type === "retention" && typeof metric.day === "number") return Math.max(hours, (metric.day + 1) * 24);
  return hours;
}

/** The metric's own window end in hours, when it has one. */
const ownWindowEndOf = (metric: Pick<MetricDefinitionLike, "window">): number | undefined => {
  const window = metric.window as { endHours?: unknown } | undefined;
  return typeof window?.endHours === "number" && window.endHours > 0 ? window.endHours : undefined;
};

/** `defaultHours`: the experiment's default window end (defaultWindowHoursOf), where the source closes windows. */
export type WindowDefaults = { defaultHours?: number | undefined };

/**
 * The metric's window end in hours, when it has one (then its estimand is fixed): its own,
 * else with `defaultHours` the default.
 */
export function windowEndOf(metric: WindowedMetric, { defaultHours }: WindowDefaults = {}): number | undefined {
  return ownWindowEndOf(metric) ?? (defaultHours === undefined ? undefined : defaultWindowEndOf(metric, defaultHours));
}

/** The metric with its default window end (`hours`) filled in, for a source that closes windows (engine-source.ts). */
export function withDefaultWindow<M extends WindowedMetric>(metric: M, hours = DEFAULT_WINDOW_HOURS): M {
  if (ownWindowEndOf(metric) !== undefined) return metric;
  const endHours = defaultWindowEndOf(metric, hours);
  if (endHours === undefined) return metric;
  const window = (metric.window ?? {}) as { startHours?: number };
  if ((window.startHours ?? 0) >= endHours) return metric; // a window starting later keeps its open end
  return { ...metric, window: { ...window, startHours: window.startHours ?? 0, endHours } };
}

/** The series of units whose window of `endHours` closed, per day. */
export const closedUnitsSeries = (endHours: number) => `${CLOSED_UNITS_PREFIX}${endHours}`;

/** A metric's closed view: the data of its closed units, or `pending` while none has closed (running data); `endHours` its window's end. */
export type ClosedView = { endHours: number; view: Cumulative; pending: boolean };

/**
 * The metric's data over the units whose window closed, as a view where they are the
 * exposed units and their window values the metric's (`K:closed:den` → `K:den`,
 * `K:closed~3` → `K~3`, per epoch `K:closed@A` → `K@A` and `$closed:<hours>@A` → `$alloc:A`);
 * undefined when the metric has no window end, or the source sent no closed series and does
 * not close windows. A window no unit has closed yet is `pending`.
 */
export function closedViewOf(
  metric: Pick<MetricDefinitionLike, "key" | "type" | "window"> & { conversionWindowHours?: unknown },
  data: Cumulative,
  { defaultHours }: WindowDefaults = {},
): ClosedView | undefined {
  const endHours = windowEndOf(metric, { defaultHours });
  if (endHours === undefined) return undefined;
  const conversionWindowHours =
    typeof metric.conversionWindowHours === "number" ? metric.conversionWindowHours : undefined;
  const units = closedUnitsSeries(closingHoursOf({ type: metric.type, window: { endHours }, conversionWindowHours })!);
  const unitsOfEpoch = `${units}${EPOCH_SEPARATOR}`;
  if (!data.hasSeries(units)) {
    // A source that closes windows sends nothing until one closes; one that does not, never (ingest).
    const closes = defaultHours !== undefined || ownWindowEndOf(metric) !== undefined;
    return closes ? { endHours, view: data, pending: true } : undefined;
  }
  const prefix = `${metric.key}${CLOSED_SUFFIX}`;
  const view = data.renamed((series) => {
    if (series === units) return EXPOSURES;
    if (series.startsWith(unitsOfEpoch)) return `${ALLOCATION_PREFIX}${series.slice(unitsOfEpoch.length)}`;
    if (!series.startsWith(prefix)) return undefined;
    const rest = series.slice(prefix.length);
    return rest === "" || /^[:~@]/.test(rest) ? `${metric.key}${rest}` : undefined;
  });
  return { endHours, view, pending: false };
}
