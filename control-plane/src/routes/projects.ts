/** Projects and deployments (keys, rotation, replication status, forced publish). */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import * as z from "zod";
import { keySchema } from "../../../shared/authoring/schema.js";
import { MAX_BREAKDOWN_VALUE_CHARS, MAX_PROJECT_BREAKDOWN_PROPERTIES } from "../../../shared/breakdown-properties.js";
import { userFields } from "../../../shared/evaluation/user.js";
import { requireRole, ROLES, type AuthEnv, type Principal } from "../../../shared/node/admin-tokens.js";
import { DEFAULT_RETENTION_DAYS, eventRetentionDaysSchema } from "../../../shared/event-retention.js";
import { breakdownPropertiesSchema } from "../db/records.js";
import type { DeploymentService, DeploymentView } from "../services/deployments.js";
import {
  body,
  confirmQuery,
  deploymentParams,
  evaluationExplainedSchema,
  deploymentSchema,
  errors,
  EXAMPLES,
  json,
  projectParams,
  projectSchema,
  writeErrors,
} from "./schemas.js";

const named = z.object({ key: keySchema, name: z.string().min(1).max(200) });

/** Server keys are secrets: viewers see the client key only. */
const visibleTo = (principal: Principal, deployment: DeploymentView) =>
  ROLES.indexOf(principal.role) >= ROLES.indexOf("editor")
    ? deployment
    : { ...deployment, serverKey: undefined, retiredKeys: undefined };

export function projectRoutes(deployments: DeploymentService): OpenAPIHono<AuthEnv> {
  const app = new OpenAPIHono<AuthEnv>();
  /** A user as the SDKs describe one, with the edge's rules; the built-in fields a person trying one would type. */
  const evaluationUserSchema = z.object({
    ...userFields,
    country: z.string().max(100).optional(),
    platform: z.string().max(100).optional(),
    language: z.string().max(100).optional(),
    version: z.string().max(100).optional(),
  });

  const tags = ["Projects and deployments"];

  app.openapi(
    createRoute({
      method: "post",
      path: "/projects",
      summary: "Create a project",
      tags,
      middleware: [requireRole("admin")] as const,
      request: body(named, EXAMPLES.project),
      responses: { 201: json(projectSchema, "Created"), ...writeErrors },
    }),
    async (c) => {
      const { key, name } = c.req.valid("json");
      return c.json(await deployments.createProject(key, name), 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/projects",
      summary: "List projects",
      tags,
      responses: { 200: json(z.array(projectSchema), "The projects this token can see"), ...errors },
    }),
    async (c) => {
      const { project } = c.var.principal;
      return c.json(
        (await deployments.listProjects()).filter((p) => project === "*" || p.key === project),
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/projects/{project}",
      summary: "Get a project",
      tags,
      middleware: [requireRole("viewer")] as const,
      request: { params: projectParams },
      responses: { 200: json(projectSchema, "The project"), ...errors },
    }),
    async (c) => {
      const { project } = c.req.valid("param");
      return c.json(await deployments.project(project), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/projects/{project}/breakdown-properties",
      summary: "Set the user properties results can be broken down by",
      tags,
      middleware: [requireRole("admin")] as const,
      description:
        "Names user properties, beyond the built-in country, platform, os and app_version, that the edge keeps " +
        `with each exposure from then on, so that a report can be broken down by them (\`?breakdown=<name>\`): at most ` +
        `${MAX_PROJECT_BREAKDOWN_PROPERTIES}, each 1–64 letters, digits, '_', '.', '$' or '-'. The edge reads each from ` +
        `the user's field of that name, else its user property, and keeps strings, numbers and booleans, cut to ` +
        `${MAX_BREAKDOWN_VALUE_CHARS} characters. Every deployment is published again with the list. An empty list ` +
        "removes them (exposures already stored keep theirs).",
      request: {
        params: projectParams,
        ...body(z.strictObject({ properties: breakdownPropertiesSchema }), { properties: ["plan", "locale"] }),
      },
      responses: { 200: json(projectSchema, "The project, with its breakdown properties"), ...writeErrors },
    }),
    async (c) => {
      const { project } = c.req.valid("param");
      return c.json(await deployments.setBreakdownProperties(project, c.req.valid("json").properties), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/projects/{project}/event-retention",
      summary: "Set how many days the event store keeps the project's events",
      tags,
      middleware: [requireRole("admin")] as const,
      description:
        "The stats service deletes the project's days (exposures and events) older than this many days at its next " +
        `upkeep (every minute locally): 1–${DEFAULT_RETENTION_DAYS} whole days, \`null\` for the default ` +
        `(${DEFAULT_RETENTION_DAYS}). Not longer: in the cloud the bucket expires every event after ` +
        `${DEFAULT_RETENTION_DAYS} days. A report needs the days of its analysis period, so a retention shorter than ` +
        "an experiment's runtime leaves it without its first days.",
      request: {
        params: projectParams,
        ...body(z.strictObject({ days: eventRetentionDaysSchema.nullable() }), { days: 90 }),
      },
      responses: { 200: json(projectSchema, "The project, with its retention"), ...writeErrors },
    }),
    async (c) => {
      const { project } = c.req.valid("param");
      const { days } = c.req.valid("json");
      return c.json(await deployments.setEventRetention(project, days ?? undefined), 200);
    },
  );

  for (const action of ["archive", "unarchive"] as const) {
    app.openapi(
      createRoute({
        method: "post",
        path: `/projects/{project}/${action}`,
        summary: action === "archive" ? "Archive a project (before deleting it)" : "Unarchive a project",
        tags,
        middleware: [requireRole("admin")] as const,
        description:
          action === "archive"
            ? "Marks the project archived: it takes no new flags, and can then be deleted. Serving is unchanged."
            : "Makes an archived project live again.",
        request: { params: projectParams },
        responses: { 200: json(projectSchema, "The project"), ...writeErrors },
      }),
      async (c) => {
        const { project } = c.req.valid("param");
        return c.json(await deployments.archiveProject(project, action === "archive"), 200);
      },
    );
  }

  app.openapi(
    createRoute({
      method: "delete",
      path: "/projects/{project}",
      summary: "Delete an archived project and everything in it (confirm with its key)",
      tags,
      middleware: [requireRole("admin")] as const,
      description:
        "Deletes an archived project, with `?confirm=<project key>`: its flags, groups and deployments too, and " +
        "the deployments' documents on the edge (their keys stop working). Each flag's history stays, ending in " +
        "a `delete project` entry. The answer names everything deleted.",
      request: { params: projectParams, query: confirmQuery },
      responses: {
        200: json(
          z.object({
            project: z.string(),
            flags: z.array(z.string()),
            groups: z.array(z.string()),
            deployments: z.array(z.string()),
          }),
          "Deleted: the project and the keys of what it held",
        ),
        ...writeErrors,
      },
    }),
    async (c) => {
      const { project } = c.req.valid("param");
      return c.json(await deployments.removeProject(project, c.req.valid("query").confirm, c.var.principal.name), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/projects/{project}/deployments",
      summary: "Create a deployment (with its client and server keys)",
      tags,
      middleware: [requireRole("admin")] as const,
      request: { params: projectParams, ...body(named, EXAMPLES.deployment) },
      responses: { 201: json(deploymentSchema, "Created, with its client and server keys"), ...writeErrors },
    }),
    async (c) => {
      const { project } = c.req.valid("param");
      const { key, name } = c.req.valid("json");
      return c.json(await deployments.create(project, key, name), 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/projects/{project}/deployments",
      summary: "List deployments and their replication status",
      tags,
      middleware: [requireRole("viewer")] as const,
      request: { params: projectParams },
      responses: { 200: json(z.array(deploymentSchema), "Deployments with their replication status"), ...errors },
    }),
    async (c) => {
      const { project } = c.req.valid("param");
      return c.json(
        (await deployments.list(project)).map((d) => visibleTo(c.var.principal, d)),
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/projects/{project}/deployments/{deployment}",
      summary: "Get a deployment and its replication status",
      tags,
      middleware: [requireRole("viewer")] as const,
      request: { params: deploymentParams },
      responses: { 200: json(deploymentSchema, "The deployment and its replication status"), ...errors },
    }),
    async (c) => {
      const { project, deployment } = c.req.valid("param");
      return c.json(visibleTo(c.var.principal, await deployments.get(project, deployment)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/projects/{project}/deployments/{deployment}/rotate-keys",
      summary: "Rotate a deployment's keys",
      tags,
      middleware: [requireRole("admin")] as const,
      description: "Issues new keys; the old ones stop working once the deployment is republished (immediately).",
      request: {
        params: deploymentParams,
        ...body(z.object({ keys: z.array(z.enum(["client", "server"])).min(1) }), { keys: ["client"] }),
      },
      responses: { 200: json(deploymentSchema, "The deployment with its new keys"), ...writeErrors },
    }),
    async (c) => {
      const { project, deployment } = c.req.valid("param");
      return c.json(await deployments.rotate(project, deployment, c.req.valid("json").keys), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/projects/{project}/deployments/{deployment}/evaluate",
      summary: "Try a user: what every flag of the deployment returns for them, and why",
      tags,
      middleware: [requireRole("viewer")] as const,
      description:
        "Evaluates the deployment's flags as they are now, with the edge's engine; nothing is recorded (no exposure).",
      request: {
        params: deploymentParams,
        ...body(evaluationUserSchema, {
          user_id: "user-1",
          device_id: "device-1",
          user_properties: { plan: "beta", country: "DE" },
          groups: { company: ["acme"] },
        }),
      },
      responses: {
        200: json(
          z.record(z.string(), evaluationExplainedSchema),
          "Per flag: the variant, its value and payload, the reason and the deciding segment",
        ),
        ...errors,
      },
    }),
    async (c) => {
      const { project, deployment } = c.req.valid("param");
      return c.json(await deployments.evaluate(project, deployment, c.req.valid("json")), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/projects/{project}/deployments/{deployment}/publish",
      summary: "Republish a deployment to the edge now",
      tags,
      middleware: [requireRole("admin")] as const,
      description: "Republishes the deployment to the edge now.",
      request: { params: deploymentParams },
      responses: { 200: json(deploymentSchema, "The deployment after publishing"), ...errors },
    }),
    async (c) => {
      const { project, deployment } = c.req.valid("param");
      return c.json(await deployments.publish(project, deployment), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/projects/{project}/deployments/{deployment}",
      summary: "Delete a deployment",
      tags,
      middleware: [requireRole("admin")] as const,
      description: "Removes the deployment and its keys from the edge; refused while flags are served on it.",
      request: { params: deploymentParams },
      responses: { 204: { description: "Deleted" }, ...writeErrors },
    }),
    async (c) => {
      const { project, deployment } = c.req.valid("param");
      await deployments.remove(project, deployment);
      return c.body(null, 204);
    },
  );

  return app;
}
