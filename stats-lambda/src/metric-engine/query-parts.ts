/**
 * What the metric query computes beside an experiment's series, each on request
 * (`AnalysisOptions`), from the main query's per-unit CTEs (compile.ts): CUPED's covariates
 * (pre-exposure.ts), the series per allocation epoch and per segment of a breakdown
 * (strata.ts). compile.ts calls `analysisParts` once and appends what it returns.
 */
import type { CompiledMetric, MetricQuery } from "./compile.js";
import type { Dialect } from "./dialect.js";
import { preExposureParts } from "./pre-exposure.js";
import { epochParts, segmentParts } from "./strata.js";

export interface AnalysisOptions {
  /** CUPED's covariates, `K:pre` and `K:pre:cross` (pre-exposure.ts). */
  covariates?: boolean | undefined;
  /** The series per allocation epoch, `K@<allocation>` (strata.ts). */
  epochs?: boolean | undefined;
  /** A user property whose values at first exposure split every series, `<series>#<value>` (strata.ts). */
  breakdown?: string | undefined;
}

/** What compile.ts hands over: its query, its dialects and the names of its stages. */
export interface QueryParts {
  query: MetricQuery;
  dialect: Dialect;
  /** compile.ts's JSON-reading dialect (rows of `matched` as `e`) and the members it extracted. */
  reading: { dialect: Dialect; extracted: Map<string, { column: string; member: string }> };
  metrics: readonly CompiledMetric[];
  /** The user-property columns `units` carries (quoted). */
  unitColumns: readonly string[];
  /** The unit an event belongs to (SQL over `events`). */
  eventUnit: string;
  /** The condition on `exposures` of the experiment's trusted exposures in its period. */
  exposureFilter: string;
  /** The tables to read (the unit state's folds read the files before or after, unit-state.ts). */
  tables: { exposures: string; events: string };
  /** The unit state's query: no condition on the whole report, rows marked instead (compile.ts `deferred`). */
  deferred?: boolean | undefined;
}

export function analysisParts(parts: QueryParts): { ctes: string[]; series: string[] } {
  const all = [preExposureParts(parts), epochParts(parts), segmentParts(parts)];
  return { ctes: all.flatMap((p) => p.ctes), series: all.flatMap((p) => p.series) };
}
