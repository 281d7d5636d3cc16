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
 * shown (exposures) but not tested. Without those series (ingest's source) the metric is
 * analysed on the running values as before.
 */
import { CLOSED_SUFFIX, CLOSED_UNITS_PREFIX, EXPOSURES } from "../store.js";
import type { Cumulative } from "./cumulative.js";
import type { MetricDefinitionLike } from "./registration.js";

/** The metric's window end in hours, when it has one (then its estimand is fixed). */
export function windowEndOf(metric: Pick<MetricDefinitionLike, "window">): number | undefined {
  const window = metric.window as { endHours?: unknown } | undefined;
  return typeof window?.endHours === "number" && window.endHours > 0 ? window.endHours : undefined;
}

/** The series of units whose window of `endHours` closed, per day. */
export const closedUnitsSeries = (endHours: number) => `${CLOSED_UNITS_PREFIX}${endHours}`;

/**
 * The metric's data over the units whose window closed, as a view where they are the
 * exposed units and their window values the metric's (`K:closed:den` → `K:den`,
 * `K:closed~3` → `K~3`); undefined when the metric has no window end or the source sent no
 * closed series.
 */
export function closedViewOf(metric: Pick<MetricDefinitionLike, "key" | "window">, data: Cumulative) {
  const endHours = windowEndOf(metric);
  if (endHours === undefined) return undefined;
  const units = closedUnitsSeries(endHours);
  if (!data.hasSeries(units)) return undefined;
  const prefix = `${metric.key}${CLOSED_SUFFIX}`;
  const view = data.renamed((series) => {
    if (series === units) return EXPOSURES;
    if (!series.startsWith(prefix)) return undefined;
    const rest = series.slice(prefix.length);
    return rest === "" || rest.startsWith(":") || rest.startsWith("~") ? `${metric.key}${rest}` : undefined;
  });
  return { endHours, view };
}
