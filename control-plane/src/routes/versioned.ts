/**
 * The history routes a versioned resource shares (catalog metrics, segments): its versions
 * (the audit log), one past version, and restoring one as a new version, conditional on the
 * version read (If-Match or `version` in the body). One registration for each, so the
 * OpenAPI document describes them alike.
 */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import * as z from "zod";
import { keySchema } from "../../../shared/authoring/schema.js";
import { requireRole, type AuthEnv } from "../../../shared/node/admin-tokens.js";
import { errors, expectedVersion, json, projectParams, versionField, writeErrors } from "./schemas.js";

export interface VersionedResource {
  /** The path's collection and parameter: `metrics` and `metric` make `/projects/{project}/metrics/{metric}`. */
  collection: string;
  param: string;
  /** The resource in a summary: "catalog metric", "segment". */
  noun: string;
  tags: string[];
  entrySchema: z.ZodType;
  resourceSchema: z.ZodType;
  /** The `version` of the restore body's example. */
  exampleVersion: number;
  /** The resource's service: its history, a past version, a restore (as the metric and segment services have them). */
  service: {
    history(project: string, key: string): Promise<unknown>;
    version(project: string, key: string, version: number): Promise<unknown>;
    restore(
      project: string,
      key: string,
      version: number,
      expected: number,
      actor: string,
    ): Promise<{ version: number }>;
  };
}

/** Registers `GET …/versions`, `GET …/versions/{version}` and `POST …/versions/{version}/restore` on `app`. */
export function versionedRoutes(app: OpenAPIHono<AuthEnv>, resource: VersionedResource): void {
  const { collection, param, noun, tags, entrySchema, resourceSchema, service } = resource;
  const keyParams = projectParams.extend({ [param]: keySchema });
  const versionParams = keyParams.extend({ version: z.coerce.number().int().positive() });
  const base = `/projects/{project}/${collection}/{${param}}/versions`;
  const keyOf = (params: Record<string, unknown>) => params[param] as string;

  app.openapi(
    createRoute({
      method: "get",
      path: base,
      summary: `List a ${noun}'s versions (its audit log)`,
      tags,
      middleware: [requireRole("viewer")] as const,
      request: { params: keyParams },
      responses: { 200: json(z.array(entrySchema), "Every version with who, when, what changed"), ...errors },
    }),
    async (c) => {
      const params = c.req.valid("param") as unknown as { project: string };
      return c.json((await service.history(params.project, keyOf(params))) as never, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: `${base}/{version}`,
      summary: `Get one past version of a ${noun}`,
      tags,
      middleware: [requireRole("viewer")] as const,
      request: { params: versionParams },
      responses: { 200: json(entrySchema, "One past version"), ...errors },
    }),
    async (c) => {
      const params = c.req.valid("param") as unknown as { project: string; version: number };
      return c.json((await service.version(params.project, keyOf(params), params.version)) as never, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: `${base}/{version}/restore`,
      summary: `Restore a past version of a ${noun} as a new one (conditional)`,
      tags,
      middleware: [requireRole("editor")] as const,
      request: {
        params: versionParams,
        body: {
          required: false,
          content: { "application/json": { schema: versionField, example: { version: resource.exampleVersion } } },
        },
      },
      responses: { 200: json(resourceSchema, `The ${noun} as restored`), ...writeErrors },
    }),
    async (c) => {
      const params = c.req.valid("param") as unknown as { project: string; version: number };
      const fromBody = c.req.header("content-type")?.includes("json") ? c.req.valid("json").version : undefined;
      const restored = await service.restore(
        params.project,
        keyOf(params),
        params.version,
        expectedVersion(c, fromBody),
        c.var.principal.name,
      );
      return c.json(restored as never, 200, { ETag: `"${restored.version}"` });
    },
  );
}
