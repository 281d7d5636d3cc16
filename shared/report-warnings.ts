/**
 * The warnings a report's comparison can carry, each with the sentence the console shows
 * (docs/statistics.md, "Warnings", gives each rule and its reference). Blocking warnings
 * make the comparison untrustworthy (do not act on its verdict); advisory ones say what
 * the reader should know, and leave the verdict standing.
 */
export const WARNINGS = [
  "sample_ratio_mismatch",
  "effect_not_stable",
  "estimate_outside_interval",
  "multiple_variant_units",
  "many_multiple_variant_units",
  "uncapped_heavy_tail",
  "before_planned_sample",
  "early_read",
  "window_not_closed",
] as const;
export type WarningName = (typeof WARNINGS)[number];

/** Units seen in two variants, as a share of exposed units: a warning above, untrustworthy above. */
export const MULTIPLE_VARIANT_WARN_SHARE = 0.01;
export const MULTIPLE_VARIANT_UNTRUSTWORTHY_SHARE = 0.05;

export const ADVISORY_WARNINGS: ReadonlySet<WarningName> = new Set([
  "multiple_variant_units",
  "uncapped_heavy_tail",
  "before_planned_sample",
  "window_not_closed",
]);

export const WARNING_SENTENCES: Record<WarningName, string> = {
  sample_ratio_mismatch:
    "Exposures do not match the configured split: assignment or tracking is broken, so no verdict can be trusted.",
  effect_not_stable:
    "The effect moved outside its own earlier interval (novelty, a weekday pattern, a broken rollout).",
  estimate_outside_interval:
    "Today's estimate lies outside the interval the verdict stands on: the effect has changed since the decision, so re-check before acting.",
  multiple_variant_units:
    "More than 1% of units were seen in two variants (a targeting or bucketing change); they count in their first variant.",
  many_multiple_variant_units:
    "More than 5% of units were seen in two variants: the arms are mixed, so the verdict is not trustworthy.",
  uncapped_heavy_tail:
    "Uncapped on heavy-tailed values (cap percentile 1): a few large values drive the result and false positives rise, most at unequal splits. Cap at 0.99.",
  before_planned_sample:
    "Fixed-horizon t-test before its planned sample (or stop): estimate and interval only, no verdict yet. Ask for an early read to see one.",
  early_read:
    "Early read of a fixed-horizon t-test, asked for explicitly: its error rate holds only at the planned sample.",
  window_not_closed:
    "No unit's metric window has closed yet: the values shown are running values, a description only. The test starts once the first units' windows close.",
};

/** The sentences of the distinct warnings among `warnings`, in the order above. */
export const warningSentences = (warnings: Iterable<string>): string[] => {
  const present = new Set(warnings);
  return WARNINGS.filter((w) => present.has(w)).map((w) => WARNING_SENTENCES[w]);
};

/**
 * What the console says of a report's data quality and estimands beside the warnings: events
 * no metric counted (before their unit's exposure, or of units never exposed, issue 22, 10).
 */
export function dataQualityNotes(report: {
  dataQuality: { eventsBeforeExposure: number; eventsNeverExposed: number };
}): string[] {
  const notes: string[] = [];
  const { eventsBeforeExposure, eventsNeverExposed } = report.dataQuality;
  if (eventsBeforeExposure > 0)
    notes.push(
      `${eventsBeforeExposure.toLocaleString("en")} events were stamped before their unit's exposure and are not counted (metrics count from exposure on).`,
    );
  if (eventsNeverExposed > 0)
    notes.push(
      `${eventsNeverExposed.toLocaleString("en")} events belong to units with no exposure 24 h later: they count for no variant (units outside the experiment, or lost exposures).`,
    );
  return notes;
}
