/** The project-wide audit log (services/audit.ts): every version of its flags and catalog metrics, filtered. */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import * as z from "zod";
import { keySchema } from "../../../shared/authoring/schema.js";
import { ApiError } from "../../../shared/http/errors.js";
import { requireRole, type AuthEnv } from "../../../shared/node/admin-tokens.js";
import { DEFAULT_AUDIT_LIMIT, isValidBound, type AuditService } from "../services/audit.js";
import { errors, json, projectParams } from "./schemas.js";

const bound = z
  .string()
  .max(40)
  .refine(isValidBound, "must be an ISO date (2026-12-01) or date and time (2026-12-01T09:30:00Z)");

const auditQuery = z.object({
  actor: z.string().max(200).optional().describe("Who made the change (the token's name), exactly"),
  key: keySchema.optional().describe("A flag's or catalog metric's key"),
  resource: z.enum(["flag", "metric"]).optional(),
  action: z.string().max(40).optional().describe("create, update, start, stop, decide, archive, restore, …"),
  from: bound.optional().describe("From this date or time (a date: from its start, UTC)"),
  to: bound.optional().describe("Up to this date or time (a date: that whole day, UTC)"),
  q: z.string().max(200).optional().describe("Text in the key, name, actor, action or a changed field or value"),
  limit: z.coerce.number().int().min(1).max(1000).optional().describe(`At most this many (${DEFAULT_AUDIT_LIMIT})`),
});

const auditEntrySchema = z.object({
  resource: z.enum(["flag", "metric"]),
  key: z.string(),
  name: z.string(),
  version: z.number(),
  action: z.string(),
  actor: z.string(),
  at: z.string(),
  diff: z.array(
    z.object({
      type: z.string(),
      path: z.array(z.union([z.string(), z.number()])),
      value: z.unknown().optional(),
      oldValue: z.unknown().optional(),
    }),
  ),
});

const auditPageSchema = z.object({
  entries: z.array(auditEntrySchema),
  total: z.number().describe("Matches before the limit"),
  actors: z.array(z.string()).describe("Everyone in the log, for a filter"),
  actions: z.array(z.string()),
  keys: z.array(z.string()),
});

export function auditRoutes(audit: AuditService, projectExists: (project: string) => Promise<boolean>) {
  const app = new OpenAPIHono<AuthEnv>();
  app.openapi(
    createRoute({
      method: "get",
      path: "/projects/{project}/audit",
      summary: "The project's audit log",
      description:
        "Every version of the project's flags and catalog metrics, newest first: who, when, which action, " +
        "what changed. Filters combine (and); `from` after `to` matches nothing.",
      tags: ["Audit log"],
      middleware: [requireRole("viewer")] as const,
      request: { params: projectParams, query: auditQuery },
      responses: { 200: json(auditPageSchema, "The matching changes, newest first"), ...errors },
    }),
    async (c) => {
      const { project } = c.req.valid("param");
      if (!(await projectExists(project))) throw new ApiError({ status: 404, message: `No project ${project}` });
      return c.json(await audit.page(project, c.req.valid("query")), 200);
    },
  );
  return app;
}
