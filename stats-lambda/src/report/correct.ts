/**
 * Stage 3: correct for multiple comparisons. Per look, the adjusted p-values and interval
 * levels of each family (the primary metric over treatments; the secondary metrics over
 * treatments × metrics) by the experiment's correction (shared/stats/corrections.ts).
 * Guardrails are outside the families: the verdict stage tests them one-sided at α.
 */
import { adjust, type Correction } from "../../../shared/stats/index.js";
import type { AnalysedMetric } from "./analyse.js";

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
): Corrected {
  const corrected: Corrected = new Map();
  for (const family of ["primary", "secondary"] as const) {
    const members = analysed
      .filter((a) => a.metric.role === family)
      .flatMap((a) => treatments.map((t) => ({ id: correctionId(a.metric.key, t), series: a.series.get(t)! })));
    for (const member of members) corrected.set(member.id, { pValues: [], levels: [] });
    for (let day = 0; day < looks; day++) {
      const at = adjust(
        members.map((m) => m.series.looks[day]!.pValue),
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
