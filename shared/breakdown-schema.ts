/**
 * A report's breakdown by a user property (stats-lambda/src/report/breakdowns.ts): each
 * metric's comparison within each of the property's most common values, labelled
 * exploratory, and whether the effect differs across them. Shared by the stats service (its
 * API and CSV) and the console.
 */
import * as z from "zod";

export const segmentComparisonSchema = z.object({
  treatment: z.string(),
  difference: z.number(),
  /** treatment / control − 1; null when the control mean is 0. */
  lift: z.number().nullable(),
  /** The difference's interval at the corrected level (α over the family). */
  ci: z.tuple([z.number(), z.number()]),
  pValue: z.number(),
  /** Bonferroni over the segments and treatments of the metric. */
  adjustedPValue: z.number(),
  significant: z.boolean(),
});

export const breakdownSegmentSchema = z.object({
  /** The property's value ('' for units without one; `$other` for the values beyond the top). */
  value: z.string(),
  label: z.string(),
  units: z.number(),
  variants: z.array(z.object({ key: z.string(), exposures: z.number(), mean: z.number().nullable() })),
  /** Per treatment; empty when the segment is too small to test (fewer than the report's minimum units per arm). */
  comparisons: z.array(segmentComparisonSchema),
});

export const heterogeneitySchema = z.object({
  treatment: z.string(),
  /** Cochran's Q over the tested segments' differences, with k − 1 degrees of freedom. */
  q: z.number(),
  degreesOfFreedom: z.number(),
  pValue: z.number(),
  /** Higgins' I²: the share of the differences' spread beyond chance (0–1). */
  iSquared: z.number(),
  /** The effect differs across segments: p below α over the treatments. */
  flagged: z.boolean(),
});

export const breakdownSchema = z.object({
  property: z.string(),
  exploratory: z.literal(true).describe("Segments are chosen after the fact: read them as leads, not as verdicts"),
  /** The most common values shown on their own; the rest are one segment, `$other`. */
  top: z.number(),
  metrics: z.array(
    z.object({
      key: z.string(),
      /** Comparisons in the metric's family: tested segments × treatments. */
      familySize: z.number(),
      segments: z.array(breakdownSegmentSchema),
      heterogeneity: z.array(heterogeneitySchema),
    }),
  ),
});

export type Breakdown = z.infer<typeof breakdownSchema>;
