/**
 * The user object that SDKs send (flat: `user_id`, `device_id`, `user_properties`,
 * `groups: {type: [name]}` or `{type: name}`, `group_properties: {type: {name: {…}}}`, …) becomes the
 * evaluation context: groups move to `context.groups[type] = {group_name,
 * group_properties}` (first name per type), everything else sits under
 * `context.user`. Same shape as `convertUserToEvaluationContext` in the SDKs.
 */
import { isRecord } from "../is-record.js";
import type { EvaluationContext } from "./schema.js";

type Json = Record<string, unknown>;

/** Amplitude's built-in user fields: they sit at the top of the user, not among its properties. */
export const USER_FIELDS: ReadonlySet<string> = new Set([
  "user_id",
  "device_id",
  "country",
  "region",
  "city",
  "dma",
  "language",
  "platform",
  "version",
  "os",
  "device_manufacturer",
  "device_brand",
  "device_model",
  "carrier",
  "library",
  "ip",
]);

/**
 * A group type's name as evaluation reads it: the first of `["acme", …]` (what the experiment
 * SDKs send), or the string itself (`"acme"`, what Amplitude's analytics SDKs send).
 */
export function firstGroupName(names: unknown): string | undefined {
  const name = Array.isArray(names) ? names[0] : names;
  return typeof name === "string" && name.length > 0 ? name : undefined;
}

export function userToContext(input: Json | undefined): EvaluationContext {
  if (!input) return {};
  const { groups, group_properties: groupProperties, group_cohort_ids: groupCohortIds, ...user } = input;
  const context: EvaluationContext = {};
  if (Object.keys(user).length > 0) context["user"] = user;
  if (!isRecord(groups)) return context;

  const contextGroups: Json = {};
  for (const [groupType, names] of Object.entries(groups)) {
    const groupName = firstGroupName(names);
    if (groupName === undefined) continue;
    const entry: Json = { group_name: groupName };
    const properties = isRecord(groupProperties) ? groupProperties[groupType] : undefined;
    const ofName = isRecord(properties) ? properties[String(groupName)] : undefined;
    if (isRecord(ofName) && Object.keys(ofName).length > 0) entry["group_properties"] = ofName;
    const cohorts = isRecord(groupCohortIds) ? groupCohortIds[groupType] : undefined;
    const cohortIds = isRecord(cohorts) ? cohorts[String(groupName)] : undefined;
    if (cohortIds && typeof cohortIds === "object" && Object.keys(cohortIds).length > 0)
      entry["cohort_ids"] = cohortIds;
    contextGroups[groupType] = entry;
  }
  if (Object.keys(contextGroups).length > 0) context["groups"] = contextGroups;
  return context;
}
