/**
 * `GET /sdk/stream/v1/flags` (server keys): the deployment's flag configs as server-sent
 * events, from the key's FlagStreamHub. `POST /internal/flag-streams`: the publisher hands
 * each hub the document it just published (signed like the stats service's deliveries).
 */
import { Hono } from "hono";
import * as z from "zod";
import { API_KEY_PATTERN } from "../../../shared/deployment-document.js";
import { ApiError, parseOr400 } from "../../../shared/http/errors.js";
import { readSignedJson, SIGNATURE_HEADER } from "../../../shared/ingest-signature.js";
import type { EdgeEnv, Env } from "../bindings.js";

const notificationSchema = z.object({
  updates: z.array(z.object({ key: z.string().regex(API_KEY_PATTERN), document: z.string().nullable() })).max(100),
});

const hubOf = (namespace: DurableObjectNamespace, apiKey: string) => namespace.get(namespace.idFromName(apiKey));

function streams(env: Env): DurableObjectNamespace {
  if (!env.FLAG_STREAMS)
    throw new ApiError({ status: 404, message: "Flag streaming is not configured on this edge: poll /sdk/v2/flags" });
  return env.FLAG_STREAMS;
}

export function flagStream(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  app.get("/sdk/stream/v1/flags", (c) =>
    hubOf(streams(c.env), c.get("apiKey")).fetch("https://hub/stream", { headers: { "x-api-key": c.get("apiKey") } }),
  );
  return app;
}

export function flagStreamNotifications(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  app.post("/internal/flag-streams", async (c) => {
    if (!c.env.STREAM_NOTIFY_SECRET) throw new ApiError({ status: 404, message: "Not found" });
    const body = await readSignedJson(
      c.env.STREAM_NOTIFY_SECRET,
      c.req.header(SIGNATURE_HEADER),
      await c.req.text(),
      "Notification",
    );
    const { updates } = parseOr400(notificationSchema, body, "notification");
    const namespace = streams(c.env);
    await Promise.all(
      updates.map(({ key, document }) =>
        hubOf(namespace, key).fetch("https://hub/notify", {
          method: "POST",
          headers: { "x-api-key": key },
          body: document ?? "",
        }),
      ),
    );
    return c.body(null, 204);
  });
  return app;
}
