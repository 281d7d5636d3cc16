/**
 * A change of a flag or metric in words, for the diff preview, the history and the audit log:
 * the field's name as the editor labels it ("Segment 1 › Conditions › 2 › Values", "Variant
 * treatment › Payload"), and its values in full (never cut off: long JSON wraps instead).
 */
import type { Change } from "./diff.js";

/** The editor's labels for the authoring model's fields and their parts. */
const FIELD_NAMES: Record<string, string> = {
  key: "Key",
  name: "Name",
  description: "Description",
  type: "Type",
  variants: "Variants",
  value: "Value",
  payload: "Payload",
  bucketing: "Bucketing",
  unit: "Unit",
  groupType: "Group type",
  salt: "Salt",
  rollout: "Rollout (%)",
  weights: "Weights (%)",
  segments: "Segments",
  conditions: "Conditions",
  property: "Property",
  op: "Operator",
  values: "Values",
  inclusions: "Inclusions",
  exclusions: "Exclusions",
  userIds: "User IDs",
  deviceIds: "Device IDs",
  prerequisites: "Prerequisites",
  flag: "Flag",
  groups: "Groups",
  kind: "Kind",
  percentage: "Holdout (%)",
  deployments: "Deployments",
  hypothesis: "Hypothesis",
  problem: "Problem",
  proposedChange: "Proposed change",
  predictedResult: "Predicted result",
  primaryMetric: "Primary metric",
  secondaryMetrics: "Secondary metrics",
  guardrailMetrics: "Guardrail metrics",
  eventType: "Event type",
  filters: "Filters",
  window: "Window",
  statisticalMethod: "Statistical method",
  confidenceLevel: "Confidence level",
  minimumDetectableEffect: "Minimum detectable effect",
  multipleTestingCorrection: "Multiple-testing correction",
  status: "Status",
  decidedVariant: "Decided variant",
  analysisPeriods: "Analysis periods",
  startedAt: "Started",
  stoppedAt: "Stopped",
  archived: "Archived",
};

/** Lists whose items are named by their key or name rather than by position. */
const SINGULAR: Record<string, string> = {
  variants: "Variant",
  segments: "Segment",
  secondaryMetrics: "Secondary metric",
  guardrailMetrics: "Guardrail metric",
  prerequisites: "Prerequisite",
  analysisPeriods: "Analysis period",
  conditions: "Condition",
  filters: "Filter",
};

/** "minimumDetectableEffect" → "Minimum detectable effect", for a field not in the table. */
const words = (name: string) => {
  const spaced = name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
};

const itemName = (item: unknown): string | undefined => {
  if (item === null || typeof item !== "object") return undefined;
  const record = item as Record<string, unknown>;
  for (const field of ["key", "name", "flag", "metric"])
    if (typeof record[field] === "string" && record[field]) return record[field] as string;
  return undefined;
};

/**
 * The path's steps in words. `after` and `before` (the whole documents) name list items by
 * their key or name ("Variant treatment"), so a change reads the same whichever index it has.
 */
export function fieldName(path: ReadonlyArray<string | number>, after?: unknown, before?: unknown): string {
  const steps: string[] = [];
  let nodes: unknown[] = [after, before];
  for (const [i, step] of path.entries()) {
    const parent = path[i - 1];
    if (typeof step === "number") {
      const named = nodes.map((n) => (Array.isArray(n) ? itemName(n[step]) : undefined)).find(Boolean);
      const singular = typeof parent === "string" ? SINGULAR[parent] : undefined;
      const prefix = singular ?? "Item";
      // A segment named "Segment 1" reads "Segment 1", not "Segment Segment 1".
      const label = named ? (named.startsWith(prefix) ? named : `${prefix} ${named}`) : `${prefix} ${step + 1}`;
      if (singular && steps.length > 0) steps[steps.length - 1] = label;
      else steps.push(label);
    } else {
      // A record keyed by variant (weights, inclusions) reads "Weights (%) › treatment".
      const keyed = parent === "weights" || parent === "inclusions";
      steps.push(keyed ? step : (FIELD_NAMES[step] ?? words(step)));
    }
    nodes = nodes.map((n) => (n !== null && typeof n === "object" ? (n as Record<string, unknown>)[step] : undefined));
  }
  return steps.join(" › ");
}

/** A value in full: text as typed, lists of plain values joined, anything else as indented JSON. */
export function valueText(value: unknown): string {
  if (value === undefined) return "(not set)";
  if (value === "") return "(empty)";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  if (Array.isArray(value) && value.length === 0) return "(none)";
  if (Array.isArray(value) && value.every((v) => typeof v === "string" || typeof v === "number"))
    return value.join(", ");
  return JSON.stringify(value, null, 2);
}

/** Values kept whole however nested: a payload is the admin's own JSON. */
const WHOLE = new Set(["payload"]);
const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const isNested = (v: unknown) =>
  (isRecord(v) && Object.keys(v).length > 0) ||
  (Array.isArray(v) && v.some((x) => x !== null && typeof x === "object"));

/**
 * A whole object added or removed (a new flag's hypothesis, a new segment) as one change per field in
 * it, so each reads as a named field with a plain value instead of one row of JSON.
 */
export function expandChanges(changes: Change[]): Change[] {
  return changes.flatMap((change): Change[] => {
    if (change.type === "CHANGE" || WHOLE.has(String(change.path.at(-1)))) return [change];
    const value = change.type === "CREATE" ? change.value : change.oldValue;
    if (!isNested(value)) return [change];
    const entries: Array<[string | number, unknown]> = Array.isArray(value)
      ? value.map((v, i) => [i, v])
      : Object.entries(value as Record<string, unknown>);
    return expandChanges(
      entries.map(([step, v]) =>
        change.type === "CREATE"
          ? { type: "CREATE", path: [...change.path, step], value: v }
          : { type: "REMOVE", path: [...change.path, step], oldValue: v },
      ),
    );
  });
}

/** One change in words: the field, what it was, what it is. */
export interface ChangeText {
  field: string;
  kind: "added" | "removed" | "changed";
  before: string;
  after: string;
}

export function describeChange(change: Change, after?: unknown, before?: unknown): ChangeText {
  return {
    field: fieldName(change.path, after, before),
    kind: ({ CREATE: "added", REMOVE: "removed", CHANGE: "changed" } as const)[change.type],
    before: valueText("oldValue" in change ? change.oldValue : undefined),
    after: valueText("value" in change ? change.value : undefined),
  };
}
