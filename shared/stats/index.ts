/**
 * Statistics for experiment reports: pure functions on sufficient statistics. The stats
 * service only loads statistics and calls these.
 */
export { adjust, CORRECTIONS, type Adjusted, type Correction } from "./corrections.js";
export { fiellerRelativeInterval } from "./fieller.js";
export { DEFAULT_TUNING_SAMPLE_SIZE, PLANNED_POWER, sequentialTest, type SequentialOptions } from "./msprt.js";
export { impossibleTreatmentRate, samplePlan, type PlanInput, type SamplePlan } from "./power.js";
export {
  compareSeries,
  excludesZero,
  type ComparisonSeries,
  type IntervalResult,
  type LookInput,
  type LookResult,
  type Method,
} from "./sequence.js";
export { SRM_ALPHA, srmPValue, type AllocationStratum } from "./srm.js";
export {
  EMPTY,
  EMPTY_PAIRED,
  fromExactSums,
  fromSums,
  fromValues,
  fromValuesWithSkew,
  mean,
  merge,
  mergePaired,
  pairedFromExactSums,
  pairedFromSums,
  pointEstimates,
  variance,
  withZeros,
  type PairedStats,
  type SufficientStats,
} from "./sufficient.js";
export { differenceSkew, testable, welchTTest, type TestOptions, type TestResult } from "./welch.js";
export {
  capEffect,
  capStatistics,
  DEFAULT_CAP_RANGE,
  defaultCapPercentile,
  histogramBucket,
  quantileCaps,
  type Cap,
  type CapEffect,
  type Caps,
  type Histogram,
} from "./winsorize.js";
export { deltaMethodVariance, ratioStatistics, type RatioSums } from "./delta-method.js";
export { adjusted, cupedAdjust, pool, pooledTheta, relativeEffect, type CupedAdjustment } from "./cuped.js";
export { bayesianReadout, DEFAULT_PRIOR, risks, type BayesianReadout, type GaussianPrior } from "./bayesian.js";
