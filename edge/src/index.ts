/**
 * The Cloudflare Worker entry point. The app is built on the first request, with the
 * cache interval from the bindings, and reused for the life of the isolate.
 */
import type { Hono } from "hono";
import type { EdgeEnv, Env } from "./bindings.js";
import { createEdgeApp } from "./app.js";
import { DEFAULT_FLAG_CACHE_TTL_MS } from "./flag-store.js";
import type { ProxyConfig } from "./cdn/proxy.js";
import type { QueueMessage } from "../../shared/events.js";
import { deliver } from "./queue-consumer.js";

let app: Hono<EdgeEnv> | undefined;

/** Proxy mode is on when CDN_ORIGIN and CDN_DEPLOYMENT_KEY are set (see wrangler.toml). */
function proxyConfig(env: Env): ProxyConfig | undefined {
  if (!env.CDN_ORIGIN || !env.CDN_DEPLOYMENT_KEY) return undefined;
  return {
    origin: env.CDN_ORIGIN,
    deploymentKey: env.CDN_DEPLOYMENT_KEY,
    ...(env.CDN_COOKIE_NAME ? { cookieName: env.CDN_COOKIE_NAME } : {}),
    ...(env.CDN_HEADER_NAME ? { headerName: env.CDN_HEADER_NAME } : {}),
    ...(env.CDN_USER_ID_COOKIE ? { userIdCookie: env.CDN_USER_ID_COOKIE } : {}),
    ...(env.CDN_USER_ID_HEADER ? { userIdHeader: env.CDN_USER_ID_HEADER } : {}),
    injectHtml: env.CDN_INJECT_HTML === "true",
  };
}

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    const cdn = proxyConfig(env);
    app ??= createEdgeApp({
      flagCacheTtlMs: Number(env.FLAG_CACHE_TTL_MS) || DEFAULT_FLAG_CACHE_TTL_MS,
      ...(cdn ? { cdn } : {}),
    });
    return app.fetch(request, env, ctx);
  },
  queue: (batch, env) => deliver(batch, env),
} satisfies ExportedHandler<Env, QueueMessage>;

export { createEdgeApp } from "./app.js";
export { FlagStreamHub } from "./streaming/flag-stream-hub.js";
export { experimentMiddleware, type ExperimentMiddlewareOptions } from "./cdn/middleware.js";
export { parseAssignmentHeader } from "./cdn/assignments.js";
