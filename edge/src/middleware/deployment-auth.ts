/**
 * Authenticates a request by its deployment (API) key and puts the deployment's
 * compiled flags on the context. Keys come as `Authorization: Api-Key <key>` (what the
 * Amplitude SDKs send; prefix case-insensitive), `Authorization: Bearer <key>` or
 * `X-API-Key: <key>` (common OFREP provider setups).
 */
import type { Context, MiddlewareHandler } from "hono";
import { API_KEY_PATTERN, type KeyType } from "../../../shared/deployment-document.js";
import { ApiError } from "../../../shared/http/errors.js";
import type { EdgeEnv } from "../bindings.js";
import type { FlagStore, LoadedDeployment } from "../flag-store.js";
import { clientOf, type FailedLookups } from "./failed-lookups.js";

const AUTHORIZATION = /^\s*(?:api-key|bearer)\s+(\S+)\s*$/i;

export function apiKeyFrom(headers: { get(name: string): string | null | undefined }): string | undefined {
  const authorization = headers.get("authorization");
  if (authorization) return AUTHORIZATION.exec(authorization)?.[1];
  return headers.get("x-api-key")?.trim() || undefined;
}

export interface DeploymentAuthOptions {
  store: FlagStore;
  /** Failed lookups per client: past its budget a client gets 429 instead of more KV reads. */
  failures: FailedLookups;
  /** Key types allowed on the route; others get 403. */
  allow?: readonly KeyType[];
}

export const deploymentAuth =
  ({ store, failures, allow }: DeploymentAuthOptions): MiddlewareHandler<EdgeEnv> =>
  async (c, next) => {
    const apiKey = apiKeyFrom(c.req.raw.headers);
    if (!apiKey)
      throw new ApiError({ status: 401, message: "Missing deployment key: send Authorization: Api-Key <key>" });
    const deployment = await lookUpDeployment(c, store, failures, apiKey);
    if (!deployment) throw new ApiError({ status: 401, message: "Unknown deployment key" });
    if (allow && !allow.includes(deployment.keyType)) {
      throw new ApiError({ status: 403, message: `This route needs a ${allow.join(" or ")} deployment key` });
    }
    c.set("deployment", deployment);
    c.set("apiKey", apiKey);
    await next();
  };

/**
 * The key's deployment, or undefined (a failed lookup, counted against the client): 429 once the
 * client has had too many, unless this isolate already holds the key.
 */
export async function lookUpDeployment(
  c: Context<EdgeEnv>,
  store: FlagStore,
  failures: FailedLookups,
  apiKey: string,
): Promise<LoadedDeployment | undefined> {
  const client = clientOf(c.req.raw.headers);
  if (!store.holds(apiKey)) failures.check(client);
  const deployment = API_KEY_PATTERN.test(apiKey)
    ? await store.get(c.env.FLAGS, apiKey, (p) => c.executionCtx.waitUntil(p))
    : undefined;
  if (!deployment) failures.record(client);
  return deployment;
}
