/** GrowthBook's edge app for Cloudflare, as its example worker runs it: a proxy in front of PROXY_TARGET. */
import { handleRequest, type Env } from "@growthbook/edge-cloudflare";

export default {
  fetch: (request: Request, env: Env) => handleRequest(request, env),
};
