/**
 * Per deployment key rate limiting through the Workers Rate Limiting binding
 * (`[[ratelimits]]` in wrangler.toml): over its budget a key gets 429 with
 * `Retry-After`, which the OFREP providers and the Amplitude SDKs back off on. Counts
 * are per Cloudflare location and approximate, as the binding's are. Without the
 * binding nothing is limited. Runs after deployment-auth, so only known keys count.
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../../shared/http/errors.js";
import type { EdgeEnv } from "../bindings.js";

/** The binding's window is 10 or 60 seconds; a client retrying after 10 s finds a new one. */
const RETRY_AFTER_SECONDS = "10";

export const rateLimit = (): MiddlewareHandler<EdgeEnv> => async (c, next) => {
  const limiter = c.env.RATE_LIMITER;
  if (limiter) {
    const { success } = await limiter.limit({ key: c.var.apiKey });
    if (!success)
      throw new ApiError({
        status: 429,
        message: "Too many requests for this deployment key; retry later",
        headers: {
          "Retry-After": RETRY_AFTER_SECONDS,
        },
      });
  }
  await next();
};
