/**
 * Stage 1 of the report: load the sufficient statistics. A source answers with daily
 * AggregateRows (daily deltas, exact scaled sums, the pseudo-series `$exposures`,
 * `$multipleVariants`, `$alloc:…`, histogram buckets `<metric>~<bucket>`, and for ratio
 * metrics `K`, `K:den`, `K:cross`) and the data-quality counters. The DynamoDB store
 * (ingest's daily aggregates) is one source; the metric engine over the Parquet event
 * store returns the same shape and plugs in the same way.
 */
import type { Flag } from "../../../shared/authoring/schema.js";
import { analysisKey, type AggregateRow, type Quality, type StatsStore } from "../store.js";
import type { MetricDefinitionLike } from "./registration.js";

export interface StatisticsSource {
  /**
   * Daily rows of experiment `key` in analysis period `period` (1, 2, …). `flag` is the
   * experiment itself, for a source that computes from definitions (the metric engine
   * needs the period's start and stop, bucketing and metrics); ingest's store needs only the key.
   */
  aggregates(project: string, key: string, period: number, flag: Flag): Promise<AggregateRow[]>;
  quality(project: string, key: string, period: number, flag: Flag): Promise<Quality>;
  /** Whether the source computes this metric at all (absent: every metric); the report leaves out the others. */
  computes?(metric: MetricDefinitionLike): boolean;
  /**
   * Whether the source closes the windows the experiment asks for, its `defaultMetricWindow`
   * included (the metric engine: report/closed-window.ts); absent, only metrics with their
   * own window end are.
   */
  closesWindows?: boolean;
  /** Whether it closes a DEFAULT_WINDOW_HOURS window for every metric, whatever the experiment's setting (engineSource's option). */
  closesDefaultWindows?: boolean;
}

const INGEST_TYPES = new Set(["unique_conversions", "event_totals", "property_sum", "property_average"]);

/**
 * What the per-unit ingest computes (stats-lambda/src/metrics.ts): the four first metric
 * types, without filters or a window. Every other metric needs the metric engine; reported
 * from ingest's rows it would read as zeros.
 */
export const ingestComputes = (metric: MetricDefinitionLike): boolean =>
  INGEST_TYPES.has(metric.type) && (metric.filters ?? []).length === 0 && metric.window === undefined;

/** What the report reads of an experiment. */
export interface LoadedStatistics {
  rows: AggregateRow[];
  quality: Quality;
}

/** The rows and quality of a flag's analysis period (the latest when not given). */
export async function loadStatistics(
  source: StatisticsSource,
  project: string,
  flag: Flag,
  period = flag.analysisPeriods?.length ?? 0,
): Promise<LoadedStatistics> {
  // Period 0 (never started) reads the partition the first period will use.
  const chosen = Math.max(1, period);
  const [rows, quality] = await Promise.all([
    source.aggregates(project, flag.key, chosen, flag),
    source.quality(project, flag.key, chosen, flag),
  ]);
  return { rows, quality };
}

/** Ingest's daily aggregates in DynamoDB: one partition per (experiment, analysis period). */
export function dynamoSource(store: Pick<StatsStore, "aggregates" | "quality">): StatisticsSource {
  return {
    aggregates: (project, key, period) => store.aggregates(project, analysisKey({ key }, period)),
    quality: (project, key, period) => store.quality(project, analysisKey({ key }, period)),
    computes: ingestComputes,
  };
}
