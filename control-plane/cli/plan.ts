/**
 * What `diff` shows and `apply` does: the folder against the live project, resource by resource. A resource in
 * the folder is created, changed (with each field that differs) or unchanged; one that is only live is listed and
 * left alone (apply never deletes: archive and delete through the API or console, where it is confirmed).
 */
import diff from "microdiff";
import type { ProjectFolder } from "./folder.js";
import type { LiveProject, LiveRecord } from "./live.js";
import { FILE_SCHEMAS, FROM_LIVE, RESOURCE_KINDS, type ResourceKind } from "./resources.js";

export interface FieldChange {
  path: (string | number)[];
  before?: unknown;
  after?: unknown;
}

export interface ResourceChange {
  kind: ResourceKind | "project" | "deployment";
  key: string;
  action: "create" | "update";
  /** The file the wanted state comes from. */
  file: string;
  fields: FieldChange[];
  /** The wanted state, as the file holds it (defaults applied). */
  wanted: Record<string, unknown>;
  /** The live record as read (with its version): the write is conditional on it. */
  live?: LiveRecord;
}

export interface Plan {
  project: string;
  changes: ResourceChange[];
  /** Live, but in no file: listed, never deleted. */
  liveOnly: { kind: ResourceChange["kind"]; key: string }[];
}

function fieldChanges(before: Record<string, unknown>, after: Record<string, unknown>): FieldChange[] {
  return diff(before, after).map((change) => ({
    path: change.path,
    ...("oldValue" in change ? { before: change.oldValue } : {}),
    ...("value" in change ? { after: change.value } : {}),
  }));
}

/** A file without `status` leaves the live one as it is: compare without it. */
function comparable(kind: ResourceKind, wanted: Record<string, unknown>, current: Record<string, unknown>) {
  if (kind !== "flag" || wanted["status"] !== undefined) return current;
  const { status, decidedVariant, ...rest } = current;
  return rest;
}

export function planChanges(folder: ProjectFolder, live: LiveProject): Plan {
  const changes: ResourceChange[] = [];
  const liveOnly: Plan["liveOnly"] = [];
  if (live.name === undefined) {
    changes.push({
      kind: "project",
      key: live.key,
      action: "create",
      file: "project.yaml",
      fields: [],
      wanted: { key: live.key, name: folder.project?.name ?? live.key },
    });
  }
  const liveDeployments = new Set(live.deployments.map((d) => d.key));
  const wantedDeployments = folder.project?.deployments ?? [];
  for (const deployment of wantedDeployments) {
    if (liveDeployments.has(deployment.key)) continue;
    changes.push({
      kind: "deployment",
      key: deployment.key,
      action: "create",
      file: "project.yaml",
      fields: [],
      wanted: deployment,
    });
  }
  if (folder.project) {
    const named = new Set(wantedDeployments.map((d) => d.key));
    for (const key of liveDeployments) if (!named.has(key)) liveOnly.push({ kind: "deployment", key });
  }
  for (const kind of RESOURCE_KINDS) {
    const liveRecords = live.resources[kind];
    for (const [key, { file, value }] of folder.resources[kind]) {
      const wanted = FILE_SCHEMAS[kind].parse(value) as Record<string, unknown>;
      const record = liveRecords.get(key);
      if (!record) {
        changes.push({ kind, key, action: "create", file, fields: [], wanted });
        continue;
      }
      const current = comparable(kind, wanted, FROM_LIVE[kind](record) as Record<string, unknown>);
      const fields = fieldChanges(current, wanted);
      if (fields.length > 0) changes.push({ kind, key, action: "update", file, fields, wanted, live: record });
    }
    for (const key of liveRecords.keys()) if (!folder.resources[kind].has(key)) liveOnly.push({ kind, key });
  }
  return { project: live.key, changes, liveOnly };
}

export const hasChanges = (plan: Plan) => plan.changes.length > 0 || plan.liveOnly.length > 0;
