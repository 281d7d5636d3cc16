/** Mutual-exclusion groups and holdouts, project resources that flags join through `groups`; their history and restore. */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import * as z from "zod";
import { groupSchema, keySchema } from "../../../shared/authoring/schema.js";
import { requireRole, type AuthEnv } from "../../../shared/node/admin-tokens.js";
import type { DeploymentService } from "../services/deployments.js";
import { groupHistoryEntrySchema } from "../db/records.js";
import type { GroupService } from "../services/groups.js";
import {
  body,
  errors,
  EXAMPLES,
  expectedVersion,
  json,
  projectParams,
  storedGroupSchema,
  versionField,
  writeErrors,
} from "./schemas.js";
import { versionedRoutes } from "./versioned.js";

export function groupRoutes(groups: GroupService, deployments: DeploymentService): OpenAPIHono<AuthEnv> {
  const app = new OpenAPIHono<AuthEnv>();
  const tags = ["Mutual-exclusion groups and holdouts"];

  app.openapi(
    createRoute({
      method: "get",
      path: "/projects/{project}/groups",
      summary: "List mutual-exclusion groups and holdouts",
      tags,
      middleware: [requireRole("viewer")] as const,
      request: { params: projectParams },
      responses: { 200: json(z.array(storedGroupSchema), "All groups"), ...errors },
    }),
    async (c) => {
      const { project } = c.req.valid("param");
      await deployments.project(project);
      return c.json(await groups.list(project), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/projects/{project}/groups/{group}",
      summary: "Create or replace a group",
      tags,
      middleware: [requireRole("editor")] as const,
      description:
        "Creates or replaces a group: `mutex` splits traffic between its experiments, " +
        "`holdout` keeps `percentage` of users out of all of them. " +
        "Replacing is conditional on the version read (If-Match or `version`); creating needs neither.",
      request: {
        params: projectParams.extend({ group: keySchema }),
        ...body(groupSchema.omit({ key: true }).extend(versionField.shape), EXAMPLES.group),
      },
      responses: { 200: json(storedGroupSchema, "The group"), ...writeErrors },
    }),
    async (c) => {
      const { project, group } = c.req.valid("param");
      await deployments.project(project);
      const { version, ...input } = c.req.valid("json");
      const saved = await groups.save(
        project,
        { key: group, ...input },
        () => expectedVersion(c, version),
        c.var.principal.name,
      );
      return c.json(saved, 200, { ETag: `"${saved.version}"` });
    },
  );

  versionedRoutes(app, {
    collection: "groups",
    param: "group",
    noun: "group",
    tags,
    entrySchema: groupHistoryEntrySchema,
    resourceSchema: storedGroupSchema,
    exampleVersion: 2,
    service: groups,
  });
  return app;
}
