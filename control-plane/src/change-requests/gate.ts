/**
 * Where review is required, the flag routes' direct writes (create, edit, lifecycle, restore,
 * delete) are refused with a 403 that says how to proceed: open a change request. An admin
 * may pass with `X-Review-Bypass: <reason>`; the change is then made as usual and recorded
 * as a `bypassed` request naming the admin and the reason. One middleware in front of the
 * flag routes, so the flag service stays unaware of review.
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../../shared/http/errors.js";
import { authorize, type AuthEnv } from "../../../shared/node/admin-tokens.js";
import type { Flag } from "../../../shared/authoring/schema.js";
import { FLAG_ACTIONS, type FlagAction } from "../services/flags.js";
import type { ChangeRequestService } from "./change-requests.js";

export const BYPASS_HEADER = "x-review-bypass";

/** What a write under `/projects/{p}/flags…` does, or undefined for a read or a path review does not cover. */
function writeOf(method: string, rest: string[]): string | undefined {
  if (method === "GET" || method === "HEAD") return undefined;
  if (rest.length === 0) return method === "POST" ? "create" : undefined;
  if (rest.length === 1)
    return method === "PUT" || method === "PATCH" ? "update" : method === "DELETE" ? "delete" : undefined;
  if (rest.length === 2 && method === "POST" && FLAG_ACTIONS.includes(rest[1] as FlagAction)) return rest[1];
  if (rest.length === 4 && method === "POST" && rest[1] === "versions" && rest[3] === "restore") return "restore";
  return undefined; // schedules and the rest have their own routes
}

export function reviewGate(
  requests: ChangeRequestService,
  getFlag: (project: string, key: string) => Promise<Flag | undefined>,
): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const project = c.req.param("project");
    const after = c.req.path.split("/flags")[1] ?? "";
    const rest = after.split("/").filter(Boolean).map(decodeURIComponent);
    const what = project ? writeOf(c.req.method, rest) : undefined;
    if (!project || !what) return next();

    const body = c.req.header("content-type")?.includes("json")
      ? ((await c.req.json().catch(() => undefined)) as { key?: unknown; deployments?: unknown } | undefined)
      : undefined;
    const key = rest[0] ?? (typeof body?.key === "string" ? body.key : undefined);
    const current = key ? await getFlag(project, key) : undefined;
    const nextDeployments =
      (what === "create" || what === "update") && Array.isArray(body?.deployments)
        ? body.deployments.filter((d): d is string => typeof d === "string")
        : [];
    const { required, because } = await requests.reviewRequired(project, current, { deployments: nextDeployments });
    if (!required) return next();

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
    if (c.res.status >= 300 || !key) return;
    const made = (await c.res.clone().json()) as Flag;
    await requests.recordBypass(project, made, c.var.principal.name, reason, what);
  };
}
