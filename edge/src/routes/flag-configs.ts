/**
 * `GET /sdk/v2/flags`: the deployment's flags in the evaluation model, for SDKs that
 * evaluate locally (`@amplitude/experiment-node-server` polls it). Server keys only.
 * The ETag is the deployment version, so an unchanged poll costs a 304.
 */
import { Hono } from "hono";
import type { EdgeEnv } from "../bindings.js";

export function flagConfigs(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  app.get("/sdk/v2/flags", (c) => {
    const deployment = c.get("deployment");
    const etag = `"${deployment.deployment}-${deployment.version}"`;
    const headers = { ETag: etag, "Cache-Control": "private, no-cache" };
    if (c.req.header("if-none-match") === etag) return c.body(null, 304, headers);
    return c.json(deployment.compiled.validFlags, 200, headers);
  });
  return app;
}
