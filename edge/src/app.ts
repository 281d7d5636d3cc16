/**
 * The edge app: wires the route modules with CORS, body limits, deployment-key auth
 * and JSON errors. Built once per isolate; the flag store and exposure dedup live as
 * long as the isolate does.
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { bodyLimit } from "../../shared/http/body-limit.js";
import { discardUnreadBody } from "../../shared/http/discard-body.js";
import { jsonErrors, jsonNotFound } from "../../shared/http/errors.js";
import type { EdgeEnv, Env } from "./bindings.js";
import { cdnProxy, type ProxyConfig } from "./cdn/proxy.js";
import { amplitudeHttpApi } from "./routes/amplitude-http-api.js";
import { ExposureRecorder } from "./exposures.js";
import { DEFAULT_FLAG_CACHE_TTL_MS, FlagStore } from "./flag-store.js";
import { deploymentAuth } from "./middleware/deployment-auth.js";
import { FailedLookups } from "./middleware/failed-lookups.js";
import { rateLimit } from "./middleware/rate-limit.js";
import { flagConfigs } from "./routes/flag-configs.js";
import { flagStream, flagStreamNotifications } from "./routes/flag-stream.js";
import { ofrep } from "./routes/ofrep.js";
import { vardataFastPath } from "./routes/fast-vardata.js";
import { remoteEvaluation } from "./routes/remote-eval.js";
import { track } from "./routes/track.js";

const KB = 1024;

export interface EdgeAppOptions {
  flagCacheTtlMs?: number;
  /** Proxy mode: requests that match no API route go through the experiment middleware to this origin. */
  cdn?: ProxyConfig;
}

/**
 * The API's routes, exactly: in proxy mode every other path is the origin's, and gets the
 * origin's own CORS headers (an `Access-Control-Allow-Origin: *` of ours beside its
 * `allow-credentials: true` broke it), and its own preflights.
 */
const API_PATHS = [
  "/health",
  "/sdk/v2/vardata",
  "/sdk/v2/flags",
  "/v1/vardata",
  "/ofrep/v1/evaluate/*",
  "/track",
  "/2/httpapi",
  "/batch",
];

export function createEdgeApp(options: EdgeAppOptions = {}): Hono<EdgeEnv> {
  const store = new FlagStore({ ttlMs: options.flagCacheTtlMs ?? DEFAULT_FLAG_CACHE_TTL_MS, unknownTtlMs: 1000 });
  const exposures = new ExposureRecorder();
  const limited = rateLimit();
  const failures = new FailedLookups();
  const anyKey = deploymentAuth({ store, failures });
  const serverKey = deploymentAuth({ store, failures, allow: ["server"] });

  const app = new Hono<EdgeEnv>();
  // Every early answer (bad key, rate limit, unknown route) first reads what is left of the
  // body, or workerd resets a kept-alive connection the client is still writing to.
  const answerError = jsonErrors();
  app.onError(async (error, c) => {
    await discardUnreadBody(c.req.raw);
    return answerError(error, c);
  });
  app.notFound(async (c) => {
    await discardUnreadBody(c.req.raw);
    return jsonNotFound(c);
  });
  const apiCors = cors({
    origin: "*",
    allowMethods: ["GET", "POST", "OPTIONS"],
    allowHeaders: [
      "Authorization",
      "Content-Type",
      "X-API-Key",
      "If-None-Match",
      "X-Amp-Exp-User",
      "X-Amp-Exp-Flag-Keys",
      "X-Amp-Exp-Track",
      "X-Amp-Exp-Exposure-Track",
      "X-Amp-Exp-Library",
    ],
    exposeHeaders: ["ETag"],
    maxAge: 86400,
  });
  for (const path of API_PATHS) app.use(path, apiCors);

  app.get("/health", (c) => c.json({ status: "ok" }));

  app.use("/sdk/v2/vardata", bodyLimit(64 * KB), anyKey, limited);
  app.use("/v1/vardata", bodyLimit(64 * KB), anyKey, limited);
  app.use("/sdk/v2/flags", serverKey, limited);
  app.use("/ofrep/v1/evaluate/*", bodyLimit(64 * KB), anyKey, limited);
  app.use("/track", bodyLimit(1024 * KB), anyKey, limited);

  app.route("/", remoteEvaluation(exposures));
  app.route("/", flagConfigs());
  app.route("/", ofrep(exposures));
  app.route("/", track());
  app.use("/2/httpapi", bodyLimit(2 * 1024 * KB));
  app.use("/batch", bodyLimit(2 * 1024 * KB));
  app.route("/", amplitudeHttpApi(store, failures));
  app.use("/sdk/stream/v1/flags", serverKey, limited);
  app.route("/", flagStream());
  app.use("/internal/flag-streams", bodyLimit(26 * 1024 * KB)); // a document is at most one KV value (25 MiB)
  app.route("/", flagStreamNotifications());
  // The proxy shares the API's deployment cache and exposure buffer: one of each per isolate.
  if (options.cdn) app.route("/", cdnProxy({ ...options.cdn, store, exposures }));

  // The hot route's ordinary case is answered before the router (routes/fast-vardata.ts);
  // whatever it declines goes through the app as before.
  const fast = vardataFastPath(store, exposures);
  const routed = app.fetch;
  app.fetch = (request, env, ctx) => {
    const answered = fast(request, env as Env, ctx);
    if (answered === undefined) return routed(request, env, ctx);
    if (answered instanceof Response) return answered;
    return answered.then((response) => response ?? routed(request, env, ctx));
  };
  return app;
}
