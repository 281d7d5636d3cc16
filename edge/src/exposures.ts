/**
 * Exposures and events leave the request through the queue, in `ctx.waitUntil`, so a
 * slow or failing queue never delays or fails a response. Exposures are deduplicated
 * per user, flag and variant within the isolate (the stats service deduplicates
 * across isolates anyway: only a user's first exposure counts), and a request's
 * exposures travel as one message.
 */
import type { Outcome } from "../../shared/evaluation/index.js";
import {
  BREAKDOWN_PROPERTIES,
  type BreakdownProperty,
  groupName,
  MAX_BREAKDOWN_VALUE_CHARS,
  type Exposure,
  type ExposureMessage,
  type QueueMessage,
} from "../../shared/events.js";
import { fitExposureMessage, PAGE_CHARS, QueueBuffer, type BackgroundTasks } from "./queue.js";
import type { User } from "./user.js";

/**
 * Remembers which exposures this isolate recently sent for each user: between
 * `capacity`/2 and `capacity` users. Exposures are compared by identity: each is a
 * frozen object built once per (flag, variant) when the flag set is compiled, so a
 * lookup allocates nothing but the user's key (string keys per exposure made the
 * garbage collector the tail of remote evaluation). A new flag set version means
 * new objects, so its exposures are sent once more; the stats service keeps only a
 * user's first exposure anyway. Two generations of maps: when the current one is half
 * full it becomes the previous one and the oldest is dropped whole.
 */
export class ExposureDedup {
  private current = new Map<string, Exposure[]>();
  private previous = new Map<string, Exposure[]>();
  constructor(
    private readonly capacity = 10_000,
    /** A user's list is cleared past this many (stale versions' exposures pile up otherwise). */
    private readonly perUser = 256,
  ) {}

  /** Keeps only the exposures this user was not seen with before. */
  filter(deployment: string, user: Pick<User, "user_id" | "device_id">, exposures: readonly Exposure[]): Exposure[] {
    const seen = this.seenBy(deployment, user);
    return exposures.filter((exposure) => this.remember(seen, exposure));
  }

  /** What this user was seen with (the list `remember` takes). */
  seenBy(deployment: string, user: Pick<User, "user_id" | "device_id">): Exposure[] {
    return this.seenFor(`${deployment}\u0000${user.user_id ?? ""}\u0000${user.device_id ?? ""}`);
  }

  /** Whether the exposure is new to the user whose list `seen` is (and is now remembered). */
  remember(seen: Exposure[], exposure: Exposure): boolean {
    if (seen.includes(exposure)) return false;
    if (seen.length >= this.perUser) seen.length = 0;
    seen.push(exposure);
    return true;
  }

  private seenFor(who: string): Exposure[] {
    const recent = this.current.get(who);
    if (recent) return recent;
    const seen = this.previous.get(who) ?? [];
    if (this.current.size >= this.capacity / 2) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(who, seen);
    return seen;
  }
}

/**
 * Where a message comes from: the project (when the document names it) and deployment, and
 * the project's own breakdown properties (read once per loaded document).
 */
export interface MessageSource {
  project?: string | undefined;
  deployment: string;
  breakdownProperties?: readonly string[] | undefined;
}

/**
 * Who was exposed: ids, groups as evaluation saw them (group-bucketed experiments count
 * groups), and what the breakdowns read (the user's fields and properties).
 */
export type ExposedUser = Pick<User, "user_id" | "device_id"> & {
  groups?: Record<string, unknown> | null | undefined;
  user_properties?: Record<string, unknown> | null | undefined;
  [field: string]: unknown;
};

/**
 * The breakdown properties (shared/events.ts BREAKDOWN_PROPERTIES) as the Amplitude user
 * carries them: top-level fields (`country`, `platform`, `os`, and `version` for the app's),
 * else user properties of the same names; then the project's own (`configured`, from the
 * deployment document), as a top-level field or a user property of that name. Strings,
 * numbers and booleans only, each cut to 100 characters: the message stays small.
 */
const AMPLITUDE_FIELDS: Readonly<Record<BreakdownProperty, readonly string[]>> = {
  country: ["country"],
  platform: ["platform"],
  os: ["os"],
  app_version: ["version", "app_version"],
};

const valueText = (value: unknown): string | undefined =>
  (typeof value === "string" && value !== "") || (typeof value === "number" && Number.isFinite(value))
    ? String(value).slice(0, MAX_BREAKDOWN_VALUE_CHARS)
    : typeof value === "boolean"
      ? String(value)
      : undefined;

export function breakdownOf(user: ExposedUser, configured: readonly string[] = []): Record<string, string> | undefined {
  const found: Record<string, string> = {};
  const properties = user.user_properties;
  for (const property of BREAKDOWN_PROPERTIES) {
    for (const field of AMPLITUDE_FIELDS[property]) {
      const value = valueText(user[field] ?? properties?.[field]);
      if (value !== undefined) {
        found[property] = value;
        break;
      }
    }
  }
  for (const property of configured) {
    const value = valueText(user[property] ?? properties?.[property]);
    if (value !== undefined) found[property] = value;
  }
  return Object.keys(found).length > 0 ? found : undefined;
}

/** The first name of each of the user's group types. */
function groupNames(groups: ExposedUser["groups"]): Record<string, string> | undefined {
  if (!groups) return undefined;
  const names: Record<string, string> = {};
  for (const type of Object.keys(groups)) {
    const name = groupName(groups, type);
    if (name !== undefined) names[type] = name;
  }
  return Object.keys(names).length > 0 ? names : undefined;
}

/** A message for a user's new exposures (several when they exceed one), or nothing when there are none. */
export function exposureMessage(
  from: MessageSource,
  user: ExposedUser,
  exposures: Exposure[],
  source: ExposureMessage["source"],
  time = Date.now(),
): ExposureMessage[] {
  if (exposures.length === 0) return [];
  return fitExposureMessage({ ...exposureHeader(from, user, source, time), exposures });
}

/** An exposure message but its exposures: who, where from, when. */
export function exposureHeader(
  { project, deployment, breakdownProperties }: MessageSource,
  user: ExposedUser,
  source: ExposureMessage["source"],
  time: number,
): Omit<ExposureMessage, "exposures"> {
  const groups = groupNames(user.groups);
  const userProperties = breakdownOf(user, breakdownProperties);
  return {
    type: "exposures",
    ...(project ? { project } : {}),
    deployment,
    ...(user.user_id ? { userId: user.user_id } : {}),
    ...(user.device_id ? { deviceId: user.device_id } : {}),
    ...(groups ? { groups } : {}),
    ...(userProperties ? { userProperties } : {}),
    time,
    source,
  };
}

/**
 * Each exposure's JSON with a leading comma (`,{"flagKey":…}`), made once: exposures are frozen
 * objects built once per (flag, variant) when the flag set is compiled, so a request's line
 * is concatenated from these, never stringified exposure by exposure.
 */
const exposureJson = new WeakMap<Exposure, string>();
function commaExposureJson(exposure: Exposure): string {
  let json = exposureJson.get(exposure);
  if (json === undefined) exposureJson.set(exposure, (json = `,${JSON.stringify(exposure)}`));
  return json;
}

/** The JSON of an exposure message up to its exposures' list: `{…,"exposures":[`. */
function linePrefix(header: Omit<ExposureMessage, "exposures">): string {
  const json = JSON.stringify(header);
  return `${json.slice(0, -1)},"exposures":[`;
}

/**
 * What every route that serves variants does with them: the exposures of the outcomes
 * served (built at compile time), less those this isolate already sent for the user,
 * as one line of JSON (an exposure message, `exposureMessage`'s) appended to the isolate's
 * buffer; a user's exposures past one queue message's size go on as further lines. The
 * request's work is its own exposures': no object per exposure, nothing that grows with the
 * buffer (edge/src/queue.ts, QueueBuffer).
 */
export class ExposureRecorder {
  constructor(
    private readonly dedup = new ExposureDedup(),
    private readonly buffer = new QueueBuffer(),
  ) {}

  record(
    ctx: BackgroundTasks,
    queue: Queue<QueueMessage>,
    from: MessageSource,
    user: ExposedUser,
    served: Iterable<Outcome | undefined>,
    source: ExposureMessage["source"],
  ): void {
    let seen: Exposure[] | undefined;
    let prefix: string | undefined;
    let line = "";
    let count = 0;
    for (const outcome of served) {
      const exposure = outcome?.exposure;
      if (exposure === undefined) continue;
      seen ??= this.dedup.seenBy(from.deployment, user);
      if (!this.dedup.remember(seen, exposure)) continue;
      const json = commaExposureJson(exposure);
      if (count > 0 && line.length + json.length + LINE_END.length > PAGE_CHARS) {
        this.buffer.addLine(ctx, queue, line + LINE_END, count);
        count = 0;
      }
      if (count === 0) {
        prefix ??= linePrefix(exposureHeader(from, user, source, Date.now()));
        line = prefix + json.slice(1);
      } else line += json;
      count++;
    }
    if (count > 0) this.buffer.addLine(ctx, queue, line + LINE_END, count);
  }
}

const LINE_END = "]}";
