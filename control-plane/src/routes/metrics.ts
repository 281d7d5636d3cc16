/** The project's metric catalog: CRUD, archive, history and restore (services/metrics.ts). */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import * as z from "zod";
import { keySchema } from "../../../shared/authoring/schema.js";
import { parseOr400 } from "../../../shared/http/errors.js";
import { metricDefinitionSchema } from "../../../shared/metrics/definition.js";
import { requireRole, type AuthEnv } from "../../../shared/node/admin-tokens.js";
import { catalogMetricSchema, metricHistoryEntrySchema } from "../db/records.js";
import { definitionOf, METRIC_ACTIONS, type MetricService } from "../services/metrics.js";
import { mergePatch, withoutNulls } from "./merge-patch.js";
import { droppedFields, unknownFieldsError } from "./strict-fields.js";
import { body, errors, expectedVersion, json, projectParams, versionField, writeErrors } from "./schemas.js";
import { versionedRoutes } from "./versioned.js";

const tags = ["Metric catalog"];
const etag = (version: number) => `"${version}"`;
const metricParams = projectParams.extend({ metric: keySchema });

const EXAMPLE = {
  key: "checkout-conversion",
  name: "Checkout conversion",
  type: "unique_conversions",
  eventType: "purchase_completed",
  filters: [{ property: "amount", op: ">", value: 0 }],
  window: { endHours: 168 },
};

const listQuery = z.object({
  /** `true`: archived metrics only; `false`: active ones only; absent: all. */
  archived: z.enum(["true", "false"]).optional(),
  /** Text in the key, name, description or event type (case-insensitive). */
  q: z.string().max(200).optional(),
});

/** What a GET answers besides the definition: accepted and ignored in a PUT body, so a read can be sent back. */
const readOnlyFields = z.object({
  archived: z.unknown().optional(),
  createdAt: z.unknown().optional(),
  updatedAt: z.unknown().optional(),
  lastChange: z.unknown().optional(),
});
const putBody = metricDefinitionSchema.and(versionField.extend(readOnlyFields.shape));
const patchBody = z.record(z.string(), z.unknown());

export function metricRoutes(metrics: MetricService): OpenAPIHono<AuthEnv> {
  const app = new OpenAPIHono<AuthEnv>();

  app.openapi(
    createRoute({
      method: "get",
      path: "/projects/{project}/metrics",
      summary: "List the project's catalog metrics",
      tags,
      middleware: [requireRole("viewer")] as const,
      request: { params: projectParams, query: listQuery },
      responses: { 200: json(z.array(catalogMetricSchema), "Catalog metrics by key"), ...errors },
    }),
    async (c) => {
      const { project } = c.req.valid("param");
      const { archived, q } = c.req.valid("query");
      return c.json(
        await metrics.list(project, { archived: archived === undefined ? undefined : archived === "true", q }),
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/projects/{project}/metrics",
      summary: "Add a metric to the catalog",
      tags,
      middleware: [requireRole("editor")] as const,
      request: { params: projectParams, ...body(metricDefinitionSchema, EXAMPLE) },
      responses: { 201: json(catalogMetricSchema, "Created (version 1)"), ...writeErrors },
    }),
    async (c) => {
      const { project } = c.req.valid("param");
      const created = await metrics.create(project, c.req.valid("json"), c.var.principal.name);
      return c.json(created, 201, { ETag: etag(created.version) });
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/projects/{project}/metrics/{metric}",
      summary: "Get a catalog metric",
      tags,
      middleware: [requireRole("viewer")] as const,
      request: { params: metricParams },
      responses: { 200: json(catalogMetricSchema, "The metric; its ETag is the version"), ...errors },
    }),
    async (c) => {
      const { project, metric } = c.req.valid("param");
      const found = await metrics.get(project, metric);
      return c.json(found, 200, { ETag: etag(found.version) });
    },
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/projects/{project}/metrics/{metric}",
      summary: "Replace a catalog metric's definition (conditional)",
      description:
        "Conditional on the version read (If-Match or `version`). Experiments already saved keep the version " +
        "they copied.",
      tags,
      middleware: [requireRole("editor")] as const,
      request: { params: metricParams, ...body(putBody, { ...EXAMPLE, version: 2 }) },
      responses: { 200: json(catalogMetricSchema, "Updated"), ...writeErrors },
    }),
    async (c) => {
      const { project, metric } = c.req.valid("param");
      const { version, archived, createdAt, updatedAt, lastChange, ...definition } = c.req.valid("json");
      const updated = await metrics.update(
        project,
        metric,
        parseOr400(metricDefinitionSchema, definition, "metric"),
        expectedVersion(c, version),
        c.var.principal.name,
      );
      return c.json(updated, 200, { ETag: etag(updated.version) });
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/projects/{project}/metrics/{metric}",
      summary: "Change some of a catalog metric's fields (JSON Merge Patch, conditional)",
      tags,
      middleware: [requireRole("editor")] as const,
      request: {
        params: metricParams,
        body: {
          required: true,
          content: {
            "application/merge-patch+json": { schema: patchBody, example: { name: "Purchases", version: 2 } },
            "application/json": { schema: patchBody, example: { name: "Purchases", version: 2 } },
          },
        },
      },
      responses: { 200: json(catalogMetricSchema, "Updated"), ...writeErrors },
    }),
    async (c) => {
      const { project, metric } = c.req.valid("param");
      const { version, ...patch } = c.req.valid("json");
      const expected = expectedVersion(c, typeof version === "number" ? version : undefined);
      const current = await metrics.get(project, metric);
      const definition = parseOr400(metricDefinitionSchema, mergePatch(definitionOf(current), patch), "metric");
      const dropped = droppedFields(withoutNulls(patch), definition);
      if (dropped.length > 0) throw unknownFieldsError(dropped);
      const updated = await metrics.update(project, metric, definition, expected, c.var.principal.name);
      return c.json(updated, 200, { ETag: etag(updated.version) });
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/projects/{project}/metrics/{metric}/{action}",
      summary: "Archive or unarchive a catalog metric (conditional)",
      description:
        "An archived metric can no longer be named by an experiment; experiments that copied it keep their copy.",
      tags,
      middleware: [requireRole("editor")] as const,
      request: {
        params: metricParams.extend({ action: z.enum(METRIC_ACTIONS) }),
        body: { required: false, content: { "application/json": { schema: versionField, example: { version: 2 } } } },
      },
      responses: { 200: json(catalogMetricSchema, "The metric after the action"), ...writeErrors },
    }),
    async (c) => {
      const { project, metric, action } = c.req.valid("param");
      const fromBody = c.req.header("content-type")?.includes("json") ? c.req.valid("json").version : undefined;
      const updated = await metrics.act(project, metric, action, expectedVersion(c, fromBody), c.var.principal.name);
      return c.json(updated, 200, { ETag: etag(updated.version) });
    },
  );

  versionedRoutes(app, {
    collection: "metrics",
    param: "metric",
    noun: "catalog metric",
    tags,
    entrySchema: metricHistoryEntrySchema,
    resourceSchema: catalogMetricSchema,
    exampleVersion: 4,
    service: metrics,
  });

  return app;
}
