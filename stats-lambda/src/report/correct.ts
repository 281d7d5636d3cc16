/**
 * Stage 3: correct for multiple comparisons. Per look, the adjusted p-values and interval
 * levels of each family (the primary metric over treatments; the secondary metrics over
 * treatments × metrics; the guardrails over treatments × guardrails, on their one-sided
 * p-values for harm) by the experiment's correction (shared/stats/corrections.ts).
 */
import { adjust, type Correction } from "../../../shared/stats/index.js";
import type { Method } from "../../../shared/stats/index.js";
import { harmPValueAt, type AnalysedMetric } from "./analyse.js";

export interface CorrectedLooks {
  /** Adjusted p-value per look. */
  pValues: number[];
  /** The level each look's intervals are drawn at. */
  levels: number[];
}

/** Corrected looks by comparison id (correctionId). */
export type Corrected = Map<string, CorrectedLooks>;

export const correctionId = (metric: string, treatment: string) => `${metric}|${treatment}`;

export function correct(
  analysed: readonly AnalysedMetric[],
  treatments: readonly string[],
  looks: number,
  alpha: number,
  correction: Correction,
  method: Method = "sequential",
): Corrected {
  const corrected: Corrected = new Map();
  for (const family of ["primary", "secondary", "guardrail"] as const) {
    const members = analysed
      .filter((a) => a.metric.role === family)
      .flatMap((a) =>
        treatments.map((t) => ({
          id: correctionId(a.metric.key, t),
          pValue: (day: number) =>
            family === "guardrail" ? harmPValueAt(a, t, day, method) : a.series.get(t)!.looks[day]!.pValue,
        })),
      );
    for (const member of members) corrected.set(member.id, { pValues: [], levels: [] });
    for (let day = 0; day < looks; day++) {
      const at = adjust(
        members.map((m) => m.pValue(day)),
        alpha,
        correction,
      );
      members.forEach((member, i) => {
        const entry = corrected.get(member.id)!;
        entry.pValues.push(at.pValues[i]!);
        entry.levels.push(at.levels[i]!);
      });
    }
  }
  return corrected;
}
