/**
 * What travels from the edge to the stats service through the queue: exposures
 * (a user was served a variant of an experiment) and metric events (`/track`).
 * Both producers (edge) and the consumer (stats) validate against these schemas.
 */
import * as z from "zod";

const id = z.string().min(1).max(1024);

export {
  BREAKDOWN_PROPERTIES,
  type BreakdownProperty,
  MAX_BREAKDOWN_VALUE_CHARS,
} from "./breakdown-properties.js";

/** The event type under which browser SDKs report exposures. */
export const EXPOSURE_EVENT_TYPE = "$exposure";

/**
 * Messages group what one request produced: Cloudflare Queues limit and bill per
 * message (5,000 messages/s per queue), and one remote evaluation can expose a user to
 * dozens of experiments at once.
 */
export const exposureSchema = z.object({
  flagKey: z.string(),
  variant: z.string().optional(),
  experimentKey: z.string().optional(),
  /**
   * A client-reported exposure the edge could not confirm (its re-evaluation served the
   * user something else): counted in the report's data quality, never as an exposure.
   */
  untrusted: z.literal(true).optional(),
  /** The shares the serving segment assigns (`control=90,treatment=10`): what the sample-ratio check expects. */
  allocation: z.string().max(4000).optional(),
});
export type Exposure = z.infer<typeof exposureSchema>;

/** One user's exposures from one request. */
export const exposureMessageSchema = z.object({
  type: z.literal("exposures"),
  project: z.string().optional(),
  deployment: z.string(),
  userId: z.string().optional(),
  deviceId: z.string().optional(),
  time: z.number().int(),
  /** The user's groups (type → name): group-bucketed experiments are analysed per group. */
  groups: z.record(z.string(), z.string()).optional(),
  /**
   * The user's properties the project breaks results down by (country, platform, os,
   * app_version, …), when the edge knows them: kept with the exposure in the event store.
   */
  userProperties: z.record(z.string().max(100), z.union([z.string().max(1024), z.number(), z.boolean()])).optional(),
  source: z.enum(["remote-evaluation", "client", "cdn"]),
  exposures: z.array(exposureSchema).min(1),
});
export type ExposureMessage = z.infer<typeof exposureMessageSchema>;

/** A metric event in the queue: as the edge accepted it, with its time set. */
export const storedEventSchema = z.object({
  user_id: z.string().optional(),
  device_id: z.string().optional(),
  event_type: z.string(),
  time: z.number().int(),
  event_properties: z.record(z.string(), z.unknown()).optional(),
  /** Amplitude's `groups` (type → name or names): how an event finds its group. */
  groups: z.record(z.string(), z.unknown()).optional(),
  insert_id: z.string().optional(),
});
export type StoredEvent = z.infer<typeof storedEventSchema>;

/**
 * An event as clients send it to `POST /track` (Amplitude HTTP API field names): the stored
 * event with the request's bounds, `time` optional (the edge's clock), and the user's
 * properties, which `$exposure` events are re-evaluated with and which are not stored.
 */
export const trackEventSchema = storedEventSchema
  .extend({
    user_id: id.optional(),
    device_id: id.optional(),
    event_type: z.string().min(1).max(1024),
    time: z.number().int().nonnegative().optional(),
    user_properties: z.record(z.string(), z.unknown()).optional(),
    insert_id: z.string().min(1).max(256).optional(),
  })
  .refine((event) => event.user_id !== undefined || event.device_id !== undefined, {
    message: "user_id or device_id is required",
    path: ["user_id"],
  });
export type TrackEvent = z.infer<typeof trackEventSchema>;

/** Metric events from one `/track` request (split when they exceed one message). */
export const eventMessageSchema = z.object({
  type: z.literal("events"),
  project: z.string().optional(),
  deployment: z.string(),
  events: z.array(storedEventSchema).min(1),
});
export type EventMessage = z.infer<typeof eventMessageSchema>;

const singleMessageSchema = z.discriminatedUnion("type", [exposureMessageSchema, eventMessageSchema]);
export type SingleMessage = z.infer<typeof singleMessageSchema>;

/** Messages an isolate buffered, packed into one queue message (see `edge/src/queue.ts` for the size bound). */
export const batchMessageSchema = z.object({ type: z.literal("batch"), messages: z.array(singleMessageSchema).min(1) });

export const queueMessageSchema = z.discriminatedUnion("type", [
  exposureMessageSchema,
  eventMessageSchema,
  batchMessageSchema,
]);
/**
 * What an edge isolate's buffer sends (edge/src/queue.ts): single messages as JSON lines, one
 * string, written when each request's exposures were recorded, so that neither the request nor
 * the flush copies or clones an object per exposure. `work` counts the exposures and events in
 * it. Never sent to the stats service: the queue consumer hands it on as the `batch` its lines
 * make (edge/src/queue-consumer.ts), which is what `queueMessageSchema` validates.
 */
export interface LinesMessage {
  type: "lines";
  lines: string;
  work: number;
}

export type QueueMessage = z.infer<typeof queueMessageSchema> | LinesMessage;

/**
 * A user's group of a type, as evaluation reads it (the first name when several are
 * given): `{company_id: "acme"}` or `{company_id: ["acme"]}` → "acme".
 */
export function groupName(groups: Record<string, unknown> | undefined, type: string): string | undefined {
  const value = groups?.[type];
  const name = Array.isArray(value) ? value[0] : value;
  return typeof name === "string" && name.length > 0 ? name : typeof name === "number" ? String(name) : undefined;
}

/** The messages a queue message carries: itself, or the contents of a batch (or of lines). */
export const unpack = (message: QueueMessage): SingleMessage[] =>
  message.type === "batch"
    ? message.messages
    : message.type === "lines"
      ? message.lines.split("\n").map((line) => JSON.parse(line) as SingleMessage)
      : [message];
