/**
 * What is wrong with a draft flag, as it is typed: one message per field, said once, in the
 * words of the field it belongs to (keys, names, weights, conditions, experiment settings).
 * The server checks everything again; this is to say so before Create, next to the field.
 */
import { parseVersion } from "../../../shared/evaluation/semver.js";
import type { Condition, FlagInput } from "./types.js";

/** Field id (`key`, `variants.1.key`, `segments.0.conditions.2.values`) → what is wrong with it. */
export type Problems = Record<string, string>;

const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Why `key` is not a valid key, naming the characters that are not allowed; undefined when it is. */
export function keyProblem(key: string): string | undefined {
  if (key === "") return "Required";
  if (KEY_PATTERN.test(key)) return undefined;
  if (key.length > 100) return `At most 100 characters (this is ${key.length})`;
  if (!/^[A-Za-z0-9]/.test(key)) return "Must start with a letter or digit";
  const bad = [...new Set(key.replace(/[A-Za-z0-9._-]/g, ""))].map((c) => (c === " " ? "space" : `“${c}”`));
  return `Only letters, digits, “.”, “_” and “-”: remove ${bad.join(", ")}`;
}

const NUMERIC = new Set(["less", "less or equal", "greater", "greater or equal"]);
const VERSION = new Set(["version less", "version less or equal", "version greater", "version greater or equal"]);
const REGEX = new Set(["regex match", "regex does not match"]);

/** What is wrong with one condition's values for its operator. */
export function conditionValuesProblem(condition: Condition): string | undefined {
  const values = condition.values.filter((v) => v !== "(none)");
  if (condition.values.length === 0) return "Add at least one value (one per line)";
  if (NUMERIC.has(condition.op)) {
    const bad = values.find((v) => Number.isNaN(Number(v)));
    if (bad !== undefined) return `“${bad}” is not a number; “${condition.op}” compares numbers`;
  }
  if (VERSION.has(condition.op)) {
    const bad = values.find((v) => !parseVersion(v));
    if (bad !== undefined) return `“${bad}” is not a version like 2.1.0`;
  }
  if (REGEX.has(condition.op)) {
    for (const pattern of values) {
      try {
        new RegExp(pattern);
      } catch (error) {
        return `“${pattern}” is not a valid regex: ${(error as Error).message.replace(/^Invalid regular expression: /, "")}`;
      }
    }
  }
  return undefined;
}

/** What is wrong with weights over `variants`: whole percents from 0 to 100 that add up to 100. */
export function weightsProblem(weights: Record<string, number> | undefined, variants: string[]): string | undefined {
  if (!weights) return undefined;
  const unknown = Object.keys(weights).filter((k) => !variants.includes(k));
  if (unknown.length > 0) return `No variant ${unknown.join(", ")}: set the weights again`;
  const total = variants.reduce((sum, k) => sum + (weights[k] ?? 0), 0);
  if (total !== 100) return `Weights add up to ${total}%, not 100%`;
  return undefined;
}

/** Every problem of `draft`; `takenKeys` are the project's other flags (a new flag's key must be new). */
export function draftProblems(draft: FlagInput, takenKeys: ReadonlySet<string> = new Set()): Problems {
  const problems: Problems = {};
  const add = (field: string, problem: string | undefined) => {
    if (problem) problems[field] = problem;
  };
  add(
    "key",
    keyProblem(draft.key) ?? (takenKeys.has(draft.key) ? `The project has a flag ${draft.key} already` : undefined),
  );
  add("name", draft.name.trim() === "" ? "Required" : undefined);

  const seen = new Set<string>();
  draft.variants.forEach((variant, i) => {
    add(
      `variants.${i}.key`,
      keyProblem(variant.key) ?? (seen.has(variant.key) ? `Another variant is called ${variant.key}` : undefined),
    );
    seen.add(variant.key);
  });
  const variantKeys = draft.variants.map((v) => v.key);
  if (draft.type === "experiment" && draft.variants.length < 2)
    add("variants", "An experiment compares at least two variants (a control and a treatment)");
  add("weights", weightsProblem(draft.weights, variantKeys));
  if (draft.bucketing.unit === "group" && !draft.bucketing.groupType?.trim())
    add("bucketing.groupType", "Required when bucketing by group (for example company_id)");

  draft.segments.forEach((segment, s) => {
    add(`segments.${s}.name`, segment.name.trim() === "" ? "Required" : undefined);
    add(`segments.${s}.weights`, weightsProblem(segment.weights, variantKeys));
    segment.conditions.forEach((condition, c) => {
      const at = `segments.${s}.conditions.${c}`;
      add(`${at}.property`, condition.property.trim() === "" ? "Required" : undefined);
      if (condition.groupType !== undefined)
        add(`${at}.groupType`, condition.groupType.trim() === "" ? "Required" : undefined);
      add(`${at}.values`, conditionValuesProblem(condition));
    });
  });

  if (draft.type === "experiment") {
    if (!draft.primaryMetric) add("primaryMetric", "Choose the metric that decides the experiment");
    const mde = draft.minimumDetectableEffect;
    if (mde !== undefined && !(mde > 0 && mde <= 10)) add("minimumDetectableEffect", "Between 0.1% and 1000%");
  }
  return problems;
}

/** Field id → the words a summary uses for it ("Variant 2 key"). */
export function problemLabel(field: string): string {
  const parts = field.split(".");
  const named: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const next = parts[i + 1];
    if (next !== undefined && /^\d+$/.test(next)) {
      const singular = { variants: "variant", segments: "segment", conditions: "condition" }[part] ?? part;
      named.push(`${singular} ${Number(next) + 1}`);
      i++;
    } else {
      named.push(
        {
          groupType: "group type",
          primaryMetric: "primary metric",
          minimumDetectableEffect: "minimum detectable effect",
        }[part] ?? part,
      );
    }
  }
  const text = named.join(" ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}
