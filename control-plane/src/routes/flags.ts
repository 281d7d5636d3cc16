/** Flags and experiments: CRUD, lifecycle actions, history and restore. */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import * as z from "zod";
import { FLAG_STATUSES, flagInputSchema, flagWriteSchema } from "../../../shared/authoring/schema.js";
import { parseOr400 } from "../../../shared/http/errors.js";
import { requireRole, type AuthEnv } from "../../../shared/node/admin-tokens.js";
import { FLAG_ACTIONS, type FlagService, windowRemovalAsNone } from "../services/flags.js";
import { mergePatch, withoutNulls } from "./merge-patch.js";
import { droppedFields, unknownFieldsError, unknownRemovals } from "./strict-fields.js";
import {
  body,
  confirmQuery,
  errors,
  EXAMPLES,
  expectedVersion,
  flagParams,
  flagSchema,
  historyEntrySchema,
  json,
  projectParams,
  versionField,
  writeErrors,
} from "./schemas.js";

const etag = (version: number) => `"${version}"`;

const tags = ["Flags and experiments"];

const listQuery = z.object({
  status: z.enum(FLAG_STATUSES).optional(),
  type: z.enum(["release", "experiment"]).optional(),
  /** Text in the key, name or description (case-insensitive). */
  q: z.string().max(200).optional(),
});

/**
 * What the server manages, accepted and ignored in a PUT body: a flag read with GET, edited
 * and sent back must not be refused for them (unknown fields still are).
 */
const readOnlyFields = z.object({
  status: z.unknown().optional(),
  createdAt: z.unknown().optional(),
  updatedAt: z.unknown().optional(),
  lastChange: z.unknown().optional(),
  decidedVariant: z.unknown().optional(),
  statusBeforeArchive: z.unknown().optional(),
  analysisPeriods: z.unknown().optional(),
});

/** A merge patch: any of the editable fields (checked after merging), and optionally the version read. */
const flagPatchSchema = z.record(z.string(), z.unknown());

export function flagRoutes(flags: FlagService): OpenAPIHono<AuthEnv> {
  const app = new OpenAPIHono<AuthEnv>();

  app.openapi(
    createRoute({
      method: "get",
      path: "/projects/{project}/flags",
      summary: "List flags and experiments (filter by status, type, text)",
      tags,
      middleware: [requireRole("viewer")] as const,
      request: { params: projectParams, query: listQuery },
      responses: { 200: json(z.array(flagSchema), "Flags and experiments, most recently changed first"), ...errors },
    }),
    async (c) => {
      const { project } = c.req.valid("param");
      return c.json(await flags.list(project, c.req.valid("query")), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/projects/{project}/flags",
      summary: "Create a flag or experiment",
      tags,
      middleware: [requireRole("editor")] as const,
      request: { params: projectParams, ...body(flagWriteSchema, EXAMPLES.experiment) },
      responses: {
        201: json(flagSchema, "Created (drafts and inactive flags are not served until started or activated)"),
        ...writeErrors,
      },
    }),
    async (c) => {
      const { project } = c.req.valid("param");
      const created = await flags.create(project, c.req.valid("json"), c.var.principal.name);
      return c.json(created, 201, { ETag: etag(created.version) });
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/projects/{project}/flags/{flag}",
      summary: "Get a flag or experiment",
      tags,
      middleware: [requireRole("viewer")] as const,
      request: { params: flagParams },
      responses: { 200: json(flagSchema, "The flag; its ETag is the version"), ...errors },
    }),
    async (c) => {
      const { project, flag } = c.req.valid("param");
      const found = await flags.get(project, flag);
      return c.json(found, 200, { ETag: etag(found.version) });
    },
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/projects/{project}/flags/{flag}",
      summary: "Replace a flag's editable fields (conditional)",
      tags,
      middleware: [requireRole("editor")] as const,
      description: "Replaces the editable fields. Conditional on the version read (If-Match or `version`).",
      request: {
        params: flagParams,
        ...body(flagWriteSchema.extend(versionField.shape).extend(readOnlyFields.shape), {
          ...EXAMPLES.experiment,
          version: 3,
        }),
      },
      responses: { 200: json(flagSchema, "Updated"), ...writeErrors },
    }),
    async (c) => {
      const { project, flag } = c.req.valid("param");
      const {
        version,
        status,
        createdAt,
        updatedAt,
        lastChange,
        decidedVariant,
        statusBeforeArchive,
        analysisPeriods,
        ...input
      } = c.req.valid("json");
      const updated = await flags.update(project, flag, input, expectedVersion(c, version), c.var.principal.name);
      return c.json(updated, 200, { ETag: etag(updated.version) });
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/projects/{project}/flags/{flag}",
      summary: "Change some of a flag's fields (JSON Merge Patch, conditional)",
      tags,
      middleware: [requireRole("editor")] as const,
      description:
        "Changes only the fields named: a JSON Merge Patch (RFC 7396) of the editable fields (`null` removes an " +
        "optional field). Conditional on the version read (If-Match or `version`).",
      request: {
        params: flagParams,
        body: {
          required: true,
          content: {
            "application/merge-patch+json": {
              schema: flagPatchSchema,
              example: { rollout: 50, weights: null, version: 3 },
            },
            "application/json": { schema: flagPatchSchema, example: { rollout: 50, weights: null, version: 3 } },
          },
        },
      },
      responses: { 200: json(flagSchema, "Updated"), ...writeErrors },
    }),
    async (c) => {
      const { project, flag } = c.req.valid("param");
      const { version, ...sent } = c.req.valid("json");
      const expected = expectedVersion(c, typeof version === "number" ? version : undefined);
      const current = await flags.get(project, flag);
      const editable = flagInputSchema.parse(current);
      const patch = windowRemovalAsNone(sent, editable.type);
      const merged = mergePatch(editable, patch);
      const input = parseOr400(flagWriteSchema, merged, "flag");
      // Any key but a removal (null) must be one validation kept; a removal must name a field.
      const dropped = [
        ...droppedFields(withoutNulls(patch), input),
        ...unknownRemovals(patch, flagInputSchema, editable),
      ];
      if (dropped.length > 0) throw unknownFieldsError(dropped);
      const updated = await flags.update(project, flag, input, expected, c.var.principal.name);
      return c.json(updated, 200, { ETag: etag(updated.version) });
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/projects/{project}/flags/{flag}/{action}",
      summary: "Start, stop, decide, activate, deactivate, archive or unarchive",
      tags,
      middleware: [requireRole("editor")] as const,
      description:
        "Lifecycle: experiments `start`, `stop`, `decide` (body `variant`: ships it to everyone); " +
        "releases `activate`, `deactivate`; both `archive`, `unarchive`.",
      request: {
        params: flagParams.extend({ action: z.enum(FLAG_ACTIONS) }),
        body: {
          required: false,
          content: {
            "application/json": {
              schema: versionField.extend({ variant: z.string().optional() }),
              example: { version: 4, variant: "treatment" },
            },
          },
        },
      },
      responses: { 200: json(flagSchema, "The flag after the action"), ...writeErrors },
    }),
    async (c) => {
      const { project, flag, action } = c.req.valid("param");
      const { version, variant } = c.req.header("content-type")?.includes("json")
        ? c.req.valid("json")
        : { version: undefined, variant: undefined };
      const updated = await flags.act(
        project,
        flag,
        action,
        expectedVersion(c, version),
        c.var.principal.name,
        variant === undefined ? {} : { variant },
      );
      return c.json(updated, 200, { ETag: etag(updated.version) });
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/projects/{project}/flags/{flag}",
      summary: "Delete an archived flag (confirm with its key)",
      tags,
      middleware: [requireRole("editor")] as const,
      description:
        "Deletes a flag that is archived, with `?confirm=<flag key>`. Refused (409, `details.dependents`) while " +
        "other flags have it as a prerequisite. The deletion is the last entry of the flag's history, which stays " +
        "readable; its deployments are republished without it.",
      request: { params: flagParams, query: confirmQuery },
      responses: { 200: json(flagSchema, "Deleted: the flag as it was"), ...writeErrors },
    }),
    async (c) => {
      const { project, flag } = c.req.valid("param");
      const deleted = await flags.remove(project, flag, c.req.valid("query").confirm, c.var.principal.name);
      return c.json(deleted, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/projects/{project}/flags/{flag}/versions",
      summary: "List a flag's versions (the audit log)",
      tags,
      middleware: [requireRole("viewer")] as const,
      request: { params: flagParams },
      responses: {
        200: json(z.array(historyEntrySchema), "Audit log: every version with who, when, what changed"),
        ...errors,
      },
    }),
    async (c) => {
      const { project, flag } = c.req.valid("param");
      return c.json(await flags.history(project, flag), 200);
    },
  );

  const versionParams = flagParams.extend({ version: z.coerce.number().int().positive() });

  app.openapi(
    createRoute({
      method: "get",
      path: "/projects/{project}/flags/{flag}/versions/{version}",
      summary: "Get one past version",
      tags,
      middleware: [requireRole("viewer")] as const,
      request: { params: versionParams },
      responses: { 200: json(historyEntrySchema, "One past version"), ...errors },
    }),
    async (c) => {
      const { project, flag, version } = c.req.valid("param");
      return c.json(await flags.version(project, flag, version), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/projects/{project}/flags/{flag}/versions/{version}/restore",
      summary: "Restore a past version as a new one",
      tags,
      middleware: [requireRole("editor")] as const,
      description:
        "Makes a past version current again, as a new version. " +
        "Conditional on the current version (If-Match or `version`).",
      request: {
        params: versionParams,
        body: { required: false, content: { "application/json": { schema: versionField, example: { version: 7 } } } },
      },
      responses: { 200: json(flagSchema, "The flag as restored"), ...writeErrors },
    }),
    async (c) => {
      const { project, flag, version } = c.req.valid("param");
      const expected = c.req.header("content-type")?.includes("json") ? c.req.valid("json").version : undefined;
      const restored = await flags.restore(project, flag, version, expectedVersion(c, expected), c.var.principal.name);
      return c.json(restored, 200, { ETag: etag(restored.version) });
    },
  );

  return app;
}
