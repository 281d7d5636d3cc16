/**
 * The edge worker's proxy mode: with `CDN_ORIGIN` set, every request that is not one
 * of the API routes goes through `experimentMiddleware` to the origin.
 */
import { Hono } from "hono";
import type { EdgeEnv } from "../bindings.js";
import { type ExperimentMiddlewareOptions, experimentMiddleware } from "./middleware.js";

/** The middleware's options, and the origin it forwards to. */
export type ProxyConfig = ExperimentMiddlewareOptions & { origin: string };

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

export function cdnProxy({ origin, ...options }: ProxyConfig): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  app.use("*", experimentMiddleware(options));
  app.all("*", (c) => fetch(toOrigin(c.req.raw, origin)));
  return app;
}
