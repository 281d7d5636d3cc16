/**
 * When a verdict may be read. A sequential test is valid at every look. A fixed-horizon
 * t-test is valid once, at its planned sample: read daily it rejected a true null 27.9%
 * (conversion) and 25.8% (revenue) of the time against 5.8%/4.85% at its final look
 * (issue 22; Johari, Koomen, Pekelis & Walsh 2017, "Peeking at A/B tests"). So a t-test look has a
 * verdict only once the units reach the sample plan's fixed-horizon total (the
 * minimum detectable effect plans it), from the first look on or after the planned end the
 * admin set (`plannedEndAt`: a look is a UTC day, read at its end), or at the last look of a
 * stopped run (its end);
 * before, the report shows the estimate and interval without a verdict, unless an early
 * read is asked for (`?read=early`), which gives the verdict marked as early and untrustworthy.
 */
import type { Report } from "../../../shared/report-schema.js";
import type { Cumulative } from "./cumulative.js";
import type { Experiment } from "./experiment.js";

/** `any`: sequential; `planned`: the t-test's planned sample or end; `before_plan`: no verdict; `early`: asked for. */
export type Read = "any" | "planned" | "before_plan" | "early";

export function readRuleOf(
  experiment: Pick<Experiment, "method" | "period" | "variantKeys" | "settings">,
  plan: Report["plan"],
  data: Cumulative,
  earlyRead = false,
): (day: number) => Read {
  if (experiment.method !== "ttest") return () => "any";
  const planned = plan?.fixedHorizon.total;
  const stopped = !!experiment.period?.stoppedAt;
  const plannedEnd = experiment.settings.plannedEndAt;
  // The planned end's UTC day: that look ends after it.
  const endDay = plannedEnd === undefined ? undefined : new Date(plannedEnd).toISOString().slice(0, 10);
  return (day) => {
    const units = experiment.variantKeys.reduce((sum, v) => sum + data.exposures(v, day), 0);
    const reached =
      (planned !== undefined && units >= planned) ||
      (endDay !== undefined && data.days[day]! >= endDay) ||
      (stopped && day === data.last);
    return reached ? "planned" : earlyRead ? "early" : "before_plan";
  };
}
