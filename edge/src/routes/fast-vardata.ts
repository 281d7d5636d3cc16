/**
 * `GET /sdk/v2/vardata`, the route nearly every request takes, answered before Hono: no
 * router match, no middleware chain, no Context. It takes only the ordinary case (a key
 * whose deployment this isolate holds fresh, a user and flag keys that decode, an unknown
 * body absent) and hands anything else to the app unchanged, before anything observable has
 * happened (no lookup, no rate-limit count, no evaluation); so every error, CORS preflight,
 * revalidation and 4xx answer is still the app's, from one place. The answer is the same
 * bytes and headers the Hono route gives (CORS's two for a simple request included).
 */
import type { Env } from "../bindings.js";
import type { ExposureRecorder } from "../exposures.js";
import type { FlagStore } from "../flag-store.js";
import { apiKeyFrom } from "../middleware/deployment-auth.js";
import type { BackgroundTasks } from "../queue.js";
import { flagKeysFromHeader, type User, userFromHeader } from "../user.js";
import { answerBody } from "./remote-eval.js";

const PATH = "/sdk/v2/vardata";

/** What the app's route answers with, and what `cors({origin: "*", exposeHeaders: ["ETag"]})` adds. */
const HEADERS: Readonly<Record<string, string>> = {
  "Content-Type": "application/json",
  "Cache-Control": "no-store",
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Expose-Headers": "ETag",
};

/** Whether the URL's path is exactly `path` (a query may follow): no URL object is made. */
export function hasPath(url: string, path: string): boolean {
  const scheme = url.indexOf("://");
  const start = url.indexOf("/", scheme < 0 ? 0 : scheme + 3);
  if (start < 0) return false;
  const query = url.indexOf("?", start);
  const end = query < 0 ? url.length : query;
  return end - start === path.length && url.startsWith(path, start);
}

export type FastPath = (
  request: Request,
  env: Env,
  ctx: BackgroundTasks | undefined,
) => Response | Promise<Response | undefined> | undefined;

export function vardataFastPath(store: FlagStore, exposures: ExposureRecorder): FastPath {
  return (request, env, ctx) => {
    if (request.method !== "GET" || ctx === undefined || request.body !== null || !hasPath(request.url, PATH))
      return undefined;
    const { headers } = request;
    const apiKey = apiKeyFrom(headers);
    const deployment = apiKey === undefined ? undefined : store.fresh(apiKey);
    if (deployment === undefined) return undefined;
    let user: User;
    let flagKeys: string[] | undefined;
    try {
      user = userFromHeader(headers.get("x-amp-exp-user") ?? undefined);
      flagKeys = flagKeysFromHeader(headers.get("x-amp-exp-flag-keys") ?? undefined);
    } catch {
      return undefined; // the app answers it, with the same error
    }
    const answer = () =>
      new Response(
        answerBody({ deployment, env, ctx, headers }, user, flagKeys, exposures, { includeDefaults: true }),
        {
          status: 200,
          headers: HEADERS,
        },
      );
    const limiter = env.RATE_LIMITER;
    if (limiter === undefined) return answer();
    // Over the budget, the app answers (its 429 counts the request once more: the key is over anyway).
    return limiter.limit({ key: apiKey! }).then(({ success }) => (success ? answer() : undefined));
  };
}
