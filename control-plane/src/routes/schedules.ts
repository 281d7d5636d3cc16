/** Scheduled changes of a flag: create, list, read, cancel. */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import * as z from "zod"; // namespace import: lets the bundler drop the unused parts of zod
import { requireRole, type AuthEnv } from "../../../shared/node/admin-tokens.js";
import { SCHEDULE_ACTIONS, SCHEDULE_STATUSES, type ScheduleService } from "../schedules/schedules.js";
import { body, errors, expectedVersion, flagParams, json, writeErrors } from "./schemas.js";

const tags = ["Scheduled changes"];

export const scheduleSchema = z.object({
  id: z.string(),
  project: z.string(),
  flag: z.string(),
  action: z.enum(SCHEDULE_ACTIONS),
  patch: z.record(z.string(), z.unknown()).optional(),
  variant: z.string().optional(),
  runAt: z.string(),
  version: z.number().describe("The flag version the change applies to"),
  createdBy: z.string(),
  createdAt: z.string(),
  status: z.enum(SCHEDULE_STATUSES),
  attempts: z.number(),
  claimedUntil: z.string().optional(),
  result: z
    .object({
      at: z.string(),
      version: z.number().optional(),
      message: z.string().optional(),
      currentVersion: z.number().optional(),
    })
    .optional(),
  cancelledBy: z.string().optional(),
});

const scheduleWriteSchema = z.object({
  action: z.enum(SCHEDULE_ACTIONS).describe("A lifecycle action, or `update` with a merge patch"),
  runAt: z.iso.datetime({ offset: true }).describe("When to run it (ISO 8601)"),
  patch: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("For `update`: a JSON Merge Patch of the editable fields, as PATCH takes"),
  variant: z.string().optional().describe("For `decide`: the variant to ship"),
  version: z.number().int().positive().optional().describe("The flag version it applies to (or If-Match)"),
});

const scheduleParams = flagParams.extend({ schedule: z.string().min(1).max(40) });

export function scheduleRoutes(schedules: ScheduleService): OpenAPIHono<AuthEnv> {
  const app = new OpenAPIHono<AuthEnv>();

  app.openapi(
    createRoute({
      method: "post",
      path: "/projects/{project}/flags/{flag}/schedules",
      summary: "Schedule a lifecycle action or an edit",
      tags,
      middleware: [requireRole("editor")] as const,
      description:
        "Runs the action (or the merge patch) at `runAt`, against the version given (If-Match or `version`): if the " +
        "flag changed meanwhile the schedule ends `conflict` and changes nothing. History names `scheduled by <you>`.",
      request: {
        params: flagParams,
        ...body(scheduleWriteSchema, {
          action: "update",
          runAt: "2026-12-07T09:00:00Z",
          patch: { rollout: 50 },
          version: 3,
        }),
      },
      responses: { 201: json(scheduleSchema, "Scheduled"), ...writeErrors },
    }),
    async (c) => {
      const { project, flag } = c.req.valid("param");
      const { version, ...input } = c.req.valid("json");
      const created = await schedules.create(
        project,
        flag,
        { ...input, version: expectedVersion(c, version) },
        c.var.principal.name,
      );
      return c.json(created, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/projects/{project}/flags/{flag}/schedules",
      summary: "List a flag's scheduled changes (soonest first)",
      tags,
      middleware: [requireRole("viewer")] as const,
      request: { params: flagParams },
      responses: { 200: json(z.array(scheduleSchema), "Pending, running and finished schedules"), ...errors },
    }),
    async (c) => {
      const { project, flag } = c.req.valid("param");
      return c.json(await schedules.list(project, flag), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/projects/{project}/flags/{flag}/schedules/{schedule}",
      summary: "Get one scheduled change and its outcome",
      tags,
      middleware: [requireRole("viewer")] as const,
      request: { params: scheduleParams },
      responses: { 200: json(scheduleSchema, "The schedule"), ...errors },
    }),
    async (c) => {
      const { project, flag, schedule } = c.req.valid("param");
      return c.json(await schedules.get(project, flag, schedule), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/projects/{project}/flags/{flag}/schedules/{schedule}",
      summary: "Cancel a pending scheduled change",
      tags,
      middleware: [requireRole("editor")] as const,
      request: { params: scheduleParams },
      responses: { 200: json(scheduleSchema, "Cancelled"), ...writeErrors },
    }),
    async (c) => {
      const { project, flag, schedule } = c.req.valid("param");
      return c.json(await schedules.cancel(project, flag, schedule, c.var.principal.name), 200);
    },
  );

  return app;
}
