/** Review of flag, segment and group changes: the project's review policy, change requests, approve and reject. */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import * as z from "zod"; // namespace import: lets the bundler drop the unused parts of zod
import { flagWriteSchema, groupSchema, keySchema } from "../../../shared/authoring/schema.js";
import { segmentSchema } from "../../../shared/authoring/segments.js";
import { ApiError, parseOr400 } from "../../../shared/http/errors.js";
import { requireRole, type AuthEnv } from "../../../shared/node/admin-tokens.js";
import { REQUEST_KINDS, REQUEST_STATUSES, type ChangeRequestService } from "../change-requests/change-requests.js";
import { FLAG_ACTIONS } from "../services/flags.js";
import { body, errors, json, projectParams, writeErrors } from "./schemas.js";
import { droppedFields, unknownFieldsError } from "./strict-fields.js";

const tags = ["Change requests"];

export const reviewPolicySchema = z.object({
  project: z.boolean().describe("Every flag change of the project needs review"),
  deployments: z.array(keySchema).max(100).describe("Changes of flags served on these deployments need review"),
  updatedBy: z.string().optional(),
  updatedAt: z.string().optional(),
});

export const changeRequestSchema = z.object({
  id: z.string(),
  project: z.string(),
  flag: z.string().optional().describe("The flag the request changes (or `segment`)"),
  segment: z.string().optional().describe("The segment the request changes (kind `update`)"),
  group: z.string().optional().describe("The group (mutual exclusion, holdout) the request changes (kind `update`)"),
  kind: z.enum(REQUEST_KINDS),
  action: z.enum(FLAG_ACTIONS).optional(),
  variant: z.string().optional(),
  input: z
    .unknown()
    .optional()
    .describe("For create and update: the flag's editable fields (the segment) as they will be"),
  baseVersion: z.number().describe("The flag's (segment's) version the change applies to (0: a new flag)"),
  diff: z.array(z.object({ type: z.string(), path: z.array(z.union([z.string(), z.number()])) }).passthrough()),
  title: z.string(),
  description: z.string(),
  author: z.string(),
  createdAt: z.string(),
  status: z.enum(REQUEST_STATUSES),
  conflicting: z.boolean().describe("The flag (segment) moved on since the base version: approval would be refused"),
  review: z.object({ by: z.string(), at: z.string(), comment: z.string() }).optional(),
  appliedVersion: z.number().optional(),
  currentVersion: z.number().optional(),
  bypass: z.object({ by: z.string(), reason: z.string() }).optional(),
});

const requestWriteSchema = z.object({
  flag: keySchema.optional().describe("The flag to change (or `segment`)"),
  segment: keySchema.optional().describe("The segment to change: kind `update`, `input` the segment as PUT takes it"),
  group: keySchema.optional().describe("The group to change: kind `update`, `input` the group with its `key`"),
  kind: z
    .enum(REQUEST_KINDS)
    .describe("create a flag, update its editable fields (or a segment's), or a lifecycle action"),
  action: z.enum(FLAG_ACTIONS).optional().describe("For `action`"),
  variant: z.string().optional().describe("For `decide`: the variant to ship"),
  input: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("For create and update: the flag (FlagWrite) or the segment as it will be, as its PUT takes it"),
  baseVersion: z
    .number()
    .int()
    .nonnegative()
    .optional()
    .describe("The version the change is made on (default: the current one)"),
  title: z.string().max(200).optional(),
  description: z.string().max(4000).optional(),
});

const reviewSchema = z.object({ comment: z.string().max(4000).default("") });
const requestParams = projectParams.extend({ id: z.string().min(1).max(60) });
const listQuery = z.object({
  status: z.enum(REQUEST_STATUSES).optional(),
  flag: keySchema.optional(),
  segment: keySchema.optional(),
  group: keySchema.optional(),
  author: z.string().max(200).optional(),
});

/** A request's `input` checked as the flag's (segment's, group's) PUT checks it: 400 on an invalid or unknown field. */
function inputOf(
  request: { segment?: string | undefined; group?: string | undefined },
  input: Record<string, unknown> | undefined,
) {
  if (input === undefined) return {};
  const parsed = request.segment
    ? parseOr400(segmentSchema, input, "input")
    : request.group
      ? parseOr400(groupSchema, input, "input")
      : parseOr400(flagWriteSchema, input, "input");
  const dropped = droppedFields(input, parsed, ["input"]);
  if (dropped.length > 0) throw unknownFieldsError(dropped);
  return { input: parsed };
}

export function changeRequestRoutes(
  requests: ChangeRequestService,
  projectExists: (project: string) => Promise<boolean>,
): OpenAPIHono<AuthEnv> {
  const app = new OpenAPIHono<AuthEnv>();
  const known = async (project: string) => {
    if (!(await projectExists(project))) throw new ApiError({ status: 404, message: `No project ${project}` });
  };

  app.openapi(
    createRoute({
      method: "get",
      path: "/projects/{project}/review-policy",
      summary: "Which changes need review",
      tags,
      middleware: [requireRole("viewer")] as const,
      request: { params: projectParams },
      responses: { 200: json(reviewPolicySchema, "The review policy"), ...errors },
    }),
    async (c) => {
      const { project } = c.req.valid("param");
      await known(project);
      return c.json(await requests.policy(project), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/projects/{project}/review-policy",
      summary: "Require review for the project or some deployments (admins)",
      tags,
      middleware: [requireRole("admin")] as const,
      request: {
        params: projectParams,
        ...body(reviewPolicySchema.pick({ project: true, deployments: true }), {
          project: false,
          deployments: ["production"],
        }),
      },
      responses: { 200: json(reviewPolicySchema, "The policy stored"), ...writeErrors },
    }),
    async (c) => {
      const { project } = c.req.valid("param");
      await known(project);
      return c.json(await requests.setPolicy(project, c.req.valid("json"), c.var.principal.name), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/projects/{project}/change-requests",
      summary: "Propose a flag, segment or group change for review",
      tags,
      middleware: [requireRole("editor")] as const,
      description:
        "Stores the change with its diff against the base version; nothing is applied until another editor or an " +
        "admin approves it. Works whether or not review is required.",
      request: {
        params: projectParams,
        ...body(requestWriteSchema, { flag: "checkout-redesign", kind: "action", action: "start", title: "Launch" }),
      },
      responses: { 201: json(changeRequestSchema, "Opened"), ...writeErrors },
    }),
    async (c) => {
      const { project } = c.req.valid("param");
      await known(project);
      const { input, ...request } = c.req.valid("json");
      return c.json(
        await requests.open(project, { ...request, ...inputOf(request, input) }, c.var.principal.name),
        201,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/projects/{project}/change-requests",
      summary: "List change requests (newest first; filter by status, flag, segment, group, author)",
      tags,
      middleware: [requireRole("viewer")] as const,
      request: { params: projectParams, query: listQuery },
      responses: { 200: json(z.array(changeRequestSchema), "Requests"), ...errors },
    }),
    async (c) => {
      const { project } = c.req.valid("param");
      await known(project);
      return c.json(await requests.list(project, c.req.valid("query")), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/projects/{project}/change-requests/{id}",
      summary: "Get one change request",
      tags,
      middleware: [requireRole("viewer")] as const,
      request: { params: requestParams },
      responses: { 200: json(changeRequestSchema, "The request"), ...errors },
    }),
    async (c) => {
      const { project, id } = c.req.valid("param");
      return c.json(await requests.get(project, id), 200);
    },
  );

  for (const decision of ["approve", "reject"] as const)
    app.openapi(
      createRoute({
        method: "post",
        path: `/projects/{project}/change-requests/{id}/${decision}`,
        summary:
          decision === "approve"
            ? "Approve and apply (not by its author; refused as conflicting if the flag, segment or group moved on)"
            : "Reject with a comment",
        tags,
        middleware: [requireRole("editor")] as const,
        request: {
          params: requestParams,
          body: {
            required: false,
            content: { "application/json": { schema: reviewSchema, example: { comment: "Looks good" } } },
          },
        },
        responses: { 200: json(changeRequestSchema, "The request after review"), ...writeErrors },
      }),
      async (c) => {
        const { project, id } = c.req.valid("param");
        const { comment } = c.req.header("content-type")?.includes("json") ? c.req.valid("json") : { comment: "" };
        const reviewed =
          decision === "approve"
            ? await requests.approve(project, id, c.var.principal.name, comment)
            : await requests.reject(project, id, c.var.principal.name, comment);
        return c.json(reviewed, 200);
      },
    );

  return app;
}
