/**
 * A delivery's rows for the event store (pure): every accepted exposure of a running
 * experiment and every accepted metric event, with the stable ids readers de-duplicate by
 * (columns.ts). Nothing here reads or writes.
 */
import { hash as digest } from "node:crypto";
import type { Flag } from "../../../shared/authoring/schema.js";
import type { StoredEvent } from "../../../shared/events.js";
import { ingestTimeOk } from "../../../shared/metric-values.js";
import type { ProjectMessages } from "../ingest/work.js";
import { unitOf } from "../ingest/work.js";
import { BREAKDOWN_PROPERTIES } from "../../../shared/events.js";
import { collectsVariant } from "../releases/collection.js";

/** A row of `exposures`, keyed by column name (columns.ts), with its partition. */
export interface ExposureRow {
  id: string;
  deployment: string;
  experiment_key: string;
  analysis_period: number;
  variant: string;
  unit_id: string;
  user_id: string | null;
  device_id: string | null;
  groups: string | null;
  allocation: string | null;
  source: string;
  time: number;
  untrusted: boolean;
  country: string | null;
  platform: string | null;
  os: string | null;
  app_version: string | null;
  user_properties: string | null;
}

export interface EventRow {
  id: string;
  deployment: string;
  event_type: string;
  user_id: string | null;
  device_id: string | null;
  groups: string | null;
  time: number;
  event_properties: string | null;
}

/** One project's rows of a delivery. */
export interface ProjectRows {
  project: string;
  exposures: ExposureRow[];
  events: EventRow[];
}

/** SHA-256, base64url, first 32 characters; the one-shot `crypto.hash` costs less than a Hash object per row. */
const hash = (text: string) => digest("sha256", text, "base64url").slice(0, 32);

/** An exposure's id: its queue message part and position, stable across redeliveries. */
export const exposureRowId = (partId: string, index: number): string => `x|${hash(`${partId}\n${index}`)}`;

/**
 * An event's id: its `insert_id` within its user or device (as Amplitude scopes it), else a
 * hash of its content and its place (queue message part and position), so a message
 * delivered twice, in any delivery, gives the same rows, while two identical events a client
 * sent in one request (two page views in the same millisecond) stay two, as the DynamoDB
 * path counts them (ingest/work.ts eventIdOf).
 */
export function eventRowId(
  event: StoredEvent,
  partId: string,
  index: number,
  propertiesJson: string | undefined = event.event_properties && JSON.stringify(event.event_properties),
): string {
  if (event.insert_id !== undefined) return `i|${event.user_id ?? ""}|${event.device_id ?? ""}|${event.insert_id}`;
  // JSON.stringify([partId, index, user, device, type, time, groups, properties]), with the
  // properties' JSON (the longest part) made once for both the id and the row.
  const head = JSON.stringify([
    partId,
    index,
    event.user_id ?? null,
    event.device_id ?? null,
    event.event_type,
    event.time,
    event.groups ?? null,
  ]);
  return `h|${hash(`${head.slice(0, -1)},${propertiesJson ?? "null"}]`)}`;
}

const json = (value: Record<string, unknown> | undefined) =>
  value && Object.keys(value).length > 0 ? JSON.stringify(value) : null;

const text = (value: unknown) =>
  typeof value === "string" ? value : typeof value === "number" || typeof value === "boolean" ? String(value) : null;

/**
 * The store's rows of one project's messages: exposures to the running experiments (and
 * guarded releases, releases/collection.ts) they name (a variant the experiment has, served in its current analysis period; untrusted ones
 * kept, flagged), and every event whose time ingest accepts, whatever metrics exist now (a
 * metric added later is computed over them).
 */
export function storeRows(
  project: string,
  messages: ProjectMessages,
  running: ReadonlyMap<string, Flag>,
  now: number,
): ProjectRows {
  const exposures: ExposureRow[] = [];
  for (const { partId, message } of messages.exposures) {
    if (!ingestTimeOk(message.time, now)) continue;
    const properties = message.userProperties;
    const breakdown = Object.fromEntries(BREAKDOWN_PROPERTIES.map((name) => [name, text(properties?.[name])]));
    message.exposures.forEach((exposure, index) => {
      const flag = running.get(exposure.flagKey);
      if (!flag || !exposure.variant || !collectsVariant(flag, exposure.variant)) return;
      const period = flag.analysisPeriods?.at(-1);
      if (period && message.time < Date.parse(period.startedAt)) return; // served before this period began
      const unit = unitOf(flag, message.userId, message.deviceId, message.groups);
      if (!unit) return;
      exposures.push({
        id: exposureRowId(partId, index),
        deployment: message.deployment,
        experiment_key: flag.key,
        analysis_period: Math.max(1, flag.analysisPeriods?.length ?? 1),
        variant: exposure.variant,
        unit_id: unit,
        user_id: message.userId ?? null,
        device_id: message.deviceId ?? null,
        groups: json(message.groups),
        allocation: exposure.allocation ?? null,
        source: message.source,
        time: message.time,
        untrusted: exposure.untrusted === true,
        country: breakdown["country"] ?? null,
        platform: breakdown["platform"] ?? null,
        os: breakdown["os"] ?? null,
        app_version: breakdown["app_version"] ?? null,
        user_properties: json(properties),
      });
    });
  }
  const events: EventRow[] = [];
  for (const { partId, message } of messages.events) {
    message.events.forEach((event, index) => {
      if (!ingestTimeOk(event.time, now)) return;
      const properties = event.event_properties && JSON.stringify(event.event_properties);
      events.push({
        id: eventRowId(event, partId, index, properties),
        deployment: message.deployment,
        event_type: event.event_type,
        user_id: event.user_id ?? null,
        device_id: event.device_id ?? null,
        groups: json(event.groups),
        time: event.time,
        event_properties:
          properties !== undefined && Object.keys(event.event_properties!).length > 0 ? properties : null,
      });
    });
  }
  return { project, exposures, events };
}
