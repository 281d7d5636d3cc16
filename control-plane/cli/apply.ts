/**
 * Carries out a plan against the control plane. Every write to something that exists is conditional on the
 * version the plan read (If-Match): if someone changed it since, the control plane answers 409 and that resource
 * is reported as a conflict, never overwritten. Order: the project and its deployments, catalog metrics, groups,
 * segments, then flags with prerequisites after the flags they depend on. Where the project requires review of a flag (403
 * `reviewRequired`), the flag's change (a segment's or group's such a flag depends on) is opened as a change request
 * instead, for another editor to approve.
 */
import type { FlagStatus } from "../../shared/authoring/schema.js";
import { type ApiClient, ApiRequestError } from "./client.js";
import { nextLifecycleAction } from "./lifecycle.js";
import type { LiveRecord } from "./live.js";
import type { Plan, ResourceChange } from "./plan.js";

export interface ApplyOutcome {
  kind: ResourceChange["kind"];
  key: string;
  action: ResourceChange["action"];
  /** `requested`: review is required, and a change request was opened instead (`request` names it). */
  result: "applied" | "conflict" | "refused" | "requested";
  request?: string;
  message?: string;
  /** The live version after the change (flags, metrics, groups). */
  version?: number;
}

const KIND_ORDER: ResourceChange["kind"][] = ["project", "deployment", "metric", "group", "segment", "flag"];

/** Flags after their prerequisites (among the changes); otherwise the plan's order. */
export function applyOrder(changes: ResourceChange[]): ResourceChange[] {
  const byKind = (kind: ResourceChange["kind"]) => changes.filter((c) => c.kind === kind);
  const flags = byKind("flag");
  const pending = new Map(flags.map((c) => [c.key, c]));
  const ordered: ResourceChange[] = [];
  const visit = (change: ResourceChange, path: Set<string>) => {
    if (!pending.has(change.key) || path.has(change.key)) return;
    path.add(change.key);
    for (const prerequisite of (change.wanted["prerequisites"] as { flagKey: string }[] | undefined) ?? []) {
      const dependency = pending.get(prerequisite.flagKey);
      if (dependency) visit(dependency, path);
    }
    pending.delete(change.key);
    ordered.push(change);
  };
  for (const change of flags) visit(change, new Set());
  return [...KIND_ORDER.filter((k) => k !== "flag").flatMap(byKind), ...ordered];
}

function editable(wanted: Record<string, unknown>): Record<string, unknown> {
  const { status, decidedVariant, archived, version, ...rest } = wanted;
  return rest;
}

export async function applyPlan(client: ApiClient, plan: Plan): Promise<ApplyOutcome[]> {
  const project = `/projects/${encodeURIComponent(plan.project)}`;
  const outcomes: ApplyOutcome[] = [];
  for (const change of applyOrder(plan.changes)) {
    const outcome: ApplyOutcome = { kind: change.kind, key: change.key, action: change.action, result: "applied" };
    try {
      if (change.kind === "project") await client.request("POST", "/projects", { body: change.wanted });
      else if (change.kind === "deployment")
        await client.request("POST", `${project}/deployments`, { body: change.wanted });
      else if (change.kind === "group") outcome.version = (await applyGroup(client, project, change)).version;
      else if (change.kind === "metric") outcome.version = (await applyMetric(client, project, change)).version;
      else if (change.kind === "segment") outcome.version = (await applySegment(client, project, change)).version;
      else outcome.version = (await applyFlag(client, project, change)).version;
    } catch (error) {
      if (!(error instanceof ApiRequestError)) throw error;
      let failure = error;
      if ((change.kind === "flag" || change.kind === "segment" || change.kind === "group") && isReviewRequired(error)) {
        try {
          const requested =
            change.kind === "flag"
              ? await requestFlagChange(client, project, change)
              : await requestDependentChange(client, project, change.kind, change);
          Object.assign(outcome, requested);
          outcomes.push(outcome);
          continue;
        } catch (requestError) {
          if (!(requestError instanceof ApiRequestError)) throw requestError;
          failure = requestError;
        }
      }
      const current = (failure.details as { currentVersion?: unknown } | undefined)?.currentVersion;
      // A 409 naming another version than the one read: someone changed it since the plan was made.
      const conflict = failure.status === 409 && typeof current === "number" && current !== change.live?.version;
      outcome.result = conflict ? "conflict" : "refused";
      outcome.message = conflict
        ? `changed since it was read (version ${change.live?.version ?? "none"}, now ${current}): run diff again`
        : `${failure.status}: ${failure.message}`;
    }
    outcomes.push(outcome);
  }
  return outcomes;
}

const isReviewRequired = (error: ApiRequestError) =>
  error.status === 403 && (error.details as { reviewRequired?: unknown } | undefined)?.reviewRequired === true;

/**
 * The flag's change as a change request: its content (create or update) if that changed, else the next lifecycle
 * step towards the file's status. A content change and a status change need two rounds (apply again once the
 * first request is approved): a request applies to the version it was made on.
 */
async function requestFlagChange(
  client: ApiClient,
  project: string,
  change: ResourceChange,
): Promise<Pick<ApplyOutcome, "result" | "request" | "message">> {
  const live = change.live;
  const contentChanged = !live || change.fields.some((f) => f.path[0] !== "status" && f.path[0] !== "decidedVariant");
  const open = (body: Record<string, unknown>) =>
    client.request<{ id: string }>("POST", `${project}/change-requests`, {
      body: { flag: change.key, title: `${change.action} ${change.key} (edge-experiments apply)`, ...body },
    });
  if (contentChanged) {
    const { id } = await open({
      kind: live ? "update" : "create",
      input: editable(change.wanted),
      ...(live ? { baseVersion: live.version } : {}),
    });
    const statusToo = live && change.fields.some((f) => f.path[0] === "status" || f.path[0] === "decidedVariant");
    return {
      result: "requested",
      request: id,
      message: `review required: change request ${id} opened${statusToo ? " (the status change follows: apply again once it is approved)" : ""}`,
    };
  }
  const target = change.wanted["status"] as FlagStatus;
  const decidedVariant = change.wanted["decidedVariant"] as string | undefined;
  const next = nextLifecycleAction(
    {
      type: live["type"] as "release" | "experiment",
      status: live["status"] as FlagStatus,
      decidedVariant: live["decidedVariant"] as string | undefined,
      statusBeforeArchive: live["statusBeforeArchive"] as FlagStatus | undefined,
    },
    { status: target, decidedVariant },
  );
  if (!next.action)
    throw new ApiRequestError(409, "unreachable", `cannot go from ${String(live["status"])} to ${target}`);
  const { id } = await open({
    kind: "action",
    action: next.action,
    baseVersion: live.version,
    ...(next.action === "decide" ? { variant: decidedVariant } : {}),
  });
  return { result: "requested", request: id, message: `review required: change request ${id} opened (${next.action})` };
}

async function applyGroup(client: ApiClient, project: string, change: ResourceChange) {
  const { key, ...body } = change.wanted;
  return client.request<LiveRecord>("PUT", `${project}/groups/${encodeURIComponent(change.key)}`, {
    body,
    ...(change.live ? { ifMatch: change.live.version ?? 0 } : {}),
  });
}

/** A segment's (group's) edit as a change request (a guarded flag names it, is in it): applies to the version read. */
async function requestDependentChange(
  client: ApiClient,
  project: string,
  kind: "segment" | "group",
  change: ResourceChange,
): Promise<Pick<ApplyOutcome, "result" | "request" | "message">> {
  const { id } = await client.request<{ id: string }>("POST", `${project}/change-requests`, {
    body: {
      [kind]: change.key,
      kind: "update",
      input: { ...editable(change.wanted), key: change.key },
      baseVersion: change.live?.version ?? 0,
      title: `update ${kind} ${change.key} (edge-experiments apply)`,
    },
  });
  return { result: "requested", request: id, message: `review required: change request ${id} opened` };
}

/** A segment: created, or replaced conditional on the version read (the flags using it are republished). */
async function applySegment(client: ApiClient, project: string, change: ResourceChange) {
  if (!change.live) return client.request<LiveRecord>("POST", `${project}/segments`, { body: editable(change.wanted) });
  return client.request<LiveRecord>("PUT", `${project}/segments/${encodeURIComponent(change.key)}`, {
    body: editable(change.wanted),
    ifMatch: change.live.version!,
  });
}

async function applyMetric(client: ApiClient, project: string, change: ResourceChange) {
  const path = `${project}/metrics/${encodeURIComponent(change.key)}`;
  const archived = change.wanted["archived"] === true;
  let current = change.live;
  const contentChanged = change.fields.some((f) => f.path[0] !== "archived");
  if (current?.["archived"] === true && (contentChanged || !archived))
    current = await client.request<LiveRecord>("POST", `${path}/unarchive`, { ifMatch: current.version! });
  if (!current)
    current = await client.request<LiveRecord>("POST", `${project}/metrics`, { body: editable(change.wanted) });
  else if (contentChanged)
    current = await client.request<LiveRecord>("PUT", path, {
      body: editable(change.wanted),
      ifMatch: current.version!,
    });
  if (archived && current["archived"] !== true)
    current = await client.request<LiveRecord>("POST", `${path}/archive`, { ifMatch: current.version! });
  return current;
}

async function applyFlag(client: ApiClient, project: string, change: ResourceChange) {
  const path = `${project}/flags/${encodeURIComponent(change.key)}`;
  const target = change.wanted["status"] as FlagStatus | undefined;
  const decidedVariant = change.wanted["decidedVariant"] as string | undefined;
  let current = change.live;
  const contentChanged = change.fields.some((f) => f.path[0] !== "status" && f.path[0] !== "decidedVariant");
  // An archived flag is read-only: unarchive it to edit it (and archive it again below if the file says so).
  if (current?.["status"] === "archived" && (contentChanged || (target !== undefined && target !== "archived")))
    current = await client.request<LiveRecord>("POST", `${path}/unarchive`, { ifMatch: current.version! });
  if (!current)
    current = await client.request<LiveRecord>("POST", `${project}/flags`, { body: editable(change.wanted) });
  else if (contentChanged)
    current = await client.request<LiveRecord>("PUT", path, {
      body: editable(change.wanted),
      ifMatch: current.version!,
    });
  if (target === undefined) return current;
  for (let step = 0; step < 6; step++) {
    const next = nextLifecycleAction(
      {
        type: current["type"] as "release" | "experiment",
        status: current["status"] as FlagStatus,
        decidedVariant: current["decidedVariant"] as string | undefined,
        statusBeforeArchive: current["statusBeforeArchive"] as FlagStatus | undefined,
      },
      { status: target, decidedVariant },
    );
    if (!next.action) {
      if (next.reachable) return current;
      throw new ApiRequestError(409, "unreachable", `cannot go from ${String(current["status"])} to ${target}`);
    }
    current = await client.request<LiveRecord>("POST", `${path}/${next.action}`, {
      ifMatch: current.version!,
      ...(next.action === "decide" ? { body: { variant: decidedVariant } } : {}),
    });
  }
  return current;
}
