/**
 * OpenFeature Remote Evaluation Protocol, as `@openfeature/ofrep-provider` and
 * `@openfeature/ofrep-web-provider` call it:
 * - `POST /ofrep/v1/evaluate/flags/{key}` → `{key, value, reason, variant, metadata}`
 * - `POST /ofrep/v1/evaluate/flags` → `{flags: [...]}` with an ETag; a matching
 *   `If-None-Match` gets 304.
 * Errors carry OFREP's `{key?, errorCode, errorDetails}` and our `{error: {...}}`
 * together, so both OFREP clients and our own tooling can read them.
 */
import { Hono, type Context } from "hono";
import { userToContext } from "../../../shared/evaluation/index.js";
import { murmur3 } from "../../../shared/evaluation/murmur3.js";
import { ApiError } from "../../../shared/http/errors.js";
import type { EdgeEnv } from "../bindings.js";
import { evaluationCounts } from "../evaluation-counts.js";
import type { ExposureRecorder } from "../exposures.js";
import { contextToUser, toOfrepResult } from "../ofrep-mapping.js";
import { parseUser, type User } from "../user.js";

type OfrepErrorCode = "PARSE_ERROR" | "INVALID_CONTEXT" | "FLAG_NOT_FOUND" | "TARGETING_KEY_MISSING" | "GENERAL";

/** An OFREP error: OFREP's `{key?, errorCode, errorDetails}` beside our `{error}`, via the app's error handler. */
const ofrepError = (status: 400 | 404, errorCode: OfrepErrorCode, errorDetails: string, key?: string) =>
  new ApiError({
    status,
    message: errorDetails,
    protocolFields: { ...(key === undefined ? {} : { key }), errorCode, errorDetails },
  });

/** Reads `{context}` into a user, or throws an OFREP error. */
async function readContext(c: Context, key?: string): Promise<User> {
  const text = await c.req.text();
  let body: unknown = {};
  if (text.trim()) {
    try {
      body = JSON.parse(text);
    } catch {
      throw ofrepError(400, "PARSE_ERROR", "Request body is not valid JSON", key);
    }
  }
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw ofrepError(400, "PARSE_ERROR", "Request body must be a JSON object", key);
  const context = (body as { context?: unknown }).context ?? {};
  if (context === null || typeof context !== "object" || Array.isArray(context)) {
    throw ofrepError(400, "INVALID_CONTEXT", "context must be an object", key);
  }
  const targetingKey = (context as { targetingKey?: unknown }).targetingKey;
  if (targetingKey !== undefined && typeof targetingKey !== "string")
    throw ofrepError(400, "INVALID_CONTEXT", "targetingKey must be a string", key);
  try {
    return parseUser(contextToUser(context as Record<string, unknown>));
  } catch (error) {
    if (error instanceof ApiError) throw ofrepError(400, "INVALID_CONTEXT", error.message, key);
    throw error;
  }
}

export function ofrep(exposures: ExposureRecorder): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();

  app.post("/ofrep/v1/evaluate/flags/:key", async (c) => {
    const key = c.req.param("key");
    const user = await readContext(c, key);
    const deployment = c.get("deployment");
    if (!deployment.compiled.visibleKeys.has(key))
      throw ofrepError(404, "FLAG_NOT_FOUND", `Flag ${key} is not served on this deployment`, key);
    const served = deployment.compiled.serve(userToContext(user), { flagKeys: [key] });
    evaluationCounts.count(c.executionCtx, c.env, deployment, served);
    if (deployment.trackExposures)
      exposures.record(c.executionCtx, c.env.EVENTS, deployment, user, served, "remote-evaluation");
    return c.json(toOfrepResult(deployment.compiled, key, served[0]), 200, { "Cache-Control": "no-store" });
  });

  app.post("/ofrep/v1/evaluate/flags", async (c) => {
    const user = await readContext(c);
    const deployment = c.get("deployment");
    const { compiled } = deployment;
    // OFREP lists every flag, one without a result as its default (toOfrepResult): the served
    // outcomes come in visibleKeys' order, so one walk pairs them.
    const served = compiled.serve(userToContext(user));
    evaluationCounts.count(c.executionCtx, c.env, deployment, served);
    let next = 0;
    const flags = [];
    for (const key of compiled.visibleKeys)
      flags.push(toOfrepResult(compiled, key, served[next]?.flagKey === key ? served[next++] : undefined));
    const body = JSON.stringify({ flags });
    // The answer depends on the deployment and the context, so the ETag is its hash.
    const etag = `"${murmur3(body).toString(36)}-${body.length.toString(36)}"`;
    const headers = { ETag: etag, "Cache-Control": "private, no-cache" };
    if (c.req.header("if-none-match") === etag) return c.body(null, 304, headers);
    return c.body(body, 200, { ...headers, "Content-Type": "application/json" });
  });

  return app;
}
