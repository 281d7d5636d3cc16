/** Mutual-exclusion groups and holdouts, project resources that flags join through `groups`. */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import * as z from "zod"; // namespace import: lets the bundler drop the unused parts of zod
import { groupSchema, keySchema } from "../../../shared/authoring/schema.js";
import { authorize, type AuthEnv } from "../auth/tokens.js";
import type { Store } from "../db/store.js";
import type { DeploymentService } from "../services/deployments.js";
import { body, errors, json, projectParams, writeErrors } from "./schemas.js";

export function groupRoutes(store: Store, deployments: DeploymentService, onChange: (project: string, deployments: string[]) => Promise<void>): OpenAPIHono<AuthEnv> {
  const app = new OpenAPIHono<AuthEnv>();
  const tags = ["Mutual-exclusion groups and holdouts"];

  app.openapi(
    createRoute({ method: "get", path: "/projects/{project}/groups", tags, request: { params: projectParams }, responses: { 200: json(z.array(groupSchema), "All groups"), ...errors } }),
    async (c) => {
      const { project } = c.req.valid("param");
      authorize(c.var.principal, "viewer", project);
      await deployments.project(project);
      return c.json(await store.listGroups(project), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/projects/{project}/groups/{group}",
      tags,
      description: "Creates or replaces a group: `mutex` splits traffic between its experiments, `holdout` keeps `percentage` of users out of all of them.",
      request: { params: projectParams.extend({ group: keySchema }), ...body(groupSchema.omit({ key: true })) },
      responses: { 200: json(groupSchema, "The group"), ...writeErrors },
    }),
    async (c) => {
      const { project, group } = c.req.valid("param");
      authorize(c.var.principal, "editor", project);
      await deployments.project(project);
      const saved = { key: group, ...c.req.valid("json") };
      await store.putGroup(project, saved);
      await store.nextSeq(project);
      await onChange(project, (await store.listDeployments(project)).map((d) => d.key));
      return c.json(saved, 200);
    },
  );
  return app;
}
