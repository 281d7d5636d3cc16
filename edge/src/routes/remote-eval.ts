/**
 * Remote evaluation, on the paths and encodings of the Amplitude SDKs:
 * - v2 (current SDKs): `GET /sdk/v2/vardata` with the user in `X-Amp-Exp-User`,
 *   `POST /sdk/v2/vardata` with the user as the body; default variants included.
 * - v1 REST: `GET|POST /v1/vardata` with `user_id`, `device_id`, `flag_keys`,
 *   `context`; default variants omitted.
 */
import { Hono, type Context } from "hono";
import { isDefaultVariant, servedJson, userToContext } from "../../../shared/evaluation/index.js";
import { ApiError } from "../../../shared/http/errors.js";
import { readJson } from "../../../shared/http/read-json.js";
import type { EdgeEnv, Env } from "../bindings.js";
import { evaluationCounts } from "../evaluation-counts.js";
import type { ExposureRecorder } from "../exposures.js";
import type { BackgroundTasks } from "../queue.js";
import type { LoadedDeployment } from "../flag-store.js";
import { flagKeysFromHeader, flagKeysFromList, parseUser, userFromHeader, type User } from "../user.js";

const ANSWER_HEADERS = { "Content-Type": "application/json", "Cache-Control": "no-store" } as const;

/** What an evaluation answer needs of its request: the deployment, bindings, background tasks and headers. */
export interface Answering {
  deployment: LoadedDeployment;
  env: Env;
  ctx: BackgroundTasks;
  headers: Headers;
}

/**
 * Evaluates, records exposures, and gives the variants as JSON (each outcome's JSON was
 * encoded on its first serving; the body is their concatenation). Shared by the Hono routes
 * and the fast path (fast-vardata.ts).
 */
export function answerBody(
  { deployment, env, ctx, headers }: Answering,
  user: User,
  flagKeys: string[] | undefined,
  exposures: ExposureRecorder,
  { includeDefaults }: { includeDefaults: boolean },
): Uint8Array<ArrayBuffer> {
  // Every visible flag asked for, defaults too: the stale-flag counts need each evaluation, the answer may not.
  const evaluated = deployment.compiled.serve(userToContext(user), { flagKeys, defaults: true });
  evaluationCounts.count(ctx, env, deployment, evaluated);
  const served = includeDefaults ? evaluated : evaluated.filter((outcome) => !isDefaultVariant(outcome.variant));
  // Over every outcome: a unit held back by a guarded rollout is served the default, and is an exposure all the same.
  if (wantsExposures(headers, deployment.trackExposures))
    exposures.record(ctx, env.EVENTS, deployment, user, evaluated, "remote-evaluation");
  return servedJson(served);
}

function respond(
  c: Context<EdgeEnv>,
  user: User,
  flagKeys: string[] | undefined,
  exposures: ExposureRecorder,
  options: { includeDefaults: boolean },
): Response {
  const answering = { deployment: c.get("deployment"), env: c.env, ctx: c.executionCtx, headers: c.req.raw.headers };
  return c.body(answerBody(answering, user, flagKeys, exposures, options), 200, ANSWER_HEADERS);
}

/** `X-Amp-Exp-Exposure-Track` decides; without it, `X-Amp-Exp-Track: no-track` opts out too. */
function wantsExposures(headers: Headers, byDefault: boolean): boolean {
  const exposure = headers.get("x-amp-exp-exposure-track")?.toLowerCase();
  if (exposure === "track") return true;
  if (exposure === "no-track") return false;
  return headers.get("x-amp-exp-track")?.toLowerCase() === "no-track" ? false : byDefault;
}

/** v1 takes ids and flag keys as parameters and the rest of the user as `context` JSON. */
function v1User(params: { user_id?: unknown; device_id?: unknown; context?: unknown }): User {
  let context: unknown = params.context ?? {};
  if (typeof context === "string") {
    try {
      context = JSON.parse(context);
    } catch {
      throw new ApiError({ status: 400, code: "invalid_json", message: "context is not valid JSON" });
    }
  }
  if (context === null || typeof context !== "object" || Array.isArray(context))
    throw new ApiError({ status: 400, message: "context must be a JSON object" });
  const user = parseUser({
    ...(context as object),
    ...(params.user_id !== undefined ? { user_id: params.user_id } : {}),
    ...(params.device_id !== undefined ? { device_id: params.device_id } : {}),
  });
  if (!user.user_id && !user.device_id)
    throw new ApiError({ status: 400, message: "user_id or device_id is required" });
  return user;
}

export function remoteEvaluation(exposures: ExposureRecorder): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();

  app.get("/sdk/v2/vardata", (c) => {
    const user = userFromHeader(c.req.header("x-amp-exp-user"));
    return respond(c, user, flagKeysFromHeader(c.req.header("x-amp-exp-flag-keys")), exposures, {
      includeDefaults: true,
    });
  });

  app.post("/sdk/v2/vardata", async (c) => {
    const user = parseUser(await readJson(c));
    return respond(c, user, flagKeysFromHeader(c.req.header("x-amp-exp-flag-keys")), exposures, {
      includeDefaults: true,
    });
  });

  app.get("/v1/vardata", (c) => {
    const query = c.req.query();
    const user = v1User(query);
    const flagKeys = flagKeysFromList(query["flag_keys"] ?? query["flag_key"]);
    return respond(c, user, flagKeys, exposures, { includeDefaults: false });
  });

  app.post("/v1/vardata", async (c) => {
    const body = await readJson(c);
    if (body === null || typeof body !== "object" || Array.isArray(body))
      throw new ApiError({ status: 400, message: "Body must be a JSON object" });
    const { flag_keys: keys, flag_key: key, ...rest } = body as Record<string, unknown>;
    const list = keys ?? key;
    if (
      list !== undefined &&
      list !== null &&
      typeof list !== "string" &&
      !(Array.isArray(list) && list.every((k) => typeof k === "string"))
    ) {
      throw new ApiError({
        status: 400,
        message: "flag_keys must be a string or an array of strings",
        details: {
          path: ["flag_keys"],
        },
      });
    }
    const flagKeys = Array.isArray(list)
      ? flagKeysFromList(list.join(","))
      : flagKeysFromList(typeof list === "string" ? list : undefined);
    const user = v1User("context" in rest ? (rest as { context?: unknown }) : { context: rest });
    return respond(c, user, flagKeys, exposures, { includeDefaults: false });
  });

  return app;
}
