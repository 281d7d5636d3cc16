/**
 * Amplitude's HTTP API, for the official analytics SDKs (and the experiment SDKs' exposure
 * tracking) pointed at the edge with `serverUrl`: `POST /2/httpapi` and `POST /batch`, body
 * `{"api_key", "events": [...], "options"?}`, with a deployment key as `api_key`. Events go
 * into the same pipeline as `/track` (`$exposure`, and the experiment SDKs' `[Experiment]
 * Exposure`, under the same trust rules). Answers take
 * Amplitude's shapes: 200 `{code, events_ingested, payload_size_bytes, server_upload_time}`;
 * 400 with `missing_field`, `events_with_missing_fields` and `events_with_invalid_fields`
 * (field → event indexes); 413; 429 with `Retry-After`. Events need an `event_type` and a
 * `user_id` or `device_id` (Amplitude's minimum id length is not enforced), and no field
 * nested deeper than `/track` allows (400 naming the event and the field).
 */
import { Hono, type Context } from "hono";
import { EXPOSURE_EVENT_TYPE, trackEventSchema } from "../../../shared/events.js";
import type { EdgeEnv } from "../bindings.js";
import { ApiError } from "../../../shared/http/errors.js";
import type { FlagStore, LoadedDeployment } from "../flag-store.js";
import { lookUpDeployment } from "../middleware/deployment-auth.js";
import type { FailedLookups } from "../middleware/failed-lookups.js";
import {
  acceptEvents,
  checkEvent,
  MAX_EVENT_FIELD_DEPTH,
  MAX_EVENTS,
  tooDeepField,
  type CheckedEvent,
} from "./track.js";

/** Amplitude's limit for one request to /2/httpapi is 1 MB of body. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The experiment SDKs' exposure event (`exposureConfig` of `@amplitude/experiment-node-server`:
 * `[Experiment] Exposure` with `[Experiment] Flag Key` and `[Experiment] Variant`) as the
 * `$exposure` event the pipeline takes, so a local evaluation's exposure counts like a browser
 * SDK's, under the same trust rule (the edge must serve that variant to that user).
 */
function fromExperimentSdk(raw: unknown): unknown {
  if (!raw || typeof raw !== "object" || (raw as { event_type?: unknown }).event_type !== SDK_EXPOSURE_EVENT)
    return raw;
  const event = raw as Record<string, unknown>;
  const properties = (
    event["event_properties"] && typeof event["event_properties"] === "object" ? event["event_properties"] : {}
  ) as Record<string, unknown>;
  const { user_properties: _userProperties, ...rest } = event; // its $set/$unset of "[Experiment] <flag>" properties
  return {
    ...rest,
    event_type: EXPOSURE_EVENT_TYPE,
    event_properties: {
      flag_key: properties["[Experiment] Flag Key"],
      ...(properties["[Experiment] Variant"] === undefined ? {} : { variant: properties["[Experiment] Variant"] }),
      ...(properties["[Experiment] Experiment Key"] === undefined
        ? {}
        : { experiment_key: properties["[Experiment] Experiment Key"] }),
    },
  };
}
const SDK_EXPOSURE_EVENT = "[Experiment] Exposure";

type FieldIndexes = Record<string, number[]>;
const note = (fields: FieldIndexes, field: string, index: number) => void (fields[field] ??= []).push(index);

const answer = (
  c: Context<EdgeEnv>,
  status: 200 | 400 | 413 | 429,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
) => c.json({ code: status, ...body }, status, headers);

export function amplitudeHttpApi(store: FlagStore, failures: FailedLookups): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  const handle = async (c: Context<EdgeEnv>) => {
    const text = await c.req.text();
    const size = new TextEncoder().encode(text).length;
    if (size > MAX_BODY_BYTES) return answer(c, 413, { error: "Payload too large" });
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return answer(c, 400, { error: "Invalid JSON request body" });
    }
    const { api_key: apiKey, events } = (body && typeof body === "object" ? body : {}) as {
      api_key?: unknown;
      events?: unknown;
    };
    if (typeof apiKey !== "string" || apiKey === "")
      return answer(c, 400, { error: "Request missing required field", missing_field: "api_key" });
    if (!Array.isArray(events) || events.length === 0)
      return answer(c, 400, { error: "Request missing required field", missing_field: "events" });
    if (events.length > MAX_EVENTS)
      return answer(c, 413, { error: `Payload too large: at most ${MAX_EVENTS} events a request` });
    let deployment: LoadedDeployment | undefined;
    try {
      deployment = await lookUpDeployment(c, store, failures, apiKey);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 429) throw error;
      return answer(c, 429, { error: error.message, throttled_events: [] }, error.headers);
    }
    if (!deployment) return answer(c, 400, { error: "Invalid API key" });
    const limiter = c.env.RATE_LIMITER;
    if (limiter && !(await limiter.limit({ key: apiKey })).success) {
      return answer(
        c,
        429,
        { error: "Too many requests for this API key", throttled_events: [] },
        { "Retry-After": "10" },
      );
    }

    const missing: FieldIndexes = {};
    const invalid: FieldIndexes = {};
    const accepted: CheckedEvent[] = [];
    const now = Date.now();
    const problems: string[] = [];
    events.map(fromExperimentSdk).forEach((raw: unknown, index) => {
      const fields = raw && typeof raw === "object" && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
      // Before anything walks the event: a value nested thousands deep overflows recursive code
      // (a 500) or the queue's serializer (a failed send that took the request's good events with it).
      const deep = tooDeepField(fields);
      if (deep) {
        note(invalid, deep, index);
        problems.push(`Event ${index}: ${deep} is nested deeper than ${MAX_EVENT_FIELD_DEPTH} levels`);
        return;
      }
      const parsed = trackEventSchema.safeParse(raw);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          const field = String(issue.path[0] ?? "event");
          if (fields[field] === undefined && (field !== "user_id" || fields["device_id"] === undefined))
            note(missing, field, index);
          else note(invalid, field, index);
        }
        return;
      }
      const result = checkEvent(parsed.data, index, now);
      if ("problem" in result) note(invalid, result.field, index);
      else accepted.push(result);
    });
    if (Object.keys(missing).length || Object.keys(invalid).length) {
      return answer(c, 400, {
        error: Object.keys(missing).length
          ? "Request missing required field"
          : (problems[0] ?? "Invalid field values on some events"),
        ...(Object.keys(missing).length ? { events_with_missing_fields: missing } : {}),
        ...(Object.keys(invalid).length ? { events_with_invalid_fields: invalid } : {}),
      });
    }
    acceptEvents(c.executionCtx, c.env.EVENTS, deployment, accepted, now);
    return answer(c, 200, { events_ingested: accepted.length, payload_size_bytes: size, server_upload_time: now });
  };
  app.post("/2/httpapi", handle);
  app.post("/batch", handle);
  return app;
}
