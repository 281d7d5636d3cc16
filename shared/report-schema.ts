/**
 * The report's shape as zod schemas: the report API's OpenAPI document and the TypeScript
 * types of report.ts both come from here. Numbers that cannot be estimated yet (NaN,
 * ±Infinity in the code) are `null` in the JSON.
 */
import { breakdownSchema } from "./breakdown-schema.js";
import * as z from "zod";
import { analysisSettingsSchema, hypothesisSchema } from "./authoring/schema.js";
import { WARNINGS } from "./report-warnings.js";
import { CORRECTIONS } from "./stats/corrections.js";

const estimate = z.number().nullable().describe("null when it cannot be estimated yet");
const interval = z.tuple([z.number(), z.number()]).nullable();

export const VERDICTS = [
  "significant_positive",
  "significant_negative",
  "not_yet_significant",
  "insufficient_data",
  "harm_detected",
  "no_harm_detected",
] as const;
export const verdictSchema = z.enum(VERDICTS);
export const warningSchema = z.enum(WARNINGS);

export const comparisonSchema = z.object({
  difference: estimate,
  lift: estimate.describe("(treatment − control) / |control|"),
  ci: interval.describe("Interval of the difference, at `level`"),
  relativeCi: interval.describe("Fieller's interval of the lift; null when unbounded"),
  pValue: z.number(),
  verdict: verdictSchema,
  trustworthy: z.boolean().describe("False when a warning applies: do not act on the verdict"),
  warnings: z.array(warningSchema),
  level: z.number().describe("The significance level the intervals are drawn at, after the correction"),
});

export const variantResultSchema = z.object({
  variant: z.string(),
  control: z.boolean(),
  exposures: z.number(),
  n: z.number(),
  mean: z.number().describe("The analysed mean: capped, when the metric is capped"),
  uncappedMean: z.number().optional(),
  unadjustedMean: z.number().optional().describe("Before CUPED, when the metric is CUPED-adjusted (`mean` is after)"),
  comparison: comparisonSchema.optional(),
  bayesian: z
    .object({
      chanceToBeatControl: z.number().describe("Posterior probability that the treatment is better than control"),
      expectedLoss: z.number().describe("E[max(−relative effect, 0)]: the relative loss if the treatment is worse"),
      credibleInterval: z
        .tuple([z.number(), z.number()])
        .describe("Central interval of the relative effect at the experiment's confidence level"),
      prior: z.literal("flat").describe("gbstats' default: an improper flat prior on the relative effect"),
    })
    .optional()
    .describe("Bayesian readout beside the frequentist comparison; the verdict stays the test's"),
});

export const lookPointSchema = z.object({
  variant: z.string(),
  exposures: z.number(),
  mean: z.number(),
  ci: interval.optional(),
  relativeCi: interval.optional(),
  pValue: z.number().optional(),
  verdict: verdictSchema.optional(),
});

export const metricReportSchema = z.object({
  key: z.string(),
  name: z.string().optional(),
  role: z.enum(["primary", "secondary", "guardrail"]),
  type: z.string(),
  eventType: z.string(),
  direction: z.enum(["increase", "decrease"]),
  comparisons: z.number().describe("How many comparisons share this metric's correction family"),
  registeredAt: z
    .union([z.literal("start"), z.string()])
    .describe('"start", or the ISO time the metric was added to the running experiment (analysis period)'),
  cap: z
    .union([
      z.object({
        percentile: z.number(),
        upper: z.number().nullable(),
        lower: z.number().nullable(),
        cappedShare: z.number().describe("Share of the metric's units counted at a cap, over all arms"),
        removedShare: z.number().describe("Share of the metric's total the caps removed, over all arms"),
      }),
      z.object({ value: z.number() }),
    ])
    .nullable()
    .describe("The cap used at the latest look: a quantile's values, a configured value, or none"),
  cuped: z
    .object({
      varianceReduction: z.number().describe("Share of the variance of the arms' means removed, at the latest look"),
      theta: z.number(),
      preExposureDays: z.number(),
      unitsWithHistory: z.number().describe("Exposed units with a pre-exposure value (the others count 0)"),
    })
    .optional()
    .describe(
      "CUPED, when it adjusted this metric (absent: it did not): then means, intervals and p-values are adjusted",
    ),
  window: z
    .object({ endHours: z.number(), closedUnits: z.number() })
    .optional()
    .describe(
      "A fixed estimand: the metric's value within endHours of each unit's first exposure, tested on the closedUnits whose window has ended (absent: running values)",
    ),
  variants: z.array(variantResultSchema),
  timeSeries: z
    .array(z.object({ day: z.string(), variants: z.array(lookPointSchema) }))
    .describe("Every look (day): the interval-over-time chart"),
});

const sampleSizeSchema = z.object({ perVariant: z.array(z.number()), total: z.number(), days: z.number().nullable() });
export const samplePlanSchema = z.object({
  absoluteEffect: z.number(),
  fixedHorizon: sampleSizeSchema,
  sequential: sampleSizeSchema,
});

export const reportSchema = z.object({
  experiment: z.object({
    key: z.string(),
    name: z.string(),
    status: z.string(),
    method: z.enum(["sequential", "ttest"]),
    confidenceLevel: z.number(),
    correction: z.enum(CORRECTIONS),
    minimumDetectableEffect: z.number().nullable(),
    hypothesis: hypothesisSchema.optional(),
  }),
  analysisPeriod: z
    .object({
      index: z.number(),
      startedAt: z.string().nullable(),
      stoppedAt: z.string().nullable(),
      settings: analysisSettingsSchema,
      periods: z.number(),
    })
    .describe("The run of the experiment reported on: data and settings start afresh at every start"),
  variants: z.array(z.object({ key: z.string(), exposures: z.number(), expectedShare: z.number() })),
  srm: z.object({
    pValue: z.number(),
    mismatch: z.boolean(),
    test: z.literal("sequential-dirichlet-multinomial"),
    strata: z.array(
      z.object({ allocation: z.record(z.string(), z.number()), counts: z.record(z.string(), z.number()) }),
    ),
  }),
  dataQuality: z.object({
    multipleVariantUnits: z.number(),
    multipleVariantShare: z.number().describe("Units seen in two variants, over exposed units"),
    rejectedExposures: z.number(),
    droppedValues: z.record(z.string(), z.number()),
    eventsBeforeExposure: z
      .number()
      .describe("Events of the metrics' types stamped before their unit's first exposure: never counted (event store)"),
    eventsNeverExposed: z
      .number()
      .describe(
        "Events of the metrics' types whose unit had no exposure 24 h on (event store; includes units outside the experiment)",
      ),
  }),
  freshness: z
    .object({
      lastIngestedAt: z.string().nullable(),
      secondsSinceIngest: z.number().nullable(),
      queueLagSeconds: z.number().nullable(),
    })
    .describe("How current the numbers are; events still in the queue are not in the report yet"),
  plan: samplePlanSchema
    .extend({
      baseline: z.object({ mean: z.number(), variance: z.number() }),
      unitsPerDay: z.number(),
      withoutCuped: z
        .object({ fixedHorizon: sampleSizeSchema, sequential: sampleSizeSchema, baselineVariance: z.number() })
        .optional()
        .describe("The same plan on the unadjusted variance, when CUPED adjusted the primary metric"),
    })
    .nullable()
    .describe("Units and days the primary metric needs for the minimum detectable effect"),
  metrics: z.array(metricReportSchema),
  breakdown: breakdownSchema
    .optional()
    .describe("With ?breakdown=<property>: every metric per value of a user property, exploratory"),
});

export type Verdict = z.infer<typeof verdictSchema>;
export type Warning = z.infer<typeof warningSchema>;
export type Comparison = z.infer<typeof comparisonSchema>;
export type VariantResult = z.infer<typeof variantResultSchema>;
export type LookPoint = z.infer<typeof lookPointSchema>;
export type MetricReport = z.infer<typeof metricReportSchema>;
export type Report = z.infer<typeof reportSchema>;
