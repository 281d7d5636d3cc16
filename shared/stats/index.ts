/**
 * Statistics for experiment reports: pure functions on sufficient statistics. The stats
 * service only loads statistics and calls these.
 */
export { bonferroniAlpha, bonferroniP } from "./corrections.js";
export { DEFAULT_TUNING_SAMPLE_SIZE, sequentialTest, type SequentialOptions } from "./msprt.js";
export { SRM_ALPHA, srmTest } from "./srm.js";
export { EMPTY, fromValues, mean, merge, variance, type SufficientStats } from "./sufficient.js";
export { welchTTest, type TestOptions, type TestResult } from "./welch.js";
