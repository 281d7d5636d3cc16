/**
 * Scheduled changes: a lifecycle action or an edit (a merge patch) of a flag, to run at a
 * time, against the version it was scheduled on. Schedules are data beside the flag
 * (`PROJECT#<p>`, `SCHEDULE#<flag>#<id>`), not timers: whoever looks after the time (the
 * local control plane's timer, the cloud's one-minute watcher, or two of them at once)
 * claims a due schedule with a conditional write, runs it, and records the outcome.
 *
 * At least once and idempotent: a claim is a lease, so a watcher that stops mid-way is
 * replaced once it expires, and the change itself is the flag service's conditional write
 * on the scheduled version, whose replay check recognises a change that already landed.
 * A schedule whose flag moved on meanwhile reports a conflict instead of overwriting.
 */
import { randomUUID } from "node:crypto";
import { flagInputSchema, flagWriteSchema, type Flag } from "../../../shared/authoring/schema.js";
import { ApiError, parseOr400 } from "../../../shared/http/errors.js";
import type { Db } from "../../../shared/node/dynamo.js";
import { readItem, readItems, writeItem, type Revisioned } from "../notifications/items.js";
import type { EventInput } from "../notifications/events.js";
import { mergePatch } from "../routes/merge-patch.js";
import { type FlagAction, type FlagService, windowRemovalAsNone } from "../services/flags.js";

export const SCHEDULE_ACTIONS = [
  "update",
  "start",
  "stop",
  "decide",
  "activate",
  "deactivate",
  "archive",
  "unarchive",
] as const;
export type ScheduleAction = (typeof SCHEDULE_ACTIONS)[number];
export const SCHEDULE_STATUSES = ["pending", "running", "done", "conflict", "failed", "cancelled"] as const;
export type ScheduleStatus = (typeof SCHEDULE_STATUSES)[number];

export interface Schedule {
  id: string;
  project: string;
  flag: string;
  action: ScheduleAction;
  /** For `update`: a JSON Merge Patch of the flag's editable fields. */
  patch?: Record<string, unknown>;
  /** For `decide`: the variant to ship. */
  variant?: string;
  runAt: string;
  /** The flag version the change applies to. */
  version: number;
  createdBy: string;
  createdAt: string;
  status: ScheduleStatus;
  attempts: number;
  claimedUntil?: string;
  result?: { at: string; version?: number; message?: string; currentVersion?: number };
  cancelledBy?: string;
}

export type ScheduleInput = Pick<Schedule, "action" | "runAt" | "version"> & {
  patch?: Record<string, unknown> | undefined;
  variant?: string | undefined;
};

const key = (project: string, flag: string, id: string) => ({
  pk: `PROJECT#${project}`,
  sk: `SCHEDULE#${flag}#${id}`,
});

/** Who the history names for a scheduled change. */
export const scheduledActor = (schedule: Pick<Schedule, "createdBy">) => `scheduled by ${schedule.createdBy}`;

export interface ScheduleServiceOptions {
  db: Db;
  flags: FlagService;
  listProjects: () => Promise<Array<{ key: string }>>;
  now?: () => number;
  /** How long a claim holds before another watcher may take the schedule over. */
  claimMs?: number;
  /** Told of each schedule that ran or failed (webhooks). */
  notify?: (project: string, event: EventInput) => Promise<void>;
}

export function createScheduleService({
  db,
  flags,
  listProjects,
  now = Date.now,
  claimMs = 60_000,
  notify,
}: ScheduleServiceOptions) {
  const iso = (ms: number) => new Date(ms).toISOString();

  /** The flag as the schedule's change makes it from `base` (an edit's patch merged and validated). */
  const patched = (base: Flag, patch: Record<string, unknown>) =>
    parseOr400(
      flagWriteSchema,
      mergePatch(flagInputSchema.parse(base), windowRemovalAsNone(patch, base.type)),
      "patch",
    );

  async function read(project: string, flag: string, id: string): Promise<Revisioned<Schedule>> {
    const found = await readItem<Schedule>(db, key(project, flag, id));
    if (!found) throw new ApiError({ status: 404, message: `No schedule ${id} on flag ${flag}` });
    return found;
  }

  /** Runs the change; the flag it made, or the reason it did not apply. */
  async function apply(schedule: Schedule): Promise<Pick<Schedule, "status" | "result">> {
    const { project, flag, version } = schedule;
    const actor = scheduledActor(schedule);
    const at = iso(now());
    try {
      let made: Flag;
      if (schedule.action === "update") {
        // The patch applies to the version it was made against (its history entry), so a replay merges the same way.
        const base = (await flags.version(project, flag, version)).flag;
        made = await flags.update(project, flag, patched(base, schedule.patch ?? {}), version, actor);
      } else {
        const variant = schedule.variant === undefined ? {} : { variant: schedule.variant };
        made = await flags.act(project, flag, schedule.action as FlagAction, version, actor, variant);
      }
      return { status: "done", result: { at, version: made.version } };
    } catch (error) {
      if (!(error instanceof ApiError) || error.status >= 500) throw error; // unavailable: retried
      if (error.status === 409) {
        // Landed before a stop, and someone changed the flag since: it did run.
        const next = await flags.version(project, flag, version + 1).catch(() => undefined);
        const ours = next && next.actor === actor && next.action === schedule.action;
        if (ours) return { status: "done", result: { at, version: version + 1 } };
        const currentVersion = (error.details as { currentVersion?: number } | undefined)?.currentVersion;
        return {
          status: "conflict",
          result: { at, message: error.message, ...(currentVersion === undefined ? {} : { currentVersion }) },
        };
      }
      return { status: "failed", result: { at, message: error.message } };
    }
  }

  /** Claims a due schedule (false: another watcher has it), runs it and records how it went. */
  async function run(found: Revisioned<Schedule>): Promise<boolean> {
    const start = now();
    const claimed: Schedule = {
      ...found.record,
      status: "running",
      attempts: found.record.attempts + 1,
      claimedUntil: iso(start + claimMs),
    };
    const k = key(claimed.project, claimed.flag, claimed.id);
    if (!(await writeItem(db, k, claimed, found.rev))) return false;
    let outcome: Pick<Schedule, "status" | "result">;
    try {
      outcome = await apply(claimed);
    } catch (error) {
      // DynamoDB unavailable or the like: back to pending, tried again on the next tick.
      const { claimedUntil: _, ...rest } = claimed;
      await writeItem(db, k, { ...rest, status: "pending" }, found.rev + 1);
      throw error;
    }
    const { claimedUntil: _, ...rest } = claimed;
    const finished: Schedule = { ...rest, ...outcome };
    if (!(await writeItem(db, k, finished, found.rev + 1))) return false; // a takeover finished it
    await notify?.(finished.project, {
      id: `schedule-${finished.id}`,
      type: finished.status === "done" ? "schedule.executed" : "schedule.failed",
      at: finished.result!.at,
      data: {
        schedule: finished.id,
        flag: finished.flag,
        action: finished.action,
        status: finished.status,
        createdBy: finished.createdBy,
        runAt: finished.runAt,
        ...finished.result,
      },
    });
    return true;
  }

  const isDue = ({ record }: Revisioned<Schedule>, at: number) =>
    (record.status === "pending" && Date.parse(record.runAt) <= at) ||
    (record.status === "running" && Date.parse(record.claimedUntil ?? "") <= at);

  return {
    async create(project: string, flag: string, input: ScheduleInput, actor: string): Promise<Schedule> {
      const current = await flags.get(project, flag);
      if (input.action === "update") {
        if (!input.patch)
          throw new ApiError({ status: 400, message: "An update needs a patch", details: { path: ["patch"] } });
        if (current.version === input.version) patched(current, input.patch); // a bad patch is a 400 now, not later
      } else if (input.patch) {
        throw new ApiError({
          status: 400,
          message: `A scheduled ${input.action} takes no patch`,
          details: { path: ["patch"] },
        });
      }
      if (input.action === "decide" && !current.variants.some((v) => v.key === input.variant))
        throw new ApiError({
          status: 400,
          message: "decide needs the key of one of the flag's variants",
          details: { path: ["variant"], variants: current.variants.map((v) => v.key) },
        });
      if (input.version > current.version)
        throw new ApiError({
          status: 409,
          message: `Flag ${flag} has no version ${input.version} yet`,
          details: { currentVersion: current.version },
        });
      const schedule: Schedule = {
        id: randomUUID().slice(0, 13).replace("-", ""),
        project,
        flag,
        action: input.action,
        ...(input.patch ? { patch: input.patch } : {}),
        ...(input.variant === undefined ? {} : { variant: input.variant }),
        runAt: new Date(input.runAt).toISOString(),
        version: input.version,
        createdBy: actor,
        createdAt: iso(now()),
        status: "pending",
        attempts: 0,
      };
      await writeItem(db, key(project, flag, schedule.id), schedule, undefined);
      return schedule;
    },

    /** A flag's schedules, soonest first. */
    async list(project: string, flag: string): Promise<Schedule[]> {
      await flags.get(project, flag).catch(async (error: unknown) => {
        // A deleted flag's schedules stay readable (their outcome is history); a flag that never was is a 404.
        if ((await flags.history(project, flag)).length === 0) throw error;
      });
      return (await readItems<Schedule>(db, `PROJECT#${project}`, `SCHEDULE#${flag}#`))
        .map((item) => item.record)
        .sort((a, b) => a.runAt.localeCompare(b.runAt));
    },

    async get(project: string, flag: string, id: string): Promise<Schedule> {
      return (await read(project, flag, id)).record;
    },

    /** Cancels a pending schedule (409 once it runs or ran). */
    async cancel(project: string, flag: string, id: string, actor: string): Promise<Schedule> {
      const found = await read(project, flag, id);
      if (found.record.status !== "pending")
        throw new ApiError({
          status: 409,
          message: `Schedule ${id} is ${found.record.status}: only a pending one can be cancelled`,
          details: { status: found.record.status },
        });
      const cancelled: Schedule = {
        ...found.record,
        status: "cancelled",
        cancelledBy: actor,
        result: { at: iso(now()) },
      };
      if (!(await writeItem(db, key(project, flag, id), cancelled, found.rev)))
        throw new ApiError({
          status: 409,
          message: `Schedule ${id} started running meanwhile`,
          details: { status: "running" },
        });
      return cancelled;
    },

    /** Runs every due schedule of every project; returns how many this call ran. */
    async runDue(): Promise<number> {
      const at = now();
      let ran = 0;
      for (const project of await listProjects()) {
        const due = (await readItems<Schedule>(db, `PROJECT#${project.key}`, "SCHEDULE#"))
          .filter((item) => isDue(item, at))
          .sort((a, b) => a.record.runAt.localeCompare(b.record.runAt));
        for (const item of due) {
          try {
            if (await run(item)) ran += 1;
          } catch (error) {
            console.error(`Schedule ${item.record.id} failed; retried on the next tick`, error);
          }
        }
      }
      return ran;
    },
  };
}

export type ScheduleService = ReturnType<typeof createScheduleService>;
