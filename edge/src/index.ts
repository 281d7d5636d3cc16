/**
 * The Cloudflare Worker entry point. The app is built on the first request, with the
 * cache interval from the bindings, and reused for the life of the isolate.
 */
import type { Hono } from "hono";
import type { EdgeEnv, Env } from "./bindings.js";
import { createEdgeApp, DEFAULT_FLAG_CACHE_TTL_MS } from "./app.js";

let app: Hono<EdgeEnv> | undefined;

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    app ??= createEdgeApp({ flagCacheTtlMs: Number(env.FLAG_CACHE_TTL_MS) || DEFAULT_FLAG_CACHE_TTL_MS });
    return app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;

export { createEdgeApp } from "./app.js";
