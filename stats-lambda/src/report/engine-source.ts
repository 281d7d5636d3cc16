/**
 * The report's source over the event store: the metric engine computes an experiment's
 * daily rows from its analysis period's definitions (bucketing, start and stop, every
 * metric, whenever it was added), so a metric added to a running experiment covers the
 * whole period. Every metric without a window of its own gets the experiment's
 * `defaultMetricWindow` (report/closed-window.ts; with the `defaultWindows` option, a week for
 * every experiment), so the engine closes it and the report has a fixed estimand. Data-quality counters (freshness, rejected exposures, dropped values)
 * are still ingest's, kept per experiment in DynamoDB.
 */
import { metricDefinitionSchema } from "../../../shared/metrics/definition.js";
import { metricsOf } from "../catalog.js";
import type { MetricEngine } from "../metric-engine/index.js";
import type { AnalysisOptions } from "../metric-engine/query-parts.js";
import type { StatsStore } from "../store.js";
import { DEFAULT_WINDOW_HOURS, defaultWindowHoursOf, withDefaultWindow } from "./closed-window.js";
import { periodOf } from "./experiment.js";
import { dynamoSource, type StatisticsSource } from "./source.js";

/** What the engine is asked for beside the metrics: `defaultWindows` gives every metric of every experiment a week's window (closed-window.ts). */
export type EngineSourceOptions = AnalysisOptions & { defaultWindows?: boolean };

export function engineSource(
  engine: Pick<MetricEngine, "aggregates">,
  store: Pick<StatsStore, "aggregates" | "quality">,
  // CUPED's covariates and the per-epoch series (metric-engine/query-parts.ts): the report uses them where they apply.
  // The default window is the experiment's (`defaultMetricWindow`): a stored experiment without it has none.
  { defaultWindows = false, ...analysis }: EngineSourceOptions = { covariates: true, epochs: true },
): StatisticsSource {
  return {
    closesWindows: true,
    ...(defaultWindows ? { closesDefaultWindows: true } : {}),
    aggregates: (project, key, period, flag) => {
      const { period: run, settings } = periodOf(flag, period);
      const hours = defaultWindows ? DEFAULT_WINDOW_HOURS : defaultWindowHoursOf(settings.defaultMetricWindow);
      const definition = (metric: unknown) => {
        const parsed = metricDefinitionSchema.parse(metric);
        return hours === undefined ? parsed : withDefaultWindow(parsed, hours);
      };
      return engine.aggregates({
        project,
        experiment: { key, period },
        bucketing: settings.bucketing,
        from: run ? Date.parse(run.startedAt) : 0,
        until: run?.stoppedAt ? Date.parse(run.stoppedAt) : undefined,
        // Stored flags are read unparsed: defaults (filters, windows) are filled in here.
        metrics: metricsOf(settings).map(definition),
        ...analysis,
      });
    },
    quality: dynamoSource(store).quality,
  };
}
