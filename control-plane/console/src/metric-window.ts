/**
 * The experiment editor's metric window field, in days. A new experiment without one gets a
 * week (the API's default, shared/authoring/fields.ts); a stored experiment without one was
 * stored before the setting and has none, as `"none"`: the running values, an empty field.
 */
import { DEFAULT_METRIC_WINDOW } from "../../../shared/authoring/fields.js";
import type { FlagInput } from "./types.js";

export function metricWindowDays(window: FlagInput["defaultMetricWindow"], isNew: boolean): number | "" {
  if (window === "none" || (window === undefined && !isNew)) return "";
  return (window?.endHours ?? DEFAULT_METRIC_WINDOW.endHours) / 24;
}
