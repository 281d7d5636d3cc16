/**
 * LaunchDarkly's Cloudflare SDK as its docs set it up: flag data in KV (`LD-Env-<client-side id>`),
 * one client per isolate, `allFlagsState` per request for the user in `X-User` (base64url JSON).
 */
import { init } from "@launchdarkly/cloudflare-server-sdk";

type LDClient = ReturnType<typeof init>;
let client: LDClient | undefined;

export default {
  async fetch(request: Request, env: { LD_KV: KVNamespace }): Promise<Response> {
    client ??= init("bench-client-side-id", env.LD_KV);
    await client.waitForInitialization();
    const encoded = request.headers.get("x-user") ?? "";
    const user = JSON.parse(atob(encoded.replace(/-/g, "+").replace(/_/g, "/"))) as {
      user_id: string;
      device_id: string;
      country: string;
      user_properties: Record<string, unknown>;
    };
    const state = await client.allFlagsState({
      kind: "user",
      key: user.user_id,
      deviceId: user.device_id,
      country: user.country,
      ...user.user_properties,
    });
    return new Response(JSON.stringify(state.allValues()), { headers: { "content-type": "application/json" } });
  },
};
