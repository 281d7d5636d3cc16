/**
 * Progressive rollouts: a release flag's plan of steps (1% → 5% → 25% → 50% → 100%, each
 * held for a minimum time), advanced by the watcher, pausable and resumable, and watched
 * by its guardrails at every check (monitor.ts). On harm the plan sets the rollout to 0%
 * at once, records why, and notifies (`rollout.rolled_back`).
 *
 * A plan is data beside its flag (`PROJECT#<p>`, `ROLLOUT#<flag>`), revisioned like a
 * schedule: every transition is one conditional write, so two watchers never both advance
 * it. The transition is stored first with the rollout it wants (`applied: false`), then
 * the flag is written and the plan marked applied; a watcher that stops in between is
 * finished by the next tick (the flag already at the wanted rollout is just marked). Its
 * events have ids of the transition (`rollout-<plan>-step-<i>`, `…-rollback`), so the
 * event log keeps each once however many watchers get there.
 */
import { randomUUID } from "node:crypto";
import { flagInputSchema, flagWriteSchema, type Flag } from "../../../shared/authoring/schema.js";
import { ApiError, parseOr400 } from "../../../shared/http/errors.js";
import type { Db } from "../../../shared/node/dynamo.js";
import type { EventInput } from "../notifications/events.js";
import { readItem, readItems, writeItem, type Revisioned } from "../notifications/items.js";
import type { FlagService } from "../services/flags.js";
import {
  DEFAULT_GUARDRAIL_ALPHA,
  DEFAULT_HARM_MDE,
  monitorGuardrails,
  type GuardrailCheck,
  type GuardrailReading,
} from "./monitor.js";

export const ROLLOUT_STATUSES = ["running", "paused", "completed", "rolled_back", "cancelled"] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];

export interface RolloutStep {
  percent: number;
  /** The least time the step is held before the next (minutes). */
  minutes: number;
}

export interface RolloutLogEntry {
  at: string;
  what: "started" | "step" | "paused" | "resumed" | "completed" | "rolled_back" | "cancelled";
  step: number;
  percent: number;
  by: string;
}

export interface Rollback {
  at: string;
  step: number;
  /** The rollout when harm was found. */
  percent: number;
  /** The guardrail that crossed, with its effect and interval. */
  check: GuardrailCheck;
  /** The flag version that set the rollout to 0. */
  version?: number;
}

export interface RolloutPlan {
  id: string;
  project: string;
  flag: string;
  steps: RolloutStep[];
  status: RolloutStatus;
  /** Index of the current step. */
  step: number;
  /** The rollout the plan wants on the flag now (0 after a rollback). */
  percent: number;
  /** False between storing a transition and the flag write that carries it out. */
  applied: boolean;
  stepStartedAt: string;
  /** Time already spent in the current step before a pause (ms). */
  heldMs: number;
  alpha: number;
  minimumDetectableEffect: number;
  createdBy: string;
  createdAt: string;
  lastCheck?: { at: string; checks: GuardrailCheck[] };
  rollback?: Rollback;
  log: RolloutLogEntry[];
}

export interface RolloutInput {
  steps: RolloutStep[];
  alpha?: number | undefined;
  minimumDetectableEffect?: number | undefined;
}

/** Per-arm statistics of the flag's guardrails since the plan started (served the new variant vs held back). */
export type GuardrailSource = (project: string, flag: Flag, plan: RolloutPlan) => Promise<GuardrailReading[]>;

export interface RolloutServiceOptions {
  db: Db;
  flags: FlagService;
  listProjects: () => Promise<Array<{ key: string }>>;
  /** Where guardrail statistics come from; without one, plans advance on time alone. */
  guardrails?: GuardrailSource | undefined;
  now?: () => number;
  notify?: (project: string, event: EventInput) => Promise<void>;
}

const key = (project: string, flag: string) => ({ pk: `PROJECT#${project}`, sk: `ROLLOUT#${flag}` });
const ACTIVE: readonly RolloutStatus[] = ["running", "paused"];

/** Who the flag's history names for a plan's writes: the plan's author, and why for a rollback. */
export function rolloutActor(plan: RolloutPlan): string {
  const rollback = plan.status === "rolled_back" ? plan.rollback : undefined;
  if (!rollback) return `rollout plan by ${plan.createdBy}`;
  const { metric, lift, pValue } = rollback.check;
  const effect = lift === null ? "" : ` ${lift > 0 ? "+" : ""}${(lift * 100).toFixed(1)}%`;
  return `guardrail rollback: ${metric}${effect} (p = ${pValue.toPrecision(2)}) at ${rollback.percent}%, plan by ${plan.createdBy}`;
}

export function validateSteps(steps: readonly RolloutStep[]): void {
  const bad = (message: string, index?: number) =>
    new ApiError({ status: 400, message, details: { path: index === undefined ? ["steps"] : ["steps", index] } });
  if (steps.length === 0) throw bad("A plan needs at least one step");
  steps.forEach((step, i) => {
    if (i > 0 && step.percent <= steps[i - 1]!.percent) throw bad("Each step's percent must exceed the one before", i);
  });
  if (steps[steps.length - 1]!.percent !== 100) throw bad("The last step is 100%", steps.length - 1);
}

export function createRolloutService({
  db,
  flags,
  listProjects,
  guardrails,
  now = Date.now,
  notify,
}: RolloutServiceOptions) {
  const iso = (ms: number) => new Date(ms).toISOString();

  async function read(project: string, flag: string): Promise<Revisioned<RolloutPlan>> {
    const found = await readItem<RolloutPlan>(db, key(project, flag));
    if (!found) throw new ApiError({ status: 404, message: `Flag ${flag} has no rollout plan` });
    return found;
  }

  const conflict = (flag: string) =>
    new ApiError({ status: 409, message: `The rollout plan of ${flag} changed meanwhile; read it again` });

  /** Stores a transition (false: another watcher or request moved the plan first). */
  const save = (plan: RolloutPlan, rev: number | undefined) => writeItem(db, key(plan.project, plan.flag), plan, rev);

  /** The notification of the transition a plan is in. */
  function event(plan: RolloutPlan): EventInput {
    const what = plan.status === "rolled_back" ? "rolled_back" : plan.status === "completed" ? "completed" : "step";
    const base = { flag: plan.flag, plan: plan.id, step: plan.step, steps: plan.steps.length, percent: plan.percent };
    if (what === "rolled_back")
      return {
        id: `rollout-${plan.id}-rollback`,
        type: "rollout.rolled_back",
        data: { ...base, ...plan.rollback, createdBy: plan.createdBy },
      };
    return {
      id: `rollout-${plan.id}-step-${plan.step}`,
      type: what === "completed" ? "rollout.completed" : "rollout.step",
      data: base,
    };
  }

  /** Writes the plan's wanted rollout to the flag (once), then marks the plan applied. */
  async function apply(found: Revisioned<RolloutPlan>): Promise<Revisioned<RolloutPlan>> {
    const { record: plan } = found;
    const current = await flags.get(plan.project, plan.flag).catch((error: unknown) => {
      if (error instanceof ApiError && error.status === 404) return undefined;
      throw error;
    });
    if (!current || current.status === "archived") {
      // Nothing left to roll out: the plan ends where it is.
      const at = iso(now());
      const ended: RolloutPlan = {
        ...plan,
        status: "cancelled",
        applied: true,
        log: [...plan.log, { at, what: "cancelled", step: plan.step, percent: plan.percent, by: "watcher" }],
      };
      return (await save(ended, found.rev)) ? { record: ended, rev: found.rev + 1 } : read(plan.project, plan.flag);
    }
    let version: number | undefined;
    if (current.rollout !== plan.percent) {
      const write = parseOr400(flagWriteSchema, { ...flagInputSchema.parse(current), rollout: plan.percent }, "flag");
      version = (await flags.update(plan.project, plan.flag, write, current.version, rolloutActor(plan))).version;
    }
    const rollback = plan.rollback && version !== undefined ? { rollback: { ...plan.rollback, version } } : {};
    const next: RolloutPlan = { ...plan, ...rollback, applied: true };
    if (!(await save(next, found.rev))) return read(plan.project, plan.flag);
    return { record: next, rev: found.rev + 1 };
  }

  /** A step's transition: the next step, or completion at the last one. */
  function advanced(plan: RolloutPlan, at: number): RolloutPlan {
    const step = plan.step + 1;
    const percent = plan.steps[step]!.percent;
    const last = step === plan.steps.length - 1;
    return {
      ...plan,
      step,
      percent,
      applied: false,
      stepStartedAt: iso(at),
      heldMs: 0,
      status: last ? "completed" : "running",
      log: [...plan.log, { at: iso(at), what: last ? "completed" : "step", step, percent, by: "watcher" }],
    };
  }

  async function check(plan: RolloutPlan): Promise<GuardrailCheck[] | undefined> {
    if (!guardrails || plan.percent <= 0 || plan.percent >= 100) return undefined; // nobody served, or nobody held back
    const flag = await flags.get(plan.project, plan.flag);
    if (flag.guardrailMetrics.length === 0) return undefined;
    const readings = await guardrails(plan.project, flag, plan);
    const decision = monitorGuardrails(readings, {
      alpha: plan.alpha,
      minimumDetectableEffect: plan.minimumDetectableEffect,
    });
    return decision.checks;
  }

  /** Carries out a stored transition and tells of it (again, after a crash: the event log keeps one). */
  async function settle(found: Revisioned<RolloutPlan>): Promise<Revisioned<RolloutPlan>> {
    const done = await apply(found);
    if (done.record.applied && done.record.status !== "cancelled")
      await notify?.(done.record.project, event(done.record));
    return done;
  }

  /** One watcher pass over a running plan: finish a pending write, check guardrails, advance when due. */
  async function watch(found: Revisioned<RolloutPlan>): Promise<void> {
    let current = found;
    if (!current.record.applied) current = await settle(current);
    const plan = current.record;
    if (plan.status !== "running") return;
    const at = now();
    const checks = await check(plan);
    const harm = checks?.find((c) => c.harm);
    if (harm) {
      const rolledBack: RolloutPlan = {
        ...plan,
        status: "rolled_back",
        percent: 0,
        applied: false,
        lastCheck: { at: iso(at), checks: checks! },
        rollback: { at: iso(at), step: plan.step, percent: plan.percent, check: harm },
        log: [...plan.log, { at: iso(at), what: "rolled_back", step: plan.step, percent: 0, by: "guardrail" }],
      };
      if (await save(rolledBack, current.rev)) await settle({ record: rolledBack, rev: current.rev + 1 });
      return;
    }
    const elapsed = plan.heldMs + (at - Date.parse(plan.stepStartedAt));
    const due = elapsed >= plan.steps[plan.step]!.minutes * 60_000;
    if (!due) {
      if (checks) await save({ ...plan, lastCheck: { at: iso(at), checks } }, current.rev);
      return;
    }
    const next = advanced({ ...plan, ...(checks ? { lastCheck: { at: iso(at), checks } } : {}) }, at);
    if (await save(next, current.rev)) await settle({ record: next, rev: current.rev + 1 });
  }

  return {
    /** Starts a plan on a release flag: its first step's rollout is written at once. */
    async start(project: string, flag: string, input: RolloutInput, actor: string): Promise<RolloutPlan> {
      validateSteps(input.steps);
      const target = await flags.get(project, flag);
      if (target.type !== "release")
        throw new ApiError({ status: 400, message: "Rollout plans are for release flags; an experiment has weights" });
      if (target.status === "archived") throw new ApiError({ status: 409, message: `Flag ${flag} is archived` });
      const existing = await readItem<RolloutPlan>(db, key(project, flag));
      if (existing && ACTIVE.includes(existing.record.status))
        throw new ApiError({
          status: 409,
          message: `Flag ${flag} has a ${existing.record.status} rollout plan: cancel it first`,
          details: { status: existing.record.status },
        });
      const at = iso(now());
      const first = input.steps[0]!;
      const plan: RolloutPlan = {
        id: randomUUID().slice(0, 8),
        project,
        flag,
        steps: input.steps,
        status: input.steps.length === 1 ? "completed" : "running",
        step: 0,
        percent: first.percent,
        applied: false,
        stepStartedAt: at,
        heldMs: 0,
        alpha: input.alpha ?? DEFAULT_GUARDRAIL_ALPHA,
        minimumDetectableEffect: input.minimumDetectableEffect ?? DEFAULT_HARM_MDE,
        createdBy: actor,
        createdAt: at,
        log: [{ at, what: "started", step: 0, percent: first.percent, by: actor }],
      };
      if (!(await save(plan, existing?.rev))) throw conflict(flag);
      return (await settle({ record: plan, rev: (existing?.rev ?? 0) + 1 })).record;
    },

    async get(project: string, flag: string): Promise<RolloutPlan> {
      return (await read(project, flag)).record;
    },

    /** Holds the current step: time stops counting toward its minimum, guardrails are no longer checked. */
    async pause(project: string, flag: string, actor: string): Promise<RolloutPlan> {
      const found = await read(project, flag);
      const plan = found.record;
      if (plan.status !== "running")
        throw new ApiError({
          status: 409,
          message: `The plan is ${plan.status}, not running`,
          details: { status: plan.status },
        });
      const at = now();
      const paused: RolloutPlan = {
        ...plan,
        status: "paused",
        heldMs: plan.heldMs + (at - Date.parse(plan.stepStartedAt)),
        log: [...plan.log, { at: iso(at), what: "paused", step: plan.step, percent: plan.percent, by: actor }],
      };
      if (!(await save(paused, found.rev))) throw conflict(flag);
      return paused;
    },

    async resume(project: string, flag: string, actor: string): Promise<RolloutPlan> {
      const found = await read(project, flag);
      const plan = found.record;
      if (plan.status !== "paused")
        throw new ApiError({
          status: 409,
          message: `The plan is ${plan.status}, not paused`,
          details: { status: plan.status },
        });
      const at = now();
      const resumed: RolloutPlan = {
        ...plan,
        status: "running",
        stepStartedAt: iso(at),
        log: [...plan.log, { at: iso(at), what: "resumed", step: plan.step, percent: plan.percent, by: actor }],
      };
      if (!(await save(resumed, found.rev))) throw conflict(flag);
      return resumed;
    },

    /** Ends the plan where it is; the flag keeps its current rollout. */
    async cancel(project: string, flag: string, actor: string): Promise<RolloutPlan> {
      const found = await read(project, flag);
      const plan = found.record;
      if (!ACTIVE.includes(plan.status))
        throw new ApiError({
          status: 409,
          message: `The plan is already ${plan.status}`,
          details: { status: plan.status },
        });
      const at = iso(now());
      const cancelled: RolloutPlan = {
        ...plan,
        status: "cancelled",
        log: [...plan.log, { at, what: "cancelled", step: plan.step, percent: plan.percent, by: actor }],
      };
      if (!(await save(cancelled, found.rev))) throw conflict(flag);
      return cancelled;
    },

    /** The watcher's pass over every project's running plans (and unfinished writes of ended ones). */
    async watchAll(): Promise<number> {
      let watched = 0;
      for (const project of await listProjects()) {
        const plans = await readItems<RolloutPlan>(db, `PROJECT#${project.key}`, "ROLLOUT#");
        for (const found of plans) {
          if (found.record.applied && found.record.status !== "running") continue;
          try {
            await watch(found);
            watched += 1;
          } catch (error) {
            console.error(`Rollout plan of ${found.record.flag} failed this tick; tried again on the next`, error);
          }
        }
      }
      return watched;
    },
  };
}

export type RolloutService = ReturnType<typeof createRolloutService>;
