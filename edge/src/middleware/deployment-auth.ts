/**
 * Authenticates a request by its deployment (API) key and puts the deployment's
 * compiled flags on the context. Keys come as `Authorization: Api-Key <key>` (what the
 * Amplitude SDKs send; prefix case-insensitive), `Authorization: Bearer <key>` or
 * `X-API-Key: <key>` (common OFREP provider setups).
 */
import type { MiddlewareHandler } from "hono";
import { API_KEY_PATTERN, type KeyType } from "../../../shared/deployment-document.js";
import { ApiError } from "../../../shared/http/errors.js";
import type { EdgeEnv } from "../bindings.js";
import type { FlagStore } from "../flag-store.js";

const AUTHORIZATION = /^\s*(?:api-key|bearer)\s+(\S+)\s*$/i;

export function apiKeyFrom(headers: { get(name: string): string | null | undefined }): string | undefined {
  const authorization = headers.get("authorization");
  if (authorization) return AUTHORIZATION.exec(authorization)?.[1];
  return headers.get("x-api-key")?.trim() || undefined;
}

export interface DeploymentAuthOptions {
  store: FlagStore;
  /** Key types allowed on the route; others get 403. */
  allow?: readonly KeyType[];
}

export const deploymentAuth =
  ({ store, allow }: DeploymentAuthOptions): MiddlewareHandler<EdgeEnv> =>
  async (c, next) => {
    const apiKey = apiKeyFrom(c.req.raw.headers);
    if (!apiKey)
      throw new ApiError({ status: 401, message: "Missing deployment key: send Authorization: Api-Key <key>" });
    const deployment = API_KEY_PATTERN.test(apiKey)
      ? await store.get(c.env.FLAGS, apiKey, (p) => c.executionCtx.waitUntil(p))
      : undefined;
    if (!deployment) throw new ApiError({ status: 401, message: "Unknown deployment key" });
    if (allow && !allow.includes(deployment.keyType)) {
      throw new ApiError({ status: 403, message: `This route needs a ${allow.join(" or ")} deployment key` });
    }
    c.set("deployment", deployment);
    c.set("apiKey", apiKey);
    await next();
  };
