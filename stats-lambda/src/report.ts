/**
 * The experiment report: a pipeline of named stages in ./report/ (load → analyse → correct
 * → verdicts → warnings, with SRM, quality, freshness and the plan). This module keeps the
 * stats service's one import of it.
 */
export {
  buildReport,
  dynamoSource,
  loadStatistics,
  MIN_CONVERSIONS,
  MIN_EXPOSURES,
  periodOf,
  reportCsv,
  reportFrom,
  type Report,
  type StatisticsSource,
} from "./report/index.js";
