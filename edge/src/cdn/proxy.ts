/**
 * The edge worker's proxy mode: with `CDN_ORIGIN` set, every request that is not one
 * of the API routes goes through `experimentMiddleware` to the origin.
 */
import { Hono } from "hono";
import type { EdgeEnv } from "../bindings.js";
import { experimentMiddleware } from "./middleware.js";

export interface ProxyConfig {
  origin: string;
  deploymentKey: string;
  cookieName?: string;
  headerName?: string;
  userIdCookie?: string;
  userIdHeader?: string;
  injectHtml?: boolean;
  flagCacheTtlMs?: number;
}

/**
 * Forwards the (possibly rewritten) request to the origin, keeping method, headers and
 * body. The path is set on the origin's URL, never resolved against it: a request for
 * `//other.host/x` stays on the origin.
 */
function toOrigin(request: Request, origin: string): Request {
  const from = new URL(request.url);
  const to = new URL(origin);
  to.pathname = from.pathname;
  to.search = from.search;
  return new Request(to.href, {
    method: request.method,
    headers: request.headers,
    body: request.body,
    redirect: "manual",
  });
}

export function cdnProxy(config: ProxyConfig): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  app.use(
    "*",
    experimentMiddleware({
      deploymentKey: config.deploymentKey,
      ...(config.cookieName ? { cookieName: config.cookieName } : {}),
      ...(config.headerName ? { headerName: config.headerName } : {}),
      ...(config.userIdCookie ? { userIdCookie: config.userIdCookie } : {}),
      ...(config.userIdHeader ? { userIdHeader: config.userIdHeader } : {}),
      ...(config.injectHtml !== undefined ? { injectHtml: config.injectHtml } : {}),
      ...(config.flagCacheTtlMs !== undefined ? { flagCacheTtlMs: config.flagCacheTtlMs } : {}),
    }),
  );
  app.all("*", (c) => fetch(toOrigin(c.req.raw, config.origin)));
  return app;
}
