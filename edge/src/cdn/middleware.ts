/**
 * `experimentMiddleware(options)`: assigns variants before the origin sees a request.
 * Use it in front of your own handler in a Hono worker, or through the edge worker's
 * proxy mode (`CDN_ORIGIN` in wrangler.toml).
 *
 * Per request: a first-party device-id cookie (created when missing: sticky bucketing
 * for anonymous visitors), an optional user id from a cookie or header, the request's
 * facts (`request.cf` geography, language, user agent, path and query) → evaluation →
 * the assignments in a request header for the origin; redirect (302) or rewrite
 * experiments from the variant payload; optionally the assignments injected into the
 * HTML `<head>` for the browser SDK; exposures for applied experiment variants.
 *
 * Caching: a response that may depend on the assignment is marked `Cache-Control:
 * private` and `Vary: Cookie` on its way to the browser, so no shared cache can serve one
 * visitor's variant to another; the browser may still cache its own. An origin that
 * caches must key on the assignments header (`Vary: x-experiment-variants`).
 *
 * Failure: if evaluation fails, or KV is unavailable with no cached copy, the request
 * goes to the origin without assignments and the failure is logged (fail open).
 *
 * Trust: an inbound assignments header is always removed — a visitor cannot choose a
 * variant for the origin, nor get a personalised page into a shared cache when the
 * middleware fails open. Redirect and rewrite targets must resolve to the same site, and a
 * redirect's `Location` is a path (never built from the visitor's `Host` header).
 */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { QueueMessage } from "../../../shared/events.js";
import { evaluationCounts, type CountTarget } from "../evaluation-counts.js";
import { ExposureRecorder } from "../exposures.js";
import { DEFAULT_FLAG_CACHE_TTL_MS, FlagStore } from "../flag-store.js";
import {
  appliesOn,
  assign,
  assignmentHeader,
  initialVariants,
  navigationFor,
  sameSiteTarget,
  userFromRequest,
  type Assignment,
} from "./assignments.js";

export interface ExperimentMiddlewareOptions {
  /** The deployment whose flags apply (a client or server key). */
  deploymentKey: string;
  /** Binding names in the worker's env. */
  kvBinding?: string;
  queueBinding?: string;
  /** First-party cookie holding the anonymous device id. */
  cookieName?: string;
  /** Where a signed-in user's id comes from, if anywhere. */
  userIdCookie?: string;
  userIdHeader?: string;
  /** The request header that carries the assignments to the origin. */
  headerName?: string;
  /** Inject `window.__AMPLITUDE_EXPERIMENT_INITIAL_VARIANTS__` into HTML `<head>`. */
  injectHtml?: boolean;
  trackExposures?: boolean;
  flagCacheTtlMs?: number;
  log?: (message: string, error?: unknown) => void;
  /**
   * The isolate's deployment cache and exposure recorder, when the middleware runs inside an
   * app that has them (the edge worker's proxy mode): one copy of each deployment and one
   * exposure buffer per isolate. Without them the middleware makes its own.
   */
  store?: FlagStore;
  exposures?: ExposureRecorder;
}

export const DEFAULT_COOKIE = "exp_device_id";
export const DEFAULT_HEADER = "x-experiment-variants";
export const INITIAL_VARIANTS_GLOBAL = "__AMPLITUDE_EXPERIMENT_INITIAL_VARIANTS__";
const TWO_YEARS = 63_072_000;
const MAX_USER_ID_CHARS = 1024;

/** JSON safe inside a `<script>` element. */
const scriptJson = (value: unknown) =>
  JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");

function markPrivate(headers: Headers): void {
  const directives = (headers.get("cache-control") ?? "")
    .split(",")
    .map((d) => d.trim())
    .filter((d) => d && !/^(public|s-maxage=.*)$/i.test(d));
  if (!directives.some((d) => /^(private|no-store)$/i.test(d))) directives.unshift("private");
  headers.set("cache-control", directives.join(", "));
  const vary = headers.get("vary");
  if (
    !vary
      ?.toLowerCase()
      .split(",")
      .map((v) => v.trim())
      .includes("cookie")
  )
    headers.set("vary", vary ? `${vary}, Cookie` : "Cookie");
}

export function experimentMiddleware(options: ExperimentMiddlewareOptions): MiddlewareHandler {
  const cookieName = options.cookieName ?? DEFAULT_COOKIE;
  const headerName = options.headerName ?? DEFAULT_HEADER;
  const log = options.log ?? ((message, error) => console.error(message, error ?? ""));
  const store = options.store ?? new FlagStore({ ttlMs: options.flagCacheTtlMs ?? DEFAULT_FLAG_CACHE_TTL_MS, log });
  const exposures = options.exposures ?? new ExposureRecorder();

  async function decide(c: Context, deviceId: string, userId: string | undefined): Promise<Assignment> {
    const env = c.env as Record<string, unknown>;
    const kv = env[options.kvBinding ?? "FLAGS"] as KVNamespace;
    const deployment = await store.get(kv, options.deploymentKey, (p) => c.executionCtx.waitUntil(p));
    if (!deployment) throw new Error("The middleware's deployment key is unknown to KV");
    const assignment = assign(
      deployment.compiled,
      userFromRequest(c.req.raw, { deviceId, ...(userId ? { userId } : {}) }),
    );
    // Counted only where the worker has the counts' bindings (the edge worker's proxy mode, or a worker that sets them).
    evaluationCounts.count(c.executionCtx, env as CountTarget, deployment, assignment.evaluated);
    if (options.trackExposures !== false) {
      const user = { device_id: deviceId, ...(userId ? { user_id: userId } : {}) };
      const queue = env[options.queueBinding ?? "EVENTS"] as Queue<QueueMessage> | undefined;
      const pathname = new URL(c.req.url).pathname;
      const applied = assignment.served.filter((outcome) => appliesOn(outcome.variant, pathname));
      if (queue) exposures.record(c.executionCtx, queue, deployment, user, applied, "cdn");
    }
    return assignment;
  }

  return async (c, next) => {
    if (c.req.raw.headers.has(headerName)) {
      const stripped = new Headers(c.req.raw.headers);
      stripped.delete(headerName);
      c.req.raw = new Request(c.req.raw, { headers: stripped });
    }
    const existingDevice = getCookie(c, cookieName);
    const deviceId = existingDevice && /^[\w-]{8,64}$/.test(existingDevice) ? existingDevice : crypto.randomUUID();
    const claimed =
      (options.userIdCookie && getCookie(c, options.userIdCookie)) ||
      (options.userIdHeader && c.req.header(options.userIdHeader)) ||
      undefined;
    // Bounded like every other intake's ids, so a visitor's exposures always fit in a queue message.
    const userId = claimed && claimed.length <= MAX_USER_ID_CHARS ? claimed : undefined;
    const setCookie =
      existingDevice === deviceId
        ? undefined
        : `${cookieName}=${deviceId}; Path=/; Max-Age=${TWO_YEARS}; Secure; SameSite=Lax`;

    let assignment: Assignment;
    try {
      assignment = await decide(c, deviceId, userId);
    } catch (error) {
      log("Experiment middleware failed; passing the request through unmodified", error);
      return next(); // fail open: no cookie, no assignments, no rewrite
    }

    const url = new URL(c.req.url);
    const navigation = navigationFor(assignment.variants, url);
    if (navigation?.kind === "redirect") {
      const target = sameSiteTarget(navigation.target, url)!;
      if (!target.search) target.search = url.search;
      // Relative: the request's URL carries the visitor's `Host` header, which they choose.
      const response = c.redirect(target.pathname + target.search, 302);
      response.headers.set("cache-control", "private, no-store");
      if (setCookie) response.headers.append("set-cookie", setCookie);
      return response;
    }

    const headers = new Headers(c.req.raw.headers);
    headers.set(headerName, assignmentHeader(assignment.variants));
    const target = navigation?.kind === "rewrite" ? (sameSiteTarget(navigation.target + url.search, url) ?? url) : url;
    c.req.raw = new Request(target.href, new Request(c.req.raw, { headers }));

    await next();

    const response = new Response(c.res.body, c.res); // mutable copy of the origin's response
    if (setCookie) response.headers.append("set-cookie", setCookie);
    markPrivate(response.headers);
    // Assigning c.res merges the previous response's headers into the new one, which would
    // restore the origin's cache headers; clearing it first makes this a replacement.
    c.res = undefined as unknown as Response;
    if (
      options.injectHtml &&
      response.headers.get("content-type")?.includes("text/html") &&
      Object.keys(assignment.variants).length
    ) {
      const variants = scriptJson(initialVariants(assignment.variants));
      const script = `<script>window.${INITIAL_VARIANTS_GLOBAL}=${variants};</script>`;
      c.res = new HTMLRewriter()
        .on("head", { element: (head) => void head.prepend(script, { html: true }) })
        .transform(response);
    } else {
      c.res = response;
    }
  };
}
