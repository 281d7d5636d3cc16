/**
 * Rules a flag must satisfy beyond its schema, checked against the rest of the
 * project: weights that sum to 100 over defined variants, defined variants wherever one
 * is named, known prerequisites without cycles, known groups, unique keys and names,
 * known project segments, valid regexes within the per-flag limits (regex-safety.ts; whether they can take
 * super-linear time is checked apart, asynchronously: regexSafetyIssues), a group type for
 * group bucketing.
 */
import { pageTargetProblems } from "./page-targets.js";
import { regexLimitIssues } from "./regex-safety.js";
import type { FlagInput, Group } from "./schema.js";

export interface Issue {
  path: string[];
  message: string;
}

export const RESERVED_VARIANT = "off"; // the default variant every compiled flag gets

const sumsTo100 = (weights: Record<string, number>) =>
  Math.abs(Object.values(weights).reduce((a, b) => a + b, 0) - 100) < 1e-9;

function duplicates(values: string[]): string[] {
  const seen = new Set<string>();
  return [...new Set(values.filter((value) => seen.has(value) || !seen.add(value)))];
}

function checkWeights(
  weights: Record<string, number> | undefined,
  variants: Set<string>,
  path: string[],
  issues: Issue[],
): void {
  if (!weights) return;
  for (const key of Object.keys(weights)) {
    if (!variants.has(key))
      issues.push({ path: [...path, key], message: `weights name variant '${key}', which the flag does not define` });
  }
  if (!sumsTo100(weights))
    issues.push({
      path,
      message: `weights must sum to 100 (they sum to ${Object.values(weights).reduce((a, b) => a + b, 0)})`,
    });
}

/**
 * An experiment's metrics each under their own key: reports and their statistics are keyed by it, and the
 * stats service keeps the first metric of a key (primary, then secondary, then guardrail), so a second one
 * (a guardrail that is also a secondary metric, another definition under the primary's key) would vanish
 * from every report without a word.
 */
function metricKeyIssues(flag: FlagInput): Issue[] {
  const roles = new Map<string, string>();
  if (flag.primaryMetric) roles.set(flag.primaryMetric.key, "the primary metric");
  const issues: Issue[] = [];
  for (const [list, role] of [
    ["secondaryMetrics", "a secondary metric"],
    ["guardrailMetrics", "a guardrail metric"],
  ] as const)
    flag[list].forEach((metric, i) => {
      const taken = roles.get(metric.key);
      if (taken)
        issues.push({
          path: [list, String(i), "key"],
          message: `metric key '${metric.key}' is already ${taken}: each metric of an experiment has its own key`,
        });
      else roles.set(metric.key, role);
    });
  return issues;
}

export interface ProjectView {
  /** Every other flag of the project, by key (prerequisites and cycles are checked against them). */
  flags: ReadonlyMap<string, Pick<FlagInput, "key" | "variants" | "prerequisites">>;
  groups: ReadonlyMap<string, Group>;
  /** The project's segment keys (targeting rules name them in `segment`); absent: not checked. */
  segments?: ReadonlySet<string>;
}

export function validateFlag(flag: FlagInput, project: ProjectView): Issue[] {
  const issues: Issue[] = [];
  const variantKeys = flag.variants.map((v) => v.key);
  const variants = new Set(variantKeys);

  for (const key of duplicates(variantKeys))
    issues.push({ path: ["variants"], message: `duplicate variant key '${key}'` });
  if (variants.has(RESERVED_VARIANT))
    issues.push({ path: ["variants"], message: `'${RESERVED_VARIANT}' is reserved for the default variant` });
  if (flag.type === "experiment" && flag.variants.length < 2)
    issues.push({
      path: ["variants"],
      message: "an experiment needs at least two variants (a control and a treatment)",
    });

  if (flag.bucketing.unit === "group" && !flag.bucketing.groupType) {
    issues.push({
      path: ["bucketing", "groupType"],
      message: "group bucketing needs a groupType (for example company_id)",
    });
  }
  checkWeights(flag.weights, variants, ["weights"], issues);

  for (const name of duplicates(flag.segments.map((s) => s.name)))
    issues.push({ path: ["segments"], message: `duplicate segment name '${name}'` });
  flag.segments.forEach((segment, i) => {
    checkWeights(segment.weights, variants, ["segments", String(i), "weights"], issues);
    if (segment.conditions.length === 0 && !segment.segment)
      issues.push({
        path: ["segments", String(i), "conditions"],
        message: "a targeting rule needs at least one condition or a segment",
      });
    if (segment.segment && project.segments && !project.segments.has(segment.segment))
      issues.push({ path: ["segments", String(i), "segment"], message: `unknown segment '${segment.segment}'` });
  });
  issues.push(...regexLimitIssues(flag));
  issues.push(...metricKeyIssues(flag));

  flag.variants.forEach((variant, i) => {
    for (const problem of pageTargetProblems(variant.payload))
      issues.push({ path: ["variants", String(i), "payload", problem.field], message: problem.message });
  });

  for (const key of Object.keys(flag.inclusions)) {
    if (!variants.has(key))
      issues.push({
        path: ["inclusions", key],
        message: `inclusions name variant '${key}', which the flag does not define`,
      });
  }

  for (const [i, prerequisite] of flag.prerequisites.entries()) {
    const path = ["prerequisites", String(i)];
    const parent = project.flags.get(prerequisite.flagKey);
    if (prerequisite.flagKey === flag.key) issues.push({ path, message: "a flag cannot be its own prerequisite" });
    else if (!parent) {
      issues.push({ path: [...path, "flagKey"], message: `unknown prerequisite flag '${prerequisite.flagKey}'` });
    } else {
      const parentVariants = new Set([RESERVED_VARIANT, ...parent.variants.map((v) => v.key)]);
      for (const variant of prerequisite.variants) {
        if (!parentVariants.has(variant))
          issues.push({ path: [...path, "variants"], message: `flag '${parent.key}' has no variant '${variant}'` });
      }
    }
  }
  const cycle = findCycle(flag, project);
  if (cycle) issues.push({ path: ["prerequisites"], message: `prerequisites form a cycle: ${cycle.join(" → ")}` });

  flag.groups.forEach((key, i) => {
    if (!project.groups.has(key)) issues.push({ path: ["groups", String(i)], message: `unknown group '${key}'` });
  });
  for (const key of duplicates(flag.groups)) issues.push({ path: ["groups"], message: `group '${key}' listed twice` });
  return issues;
}

/** A prerequisite path from `flag` back to itself, if the project (with this flag as edited) has one. */
function findCycle(flag: FlagInput, project: ProjectView): string[] | undefined {
  const parentsOf = (key: string) =>
    (key === flag.key ? flag.prerequisites : (project.flags.get(key)?.prerequisites ?? [])).map((p) => p.flagKey);
  const walk = (key: string, path: string[]): string[] | undefined => {
    for (const parent of parentsOf(key)) {
      if (parent === flag.key) return [...path, parent];
      if (path.includes(parent)) continue; // a cycle elsewhere, not through this flag
      const found = walk(parent, [...path, parent]);
      if (found) return found;
    }
    return undefined;
  };
  return walk(flag.key, [flag.key]);
}
