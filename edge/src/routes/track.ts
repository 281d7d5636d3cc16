/**
 * `POST /track`: metric events (Amplitude HTTP API field names), as `{events: [...]}`
 * or a bare array, at most 1,000 per request. Events of type `$exposure` (what browser
 * SDKs send) become exposures, one message per user; the rest travel packed into
 * messages within the queue's size limit (an event may have 48 KiB of JSON).
 * Accepted events go to the queue in the background; the answer is 202 with the count.
 *
 * Times and numbers follow shared/metric-values.ts: an event outside the time window or
 * with a number beyond 1e15 is refused (400 naming it). A client-reported exposure is
 * trusted only if evaluating the flag here, for the event's user (its ids, and its
 * `user_properties` and `groups` when sent), serves the same variant; otherwise it is
 * forwarded marked `untrusted`, and counted as rejected in the report. Anyone holding
 * the public client key can send events, but not move a user into another variant.
 */
import { Hono } from "hono";
import * as z from "zod";
import {
  EXPOSURE_EVENT_TYPE,
  trackEventSchema,
  type EventMessage,
  type Exposure,
  type ExposureMessage,
  type QueueMessage,
  type StoredEvent,
  type TrackEvent,
} from "../../../shared/events.js";
import { userToContext, type CompiledFlagSet } from "../../../shared/evaluation/index.js";
import { ApiError, parseOr400 } from "../../../shared/http/errors.js";
import { readJson } from "../../../shared/http/read-json.js";
import { oversizedNumber, trackTimeProblem } from "../../../shared/metric-values.js";
import type { EdgeEnv } from "../bindings.js";
import type { LoadedDeployment } from "../flag-store.js";
import { exposureMessage, type MessageSource } from "../exposures.js";
import {
  chunkBySize,
  enqueue,
  fitExposureMessage,
  cloneBytesBound,
  QUEUE_MESSAGE_BYTES,
  QUEUE_MESSAGE_JSON_CHARS,
  type BackgroundTasks,
} from "../queue.js";
import { checkDepth, depthOf, groupsProblem, MAX_DEPTH } from "../user.js";

export const MAX_EVENTS = 1000;
/** How deep an event's field may nest: what fits in `/track`'s body depth (body → events → event → field). */
export const MAX_EVENT_FIELD_DEPTH = MAX_DEPTH - 3;

/** The first field of an event nested deeper than `MAX_EVENT_FIELD_DEPTH`, if any (walked without recursion). */
export function tooDeepField(event: Record<string, unknown>): string | undefined {
  return Object.keys(event).find((field) => depthOf(event[field]) > MAX_EVENT_FIELD_DEPTH);
}

const eventsSchema = z
  .array(trackEventSchema)
  .min(1, "at least one event")
  .max(MAX_EVENTS, `at most ${MAX_EVENTS} events`);
// A bare array is read as `{events: [...]}`, so error paths always start at `events`.
const bodySchema = z.preprocess(
  (body) => (Array.isArray(body) ? { events: body } : body),
  z.object({ events: eventsSchema }),
);

// Bounded like the flag keys of remote evaluation, so one exposure always fits in a queue message.
const exposurePropertiesSchema = z.object({
  flag_key: z.string().min(1).max(512),
  variant: z.string().max(512).optional(),
  experiment_key: z.string().max(512).optional(),
});

/**
 * Whether the edge itself serves this variant of the flag to the event's user, and the
 * allocation it serves it under.
 */
function confirmed(
  compiled: CompiledFlagSet,
  event: TrackEvent,
  flagKey: string,
  variant: string | undefined,
): { allocation?: string | undefined } | undefined {
  if (variant === undefined) return {}; // "unset": nothing to count
  const user = {
    ...(event.user_id === undefined ? {} : { user_id: event.user_id }),
    ...(event.device_id === undefined ? {} : { device_id: event.device_id }),
    ...(event.user_properties ? { user_properties: event.user_properties } : {}),
    ...(event.groups ? { groups: event.groups } : {}),
  };
  const served = compiled.evaluateWithReasons(userToContext(user as Parameters<typeof userToContext>[0]), [flagKey])[
    flagKey
  ];
  return served?.variant.key === variant ? { allocation: served.exposure?.allocation } : undefined;
}

/** `$exposure` events, grouped into one message per user. */
function exposureMessages(
  origin: MessageSource,
  compiled: CompiledFlagSet,
  events: Array<{ event: TrackEvent; index: number }>,
  now: number,
): ExposureMessage[] {
  const byUser = new Map<string, ExposureMessage>();
  for (const { event, index } of events) {
    const properties = parseOr400(
      exposurePropertiesSchema,
      event.event_properties ?? {},
      `$exposure event ${index} event_properties`,
    );
    const who = `${event.user_id ?? ""}\u0000${event.device_id ?? ""}`;
    const served = confirmed(compiled, event, properties.flag_key, properties.variant);
    const exposure: Exposure = {
      flagKey: properties.flag_key,
      ...(properties.variant === undefined ? {} : { variant: properties.variant }),
      ...(properties.experiment_key === undefined ? {} : { experimentKey: properties.experiment_key }),
      ...(served ? (served.allocation ? { allocation: served.allocation } : {}) : { untrusted: true as const }),
    };
    const existing = byUser.get(who);
    if (existing) existing.exposures.push(exposure);
    else byUser.set(who, exposureMessage(origin, event, [exposure], "client", event.time ?? now)[0]!);
  }
  return [...byUser.values()].flatMap(fitExposureMessage);
}

/** An event that passed the policy below, with its JSON size (measured once: for the limit and for packing). */
export interface CheckedEvent {
  event: TrackEvent;
  size: number;
}

/**
 * The time, number and size policy for one event (shared/metric-values.ts): the event with
 * its size, or the error naming the event's index and the field at fault.
 */
export function checkEvent(
  event: TrackEvent,
  index: number,
  now: number,
): CheckedEvent | { problem: ApiError; field: "time" | "groups" | "event_properties" } {
  const timeProblem = event.time === undefined ? undefined : trackTimeProblem(event.time, now);
  if (timeProblem)
    return {
      field: "time",
      problem: new ApiError({
        status: 400,
        message: `Event ${index}: ${timeProblem}`,
        details: {
          path: ["events", String(index), "time"],
        },
      }),
    };
  const groups = groupsProblem(event.groups);
  if (groups)
    return {
      field: "groups",
      problem: new ApiError({
        status: 400,
        message: `Event ${index}: ${groups}`,
        details: { path: ["events", String(index), "groups"] },
      }),
    };
  const oversized = oversizedNumber(event.event_properties);
  if (oversized) {
    const problem = new ApiError({
      status: 400,
      message: `Event ${index}: event_properties.${oversized.join(".")} is beyond ±1e15`,
      details: { path: ["events", String(index), "event_properties", ...oversized] },
    });
    return { field: "event_properties", problem };
  }
  const size = cloneBytesBound(event);
  if (size > QUEUE_MESSAGE_BYTES) {
    return {
      field: "event_properties",
      problem: new ApiError({
        status: 413,
        message: `Event ${index} is larger than ${QUEUE_MESSAGE_JSON_CHARS / 1024} KiB of JSON`,
        details: { path: ["events", String(index)] },
      }),
    };
  }
  return { event, size };
}

/**
 * Accepts checked events for a deployment: `$exposure` events confirmed and sent as
 * exposures, the rest packed into event messages; all queued in the background. Shared by
 * `/track` and the Amplitude HTTP API routes.
 */
export function acceptEvents(
  ctx: BackgroundTasks,
  queue: Queue<QueueMessage>,
  loaded: LoadedDeployment,
  checked: readonly CheckedEvent[],
  now: number,
): void {
  const { project, deployment, compiled, breakdownProperties } = loaded;
  const origin = { project, deployment, breakdownProperties };
  const exposures: Array<{ event: TrackEvent; index: number }> = [];
  const metrics: StoredEvent[] = [];
  const sizes: number[] = [];
  checked.forEach(({ event, size }, index) => {
    if (event.event_type === EXPOSURE_EVENT_TYPE) exposures.push({ event, index });
    else {
      metrics.push({ ...event, time: event.time ?? now });
      sizes.push(size);
    }
  });
  // Metric events travel packed into as few messages as the per-message size allows.
  const from = { ...(project ? { project } : {}), deployment };
  const eventMessages: EventMessage[] = chunkBySize(metrics, (_, i) => sizes[i]!, QUEUE_MESSAGE_BYTES).map((run) => ({
    type: "events",
    ...from,
    events: run,
  }));
  const messages: QueueMessage[] = [...exposureMessages(origin, compiled, exposures, now), ...eventMessages];
  enqueue(ctx, queue, messages);
}

/** A 400 naming the first event with a field nested too deep (before anything walks the events). */
function refuseDeepEvents(body: unknown): void {
  const events = Array.isArray(body) ? body : (body as { events?: unknown } | null)?.events;
  if (!Array.isArray(events)) return;
  events.forEach((event: unknown, index) => {
    if (event === null || typeof event !== "object" || Array.isArray(event)) return;
    const field = tooDeepField(event as Record<string, unknown>);
    if (field)
      throw new ApiError({
        status: 400,
        message: `Event ${index}: ${field} is nested deeper than ${MAX_EVENT_FIELD_DEPTH} levels`,
        details: { path: ["events", String(index), field] },
      });
  });
}

export function track(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  app.post("/track", async (c) => {
    const raw = await readJson(c);
    refuseDeepEvents(raw);
    checkDepth(raw, "The request body");
    const { events } = parseOr400(bodySchema, raw, "events");
    const now = Date.now();
    const checked = events.map((event, index) => {
      const result = checkEvent(event, index, now);
      if ("problem" in result) throw result.problem;
      return result;
    });
    acceptEvents(c.executionCtx, c.env.EVENTS, c.get("deployment"), checked, now);
    return c.json({ accepted: events.length }, 202);
  });
  return app;
}
