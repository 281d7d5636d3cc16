/** Admin tokens: created with a role and a scope, shown once, stored hashed. */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import * as z from "zod";
import { ApiError } from "../../../shared/http/errors.js";
import { authorize, generateToken, hashToken, ROLES, type AuthEnv } from "../../../shared/node/admin-tokens.js";
import type { Store } from "../db/store.js";
import { body, errors, EXAMPLES, json, tokenSchema, writeErrors } from "./schemas.js";

export function tokenRoutes(store: Store): OpenAPIHono<AuthEnv> {
  const app = new OpenAPIHono<AuthEnv>();
  const tags = ["Admin tokens"];
  const input = z.object({
    name: z.string().min(1).max(200),
    role: z.enum(ROLES),
    project: z.string().min(1).max(100).default("*"),
  });

  app.openapi(
    createRoute({
      method: "post",
      path: "/tokens",
      summary: "Create an admin token (shown once)",
      tags,
      request: body(input, EXAMPLES.token),
      responses: {
        201: json(tokenSchema.extend({ token: z.string() }), "Created; `token` is shown only now"),
        ...writeErrors,
      },
    }),
    async (c) => {
      const { name, role, project } = c.req.valid("json");
      authorize(c.var.principal, "admin", project);
      if (project === "*" && c.var.principal.project !== "*")
        throw new ApiError({
          status: 403,
          message: "Only an admin of all projects can create tokens for all projects",
        });
      const token = generateToken();
      const hash = hashToken(token);
      const record = { id: hash.slice(0, 16), name, role, project, createdAt: new Date().toISOString() };
      await store.putToken(hash, record);
      return c.json({ ...record, token }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/me",
      summary: "Who this token is: its name, role and project scope",
      tags,
      responses: { 200: json(tokenSchema, "The calling token (never its secret)"), ...errors },
    }),
    (c) => {
      const { id, name, role, project, createdAt } = c.var.principal;
      return c.json({ id, name, role, project, createdAt }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/tokens",
      summary: "List admin tokens",
      tags,
      responses: { 200: json(z.array(tokenSchema), "Tokens this admin manages (never the secrets)"), ...errors },
    }),
    async (c) => {
      const principal = c.var.principal;
      authorize(principal, "admin", principal.project);
      const all = await store.listTokens();
      return c.json(
        all
          .filter((t) => principal.project === "*" || t.project === principal.project)
          .map(({ hash: _hash, ...t }) => t),
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/tokens/{id}",
      summary: "Revoke an admin token",
      tags,
      request: { params: z.object({ id: z.string() }) },
      responses: { 204: { description: "Revoked" }, ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const found = (await store.listTokens()).find((t) => t.id === id);
      if (!found) throw new ApiError({ status: 404, message: `No token ${id}` });
      authorize(c.var.principal, "admin", found.project);
      await store.deleteToken(found.hash);
      return c.body(null, 204);
    },
  );
  return app;
}
