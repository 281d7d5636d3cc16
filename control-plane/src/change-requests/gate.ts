/**
 * Where review is required, the flag routes' direct writes (create, edit, lifecycle, restore,
 * delete; and setting a schedule or a rollout plan, whose changes run later without passing
 * here) are refused with a 403 that says how to proceed: open a change request. So are the
 * edits (replace, patch, restore, delete) of a segment that a guarded flag names: its change
 * reaches that flag's users as surely as an edit of the flag; and so are the writes of a group
 * (mutual exclusion, holdout) a guarded flag is in: a holdout raised to 50% changes what every
 * experiment in it serves. Creating a segment is not guarded: no flag names it yet; nor is
 * creating or editing a group no guarded flag is in. An admin may pass with `X-Review-Bypass: <reason>`; the
 * change is then made as usual and recorded as a `bypassed` request naming the admin and the
 * reason. One middleware in front of each set of routes, so the services stay unaware of review.
 */
import type { Context, MiddlewareHandler, Next } from "hono";
import { ApiError } from "../../../shared/http/errors.js";
import { authorize, type AuthEnv } from "../../../shared/node/admin-tokens.js";
import type { Flag } from "../../../shared/authoring/schema.js";
import { FLAG_ACTIONS, type FlagAction } from "../services/flags.js";
import type { ChangeRequestService, Dependent } from "./change-requests.js";

export const BYPASS_HEADER = "x-review-bypass";

/**
 * An edit, delete or restore of one item under `/projects/{p}/<collection>` (flags, segments,
 * groups), or undefined for a read, a create or another path.
 */
function itemWriteOf(method: string, rest: string[]): string | undefined {
  if (rest.length === 1)
    return method === "PUT" || method === "PATCH" ? "update" : method === "DELETE" ? "delete" : undefined;
  if (rest.length === 4 && method === "POST" && rest[1] === "versions" && rest[3] === "restore") return "restore";
  return undefined;
}

/** What a write under `/projects/{p}/flags…` does, or undefined for a read or a path review does not cover. */
function writeOf(method: string, rest: string[]): string | undefined {
  if (method === "GET" || method === "HEAD") return undefined;
  if (rest.length === 0) return method === "POST" ? "create" : undefined;
  if (rest.length === 2 && method === "POST" && FLAG_ACTIONS.includes(rest[1] as FlagAction)) return rest[1];
  // A scheduled change and a rollout plan's steps run later through the flag service, past this
  // gate: they are guarded when set (or resumed). Pausing or cancelling a plan stays direct.
  if (rest.length === 2 && method === "POST" && rest[1] === "schedules") return "schedule";
  if (rest.length === 2 && method === "PUT" && rest[1] === "rollout-plan") return "rollout plan";
  if (rest.length === 3 && method === "POST" && rest[1] === "rollout-plan" && rest[2] === "resume")
    return "rollout plan resume";
  return itemWriteOf(method, rest); // else reading or cancelling schedules, and the rest
}

/** A path segment decoded; a malformed escape is left as it is (the routes answer it). */
const decodeSegment = (segment: string) => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
};

/**
 * The path after `/projects/{p}/<collection>`, by segment (empty for another path). Read
 * segment by segment: the project's key may itself begin with the collection's name (`flagship`).
 */
function restOf(path: string, collection: string): string[] {
  const [projects, , named, ...rest] = path.split("/").filter(Boolean).map(decodeSegment);
  return projects === "projects" && named === collection ? rest : [];
}

/**
 * Refuses a guarded write (403 naming change requests) unless an admin bypasses it with a
 * reason; a bypassed write that succeeded is recorded with what it answered.
 */
async function guard(
  c: Context<AuthEnv>,
  next: Next,
  project: string,
  because: string,
  record: ((made: { version?: number }, admin: string, reason: string) => Promise<void>) | undefined,
) {
  const reason = c.req.header(BYPASS_HEADER)?.trim();
  if (!reason)
    throw new ApiError({
      status: 403,
      message:
        `Review required (${because}): open a change request ` +
        `(POST /projects/${project}/change-requests) and ask another editor to approve it` +
        " (admins may bypass with an X-Review-Bypass: <reason> header)",
      details: { reviewRequired: true, because },
    });
  authorize(c.var.principal, "admin", project); // 403 for an editor: only admins bypass
  await next();
  if (c.res.status >= 300 || !record) return;
  await record((await c.res.clone().json()) as { version?: number }, c.var.principal.name, reason);
}

export function reviewGate(
  requests: ChangeRequestService,
  getFlag: (project: string, key: string) => Promise<Flag | undefined>,
): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const project = c.req.param("project");
    const rest = restOf(c.req.path, "flags");
    const what = project ? writeOf(c.req.method, rest) : undefined;
    if (!project || !what) return next();

    type Body = { key?: unknown; deployments?: unknown; patch?: { deployments?: unknown } };
    const body = c.req.header("content-type")?.includes("json")
      ? ((await c.req.json().catch(() => undefined)) as Body | undefined)
      : undefined;
    const key = rest[0] ?? (typeof body?.key === "string" ? body.key : undefined);
    const current = key ? await getFlag(project, key) : undefined;
    // Where the write puts the flag: a create's or edit's deployments, or a scheduled patch's.
    const written =
      what === "create" || what === "update"
        ? body?.deployments
        : what === "schedule"
          ? body?.patch?.deployments
          : undefined;
    const nextDeployments = Array.isArray(written) ? written.filter((d): d is string => typeof d === "string") : [];
    const { required, because } = await requests.reviewRequired(project, current, { deployments: nextDeployments });
    if (!required) return next();
    const record = key
      ? (made: { version?: number }, admin: string, reason: string) =>
          // A schedule's or plan's answer holds no version of the flag it made.
          requests.recordBypass(
            project,
            { flag: key },
            what.startsWith("schedule") || what.startsWith("rollout") ? {} : made,
            admin,
            reason,
            what,
          )
      : undefined;
    await guard(c, next, project, because!, record);
  };
}

/**
 * The same for the segment and group routes: an edit of a segment a guarded flag names, or of a
 * group (mutual exclusion, holdout) a guarded flag is in, changes what that flag serves.
 */
export function dependentReviewGate(
  requests: ChangeRequestService,
  kind: "segment" | "group",
): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const project = c.req.param("project");
    const rest = restOf(c.req.path, `${kind}s`);
    const what = project ? itemWriteOf(c.req.method, rest) : undefined;
    if (!project || !what) return next();
    const target = { [kind]: rest[0]! } as Dependent;
    const { required, because } = await requests.dependentReviewRequired(project, target);
    if (!required) return next();
    await guard(c, next, project, because!, (made, admin, reason) =>
      requests.recordBypass(project, target, made, admin, reason, what),
    );
  };
}
