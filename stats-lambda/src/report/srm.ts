/**
 * The sample-ratio check: strata by the allocation each unit was assigned under (units
 * recorded without one are assumed to follow the flag's weights), tested sequentially at
 * every look (shared/stats/srm.ts); the p-value is the running minimum.
 */
import { SRM_ALPHA, srmPValue, type AllocationStratum } from "../../../shared/stats/index.js";
import type { Report } from "../../../shared/report-schema.js";
import { ALLOCATION_PREFIX, parseAllocation } from "../store.js";
import type { Cumulative } from "./cumulative.js";
import type { Experiment } from "./experiment.js";

type Stratum = AllocationStratum & { allocation: Record<string, number> };

export function strataAt(
  data: Cumulative,
  { variantKeys, weights }: Pick<Experiment, "variantKeys" | "weights">,
  day: number,
): Stratum[] {
  const recorded = new Map(variantKeys.map((v) => [v, 0]));
  const strata: Stratum[] = [...data.allocations].map((allocation) => {
    const shares = parseAllocation(allocation);
    const counts = variantKeys.map((v) => data.at(v, `${ALLOCATION_PREFIX}${allocation}`, day).n);
    for (const [i, count] of counts.entries()) recorded.set(variantKeys[i]!, recorded.get(variantKeys[i]!)! + count);
    return { allocation: shares, counts, weights: variantKeys.map((v) => shares[v] ?? 0) };
  });
  const rest = variantKeys.map((v) => Math.max(0, data.exposures(v, day) - recorded.get(v)!));
  if (rest.some((count) => count > 0))
    strata.push({
      allocation: Object.fromEntries(variantKeys.map((v, i) => [v, weights[i]!])),
      counts: rest,
      weights,
    });
  return strata;
}

export function sampleRatio(data: Cumulative, experiment: Pick<Experiment, "variantKeys" | "weights">): Report["srm"] {
  const { variantKeys } = experiment;
  let pValue = 1;
  for (let day = 0; day <= data.last; day++) pValue = Math.min(pValue, srmPValue(strataAt(data, experiment, day)));
  return {
    pValue,
    mismatch: pValue < SRM_ALPHA,
    test: "sequential-dirichlet-multinomial",
    strata:
      data.last >= 0
        ? strataAt(data, experiment, data.last).map((s) => ({
            allocation: s.allocation,
            counts: Object.fromEntries(variantKeys.map((v, i) => [v, s.counts[i]!])),
          }))
        : [],
  };
}
