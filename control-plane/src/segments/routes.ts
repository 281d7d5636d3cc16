/** Reusable segments: CRUD, history and restore (segments.ts), in the OpenAPI document under "Segments". */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import * as z from "zod";
import { keySchema } from "../../../shared/authoring/schema.js";
import { segmentSchema } from "../../../shared/authoring/segments.js";
import { ApiError, parseOr400 } from "../../../shared/http/errors.js";
import { requireRole, type AuthEnv } from "../../../shared/node/admin-tokens.js";
import { mergePatch, withoutNulls } from "../routes/merge-patch.js";
import { droppedFields, unknownFieldsError } from "../routes/strict-fields.js";
import { body, errors, expectedVersion, json, projectParams, versionField, writeErrors } from "../routes/schemas.js";
import { versionedRoutes } from "../routes/versioned.js";
import { segmentHistoryEntrySchema, storedSegmentSchema } from "./segment-store.js";
import { definitionOf, type SegmentService } from "./segments.js";

const tags = ["Segments"];
const etag = (version: number) => `"${version}"`;
const segmentParams = projectParams.extend({ segment: keySchema });

const EXAMPLE = {
  key: "beta-testers",
  name: "Beta testers",
  description: "Users who opted into the beta, on paid plans",
  conditions: [
    { property: "beta", op: "is", values: ["true"] },
    { property: "plan", groupType: "company_id", op: "is not", values: ["free"] },
  ],
};

const segmentViewSchema = storedSegmentSchema.extend({
  /** The flags and experiments whose targeting names this segment. */
  usedBy: z.array(keySchema),
});

/** What a GET answers besides the definition: accepted and ignored in a PUT body, so a read can be sent back. */
const readOnlyFields = z.object({
  createdAt: z.unknown().optional(),
  updatedAt: z.unknown().optional(),
  lastChange: z.unknown().optional(),
  usedBy: z.unknown().optional(),
});
const putBody = segmentSchema.omit({ key: true }).extend({
  key: keySchema.optional(),
  ...versionField.shape,
  ...readOnlyFields.shape,
});
const patchBody = z.record(z.string(), z.unknown());
const versionBody = {
  body: { required: false, content: { "application/json": { schema: versionField, example: { version: 2 } } } },
};

export function segmentRoutes(segments: SegmentService): OpenAPIHono<AuthEnv> {
  const app = new OpenAPIHono<AuthEnv>();
  const bodyVersion = (c: { req: { header(name: string): string | undefined } }, json: () => { version?: number }) =>
    c.req.header("content-type")?.includes("json") ? json().version : undefined;
  const keyMatches = (path: string, sent: string | undefined) => {
    if (sent !== undefined && sent !== path)
      throw new ApiError({
        status: 400,
        message: `The body's key '${sent}' is not the segment in the path ('${path}')`,
      });
  };

  app.openapi(
    createRoute({
      method: "get",
      path: "/projects/{project}/segments",
      summary: "List the project's segments, each with the flags using it",
      tags,
      middleware: [requireRole("viewer")] as const,
      request: { params: projectParams, query: z.object({ q: z.string().max(200).optional() }) },
      responses: { 200: json(z.array(segmentViewSchema), "Segments by key"), ...errors },
    }),
    async (c) => {
      const { project } = c.req.valid("param");
      return c.json(await segments.list(project, { q: c.req.valid("query").q }), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/projects/{project}/segments",
      summary: "Create a segment",
      description:
        "A named set of conditions (all must hold) over user and group properties, the same conditions as a " +
        'flag\'s targeting rules. A rule names it with `"segment": "<key>"`.',
      tags,
      middleware: [requireRole("editor")] as const,
      request: { params: projectParams, ...body(segmentSchema, EXAMPLE) },
      responses: { 201: json(storedSegmentSchema, "Created (version 1)"), ...writeErrors },
    }),
    async (c) => {
      const { project } = c.req.valid("param");
      const created = await segments.create(project, c.req.valid("json"), c.var.principal.name);
      return c.json(created, 201, { ETag: etag(created.version) });
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/projects/{project}/segments/{segment}",
      summary: "Get a segment and the flags using it",
      tags,
      middleware: [requireRole("viewer")] as const,
      request: { params: segmentParams },
      responses: { 200: json(segmentViewSchema, "The segment; its ETag is the version"), ...errors },
    }),
    async (c) => {
      const { project, segment } = c.req.valid("param");
      const found = await segments.get(project, segment);
      return c.json(found, 200, { ETag: etag(found.version) });
    },
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/projects/{project}/segments/{segment}",
      summary: "Replace a segment (conditional); republishes every flag using it",
      description: "Conditional on the version read (If-Match or `version`): 409 with `currentVersion` if it changed.",
      tags,
      middleware: [requireRole("editor")] as const,
      request: { params: segmentParams, ...body(putBody, { ...EXAMPLE, version: 1 }) },
      responses: { 200: json(storedSegmentSchema, "Updated"), ...writeErrors },
    }),
    async (c) => {
      const { project, segment } = c.req.valid("param");
      const { version, createdAt, updatedAt, lastChange, usedBy, key, ...definition } = c.req.valid("json");
      keyMatches(segment, key);
      const updated = await segments.update(
        project,
        { key: segment, ...definition },
        expectedVersion(c, version),
        c.var.principal.name,
      );
      return c.json(updated, 200, { ETag: etag(updated.version) });
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/projects/{project}/segments/{segment}",
      summary: "Change some of a segment's fields (JSON Merge Patch, conditional)",
      tags,
      middleware: [requireRole("editor")] as const,
      request: {
        params: segmentParams,
        body: {
          required: true,
          content: {
            "application/merge-patch+json": { schema: patchBody, example: { name: "Beta", version: 2 } },
            "application/json": { schema: patchBody, example: { name: "Beta", version: 2 } },
          },
        },
      },
      responses: { 200: json(storedSegmentSchema, "Updated"), ...writeErrors },
    }),
    async (c) => {
      const { project, segment } = c.req.valid("param");
      const { version, ...patch } = c.req.valid("json");
      const expected = expectedVersion(c, typeof version === "number" ? version : undefined);
      const current = await segments.get(project, segment);
      const definition = parseOr400(segmentSchema, mergePatch(definitionOf(current), patch), "segment");
      keyMatches(segment, definition.key);
      const dropped = droppedFields(withoutNulls(patch), definition);
      if (dropped.length > 0) throw unknownFieldsError(dropped);
      const updated = await segments.update(project, definition, expected, c.var.principal.name);
      return c.json(updated, 200, { ETag: etag(updated.version) });
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/projects/{project}/segments/{segment}",
      summary: "Delete a segment no flag uses (conditional)",
      description:
        "Refused with a 409 naming the flags (`details.usedBy`) while any flag's targeting names it. " +
        "Its history stays readable and ends with a `delete` entry.",
      tags,
      middleware: [requireRole("editor")] as const,
      request: { params: segmentParams, ...versionBody },
      responses: { 200: json(z.object({ deleted: keySchema }), "Deleted"), ...writeErrors },
    }),
    async (c) => {
      const { project, segment } = c.req.valid("param");
      const expected = expectedVersion(
        c,
        bodyVersion(c, () => c.req.valid("json")),
      );
      return c.json(await segments.delete(project, segment, expected, c.var.principal.name), 200);
    },
  );

  versionedRoutes(app, {
    collection: "segments",
    param: "segment",
    noun: "segment",
    tags,
    entrySchema: segmentHistoryEntrySchema,
    resourceSchema: storedSegmentSchema,
    exampleVersion: 2,
    service: segments,
  });

  return app;
}
