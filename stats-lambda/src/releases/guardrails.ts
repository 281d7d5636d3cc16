/**
 * A guarded release's guardrail statistics, the rollout monitor's readings
 * (control-plane/src/rollouts/monitor.ts): per guardrail metric, the sufficient statistics of
 * the units served the new variant against the units held back, each unit in the arm of its
 * first exposure since `since` (the plan's start), from the event store through the metric
 * engine, exactly as an experiment's report computes a metric per variant.
 */
import type { Flag } from "../../../shared/authoring/schema.js";
import { HELD_BACK_VARIANT } from "../../../shared/evaluation/flag-metadata.js";
import { metricDefinitionSchema } from "../../../shared/metrics/definition.js";
import { EMPTY, type SufficientStats } from "../../../shared/stats/sufficient.js";
import type { MetricEngine } from "../metric-engine/index.js";
import { Cumulative } from "../report/cumulative.js";
import { metricStatistics } from "../report/metric-statistics.js";

export interface GuardrailArms {
  metric: string;
  direction: "increase" | "decrease";
  served: SufficientStats;
  heldBack: SufficientStats;
}

const SERVED = "served";
const HELD_BACK = "held-back";

export async function releaseGuardrails(
  engine: Pick<MetricEngine, "aggregates">,
  project: string,
  flag: Flag,
  since: number,
): Promise<GuardrailArms[]> {
  const metrics = (flag.guardrailMetrics ?? []).map((metric) => metricDefinitionSchema.parse(metric));
  if (metrics.length === 0) return [];
  const rows = await engine.aggregates({
    project,
    experiment: { key: flag.key, period: 1 },
    bucketing: flag.bucketing ?? { unit: "user_id" },
    from: since,
    metrics,
  });
  // Every variant the rollout serves is one arm (a release usually has one): sums of units add up.
  const arms = rows.map((row) => ({ ...row, variant: row.variant === HELD_BACK_VARIANT ? HELD_BACK : SERVED }));
  const data = new Cumulative(arms);
  const last = data.days.length - 1;
  return metrics.map((metric) => {
    const statistics = metricStatistics(metric, data, [HELD_BACK, SERVED]);
    return {
      metric: metric.key,
      direction: metric.direction ?? "increase",
      served: last < 0 ? EMPTY : statistics.stats(SERVED, last),
      heldBack: last < 0 ? EMPTY : statistics.stats(HELD_BACK, last),
    };
  });
}
