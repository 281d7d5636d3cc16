/**
 * `POST /track`: metric events (Amplitude HTTP API field names), as `{events: [...]}`
 * or a bare array, at most 1,000 per request. Events of type `$exposure` (what browser
 * SDKs send) become exposures. Accepted events go to the queue in the background;
 * the answer is 202 with the count.
 */
import { Hono } from "hono";
import * as z from "zod"; // namespace import: lets the bundler drop the unused parts of zod
import { EXPOSURE_EVENT_TYPE, trackEventSchema, type QueueMessage, type TrackEvent } from "../../../shared/events.js";
import { ApiError, parseOr400, readJson } from "../../../shared/http/errors.js";
import type { EdgeEnv } from "../bindings.js";
import { enqueue, QUEUE_MESSAGE_BYTES } from "../exposures.js";
import { checkDepth } from "../user.js";

export const MAX_EVENTS = 1000;

const eventsSchema = z.array(trackEventSchema).min(1, "at least one event").max(MAX_EVENTS, `at most ${MAX_EVENTS} events`);
// A bare array is read as `{events: [...]}`, so error paths always start at `events`.
const bodySchema = z.preprocess((body) => (Array.isArray(body) ? { events: body } : body), z.object({ events: eventsSchema }));

const exposurePropertiesSchema = z.object({
  flag_key: z.string().min(1),
  variant: z.string().optional(),
  experiment_key: z.string().optional(),
});

function toMessage(deployment: string, event: TrackEvent, index: number, now: number): QueueMessage {
  const time = event.time ?? now;
  if (event.event_type !== EXPOSURE_EVENT_TYPE) return { type: "event", deployment, event: { ...event, time } };
  const exposure = parseOr400(exposurePropertiesSchema, event.event_properties ?? {}, `$exposure event ${index} event_properties`);
  return {
    type: "exposure",
    deployment,
    flagKey: exposure.flag_key,
    ...(exposure.variant === undefined ? {} : { variant: exposure.variant }),
    ...(exposure.experiment_key === undefined ? {} : { experimentKey: exposure.experiment_key }),
    ...(event.user_id === undefined ? {} : { userId: event.user_id }),
    ...(event.device_id === undefined ? {} : { deviceId: event.device_id }),
    time,
    source: "client",
  };
}

export function track(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  app.post("/track", async (c) => {
    const raw = await readJson(c);
    checkDepth(raw, "The request body");
    const body = parseOr400(bodySchema, raw, "events");
    const events = body.events;
    const now = Date.now();
    const deployment = c.get("deployment").deployment;
    const messages = events.map((event, index) => {
      const message = toMessage(deployment, event, index, now);
      if (JSON.stringify(message).length > QUEUE_MESSAGE_BYTES) {
        throw new ApiError(413, "payload_too_large", `Event ${index} is larger than ${QUEUE_MESSAGE_BYTES / 1024} KiB`, { path: ["events", String(index)] });
      }
      return message;
    });
    enqueue(c.executionCtx, c.env.EVENTS, messages);
    return c.json({ accepted: messages.length }, 202);
  });
  return app;
}
