/**
 * Authoring model → evaluation model, per deployment: which flags are served there,
 * and each as the segments the engine evaluates, in this order:
 * prerequisites, group membership (mutual exclusion, holdout), exclusions, inclusions,
 * targeting segments, then everyone else. Mutual-exclusion groups and holdouts become
 * flags of their own that members depend on, as in Amplitude's model: one per bucketing
 * unit of their members, bucketed on that unit.
 */
import { USER_FIELDS } from "../evaluation/context.js";
import { DEFAULT_VARIANT_METADATA, FLAG_TYPES, flagMetadata, GUARDED_ROLLOUT } from "../evaluation/flag-metadata.js";
import {
  DISTRIBUTION_MAX,
  type EvaluationFlag,
  type EvaluationSegment,
  type EvaluationVariant,
} from "../evaluation/schema.js";
import type { Condition, Flag, Group } from "./schema.js";
import { resolveSegments, type Segment } from "./segments.js";
import { RESERVED_VARIANT } from "./validate.js";

const OFF: EvaluationVariant = { key: RESERVED_VARIANT, metadata: { ...DEFAULT_VARIANT_METADATA } };

export function isServed(flag: Flag, deployment: string): boolean {
  if (!flag.deployments.includes(deployment)) return false;
  return flag.type === "release" ? flag.status === "active" : flag.status === "running" || flag.status === "decided";
}

function selectorFor(condition: Condition): string[] {
  if (condition.groupType) {
    return condition.property === "group_name"
      ? ["context", "groups", condition.groupType, "group_name"]
      : ["context", "groups", condition.groupType, "group_properties", condition.property];
  }
  return USER_FIELDS.has(condition.property)
    ? ["context", "user", condition.property]
    : ["context", "user", "user_properties", condition.property];
}

function bucketSelector(flag: Flag): string[] {
  const { unit, groupType } = flag.bucketing;
  return unit === "group" ? ["context", "groups", groupType!, "group_name"] : ["context", "user", unit];
}

/** What a flag buckets on, as one string: `user_id`, `device_id` or `group:<type>`. */
const unitOf = (flag: Flag): string =>
  flag.bucketing.unit === "group" ? `group:${flag.bucketing.groupType}` : flag.bucketing.unit;

/** Weights (percent, in variant order) → contiguous distribution ranges covering [0, DISTRIBUTION_MAX). */
function distributions(variantKeys: string[], weights: Record<string, number> | undefined) {
  const share = (key: string) => (weights ? (weights[key] ?? 0) : 100 / variantKeys.length);
  let cumulative = 0;
  let start = 0;
  const ranges = [];
  for (const [i, key] of variantKeys.entries()) {
    cumulative += share(key);
    const end =
      i === variantKeys.length - 1
        ? DISTRIBUTION_MAX
        : Math.min(DISTRIBUTION_MAX, Math.round((cumulative / 100) * DISTRIBUTION_MAX));
    if (end > start) ranges.push({ variant: key, range: [start, end] as [number, number] });
    start = end;
  }
  return ranges;
}

const idsSegment = (
  name: string,
  ids: { userIds: string[]; deviceIds: string[] },
  variant: string,
): EvaluationSegment | undefined => {
  const groups = [];
  if (ids.userIds.length) groups.push([{ selector: ["context", "user", "user_id"], op: "is", values: ids.userIds }]);
  if (ids.deviceIds.length)
    groups.push([{ selector: ["context", "user", "device_id"], op: "is", values: ids.deviceIds }]);
  return groups.length ? { metadata: { segmentName: name }, conditions: groups, variant } : undefined;
};

/**
 * The flag a group compiles to for members bucketed on `unit`: a group buckets on its
 * members' unit (on `user_id` only, anonymous visitors of device-bucketed members were never
 * served and a holdout held none of them out). `user_id` keeps the plain key, so existing
 * user-bucketed groups assign exactly as before.
 */
export const groupFlagKey = (group: Group, unit = "user_id") =>
  unit === "user_id" ? `$${group.kind}-${group.key}` : `$${group.kind}-${group.key}@${unit}`;

/**
 * A release flag part-way through a rollout with guardrails: its units in and out of the
 * rollout are both exposed (flag-metadata.ts GUARDED_ROLLOUT), for the rollout plan's monitor.
 */
export const guardedRollout = (flag: Pick<Flag, "type" | "status" | "rollout" | "guardrailMetrics">): boolean =>
  flag.type === "release" &&
  flag.status === "active" &&
  flag.guardrailMetrics.length > 0 &&
  flag.rollout > 0 &&
  flag.rollout < 100;

function toEvaluationFlag(flag: Flag, groups: ReadonlyMap<string, Group>): EvaluationFlag {
  const variantKeys = flag.variants.map((v) => v.key);
  const variants: Record<string, EvaluationVariant> = { [RESERVED_VARIANT]: OFF };
  for (const v of flag.variants)
    variants[v.key] = {
      key: v.key,
      value: v.value ?? v.key,
      ...(v.payload === undefined ? {} : { payload: v.payload }),
    };

  const segments: EvaluationSegment[] = [];
  for (const prerequisite of flag.prerequisites) {
    segments.push({
      metadata: { segmentName: `Prerequisite ${prerequisite.flagKey}` },
      conditions: [
        [{ selector: ["result", prerequisite.flagKey, "key"], op: "is not", values: prerequisite.variants }],
      ],
      variant: RESERVED_VARIANT,
    });
  }
  const memberOf =
    flag.status === "decided"
      ? []
      : flag.groups.map((key) => groups.get(key)).filter((g): g is Group => g !== undefined);
  for (const group of memberOf) {
    const groupKey = groupFlagKey(group, unitOf(flag));
    const condition =
      group.kind === "mutex"
        ? { selector: ["result", groupKey, "key"], op: "is not", values: [flag.key] }
        : { selector: ["result", groupKey, "key"], op: "is", values: ["holdout"] };
    segments.push({
      metadata: { segmentName: `${group.kind === "mutex" ? "Mutual exclusion" : "Holdout"} ${group.key}` },
      conditions: [[condition]],
      variant: RESERVED_VARIANT,
    });
  }
  const excluded = idsSegment("Excluded", flag.exclusions, RESERVED_VARIANT);
  if (excluded) segments.push(excluded);

  if (flag.status === "decided" && flag.decidedVariant) {
    segments.push({ metadata: { segmentName: "Decision" }, variant: flag.decidedVariant });
  } else {
    for (const [variant, ids] of Object.entries(flag.inclusions)) {
      const included = idsSegment(`Included in ${variant}`, ids, variant);
      if (included) segments.push(included);
    }
    const bucket = (rollout: number, weights: Record<string, number> | undefined) => ({
      selector: bucketSelector(flag),
      salt: flag.bucketing.salt ?? flag.key,
      allocations: [{ range: [0, rollout] as [number, number], distributions: distributions(variantKeys, weights) }],
    });
    for (const segment of flag.segments) {
      segments.push({
        metadata: { segmentName: segment.name },
        conditions: [segment.conditions.map((c) => ({ selector: selectorFor(c), op: c.op, values: c.values }))],
        bucket: bucket(segment.rollout, segment.weights ?? flag.weights),
        variant: RESERVED_VARIANT,
      });
    }
    segments.push({
      metadata: { segmentName: "All Other Users", ...(guardedRollout(flag) ? { [GUARDED_ROLLOUT]: true } : {}) },
      bucket: bucket(flag.rollout, flag.weights),
      variant: RESERVED_VARIANT,
    });
  }

  const experiment = flag.type === "experiment" && flag.status !== "decided";
  return {
    key: flag.key,
    metadata: flagMetadata(experiment ? FLAG_TYPES.experiment : FLAG_TYPES.release, {
      flagVersion: flag.version,
      ...(flag.type === "experiment" ? { experimentKey: flag.key } : {}),
    }),
    variants,
    segments,
    dependencies: [...flag.prerequisites.map((p) => p.flagKey), ...memberOf.map((g) => groupFlagKey(g, unitOf(flag)))],
  };
}

/**
 * The flag a mutual-exclusion group or holdout compiles to, for its members served here that
 * bucket on `unit` (a member flag's own selector: `bucketOn`). A mutual-exclusion split always
 * covers every member, whatever its unit, so each member keeps its share; members of one unit
 * exclude each other exactly, members of different units cannot (no one id links them).
 */
function toGroupFlag(group: Group, members: string[], unit: string, bucketOn: string[]): EvaluationFlag {
  const split =
    group.kind === "mutex"
      ? distributions(members, undefined)
      : distributions(["holdout", "on"], { holdout: group.percentage, on: 100 - group.percentage });
  const variantKeys = group.kind === "mutex" ? members : ["holdout", "on"];
  return {
    key: groupFlagKey(group, unit),
    metadata: flagMetadata(group.kind === "mutex" ? FLAG_TYPES.mutualExclusionGroup : FLAG_TYPES.holdoutGroup),
    variants: Object.fromEntries([[RESERVED_VARIANT, OFF], ...variantKeys.map((key) => [key, { key, value: key }])]),
    segments: [
      {
        metadata: { segmentName: "All Other Users" },
        bucket: {
          selector: bucketOn,
          salt: groupFlagKey(group),
          allocations: [{ range: [0, 100], distributions: split }],
        },
        variant: RESERVED_VARIANT,
      },
    ],
  };
}

/**
 * The evaluation-model flag set of one deployment (translated; `compile` in shared/evaluation turns it into
 * closures). Rules naming a project segment get its conditions here (segments.ts), at publish time.
 */
export function toEvaluationFlags(
  deployment: string,
  flags: readonly Flag[],
  groups: ReadonlyMap<string, Group>,
  segments: ReadonlyMap<string, Pick<Segment, "conditions">> = new Map(),
): EvaluationFlag[] {
  const served = flags
    .filter((flag) => isServed(flag, deployment))
    .map((flag) => resolveSegments(flag, segments))
    .sort((a, b) => a.key.localeCompare(b.key));
  const compiled = served.map((flag) => toEvaluationFlag(flag, groups));
  const members = new Map<string, Flag[]>();
  for (const flag of served) {
    if (flag.status === "decided") continue;
    for (const key of flag.groups) if (groups.has(key)) members.set(key, [...(members.get(key) ?? []), flag]);
  }
  const groupFlags = [...members].flatMap(([key, flags]) => {
    const byUnit = new Map(flags.map((flag) => [unitOf(flag), bucketSelector(flag)]));
    const keys = flags.map((flag) => flag.key);
    return [...byUnit].map(([unit, bucketOn]) => toGroupFlag(groups.get(key)!, keys, unit, bucketOn));
  });
  return [...groupFlags, ...compiled];
}
