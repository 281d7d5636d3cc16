/**
 * Flags and experiments: create, edit, lifecycle actions and restores. Every change is
 * committed by ../commit/commit.ts: one conditional write of the flag item on the version the
 * caller read (a lost race is a 409, never a lost update), then the change counter, the history
 * entry and the publish, repaired by the reconcile pass if the process stops in between.
 */
import diff from "microdiff";
import { inheritedRegexLimitIssues, regexSafetyIssues } from "../../../shared/authoring/regex-safety.js";
import { validateFlag, type Issue } from "../../../shared/authoring/validate.js";
import {
  ANALYSIS_FIELDS,
  analysisSettingsSchema,
  flagInputSchema,
  type AnalysisPeriod,
  type Flag,
  type FlagInput,
  type FlagStatus,
  type FlagWrite,
  type MetricChange,
  DEFAULT_METRIC_WINDOW,
} from "../../../shared/authoring/schema.js";
import { ApiError } from "../../../shared/http/errors.js";
import { createCommits, flagChange, type Change } from "../commit/commit.js";
import { flagDiff, previousVersion, recordHistory, utf8JsonBytes } from "../commit/history.js";
import type { Store } from "../db/store.js";
import { byKey } from "../segments/segment-store.js";
import type { MetricService } from "./metrics.js";

/** Moved to the commit module (history.ts); exported here as before. */
export { flagDiff, recordHistory };

export const FLAG_ACTIONS = ["start", "stop", "decide", "activate", "deactivate", "archive", "unarchive"] as const;
export type FlagAction = (typeof FLAG_ACTIONS)[number];

export interface FlagServiceOptions {
  store: Store;
  /** Called after a committed change with the deployments it touches (local: publish now). */
  onChange: (project: string, deployments: string[]) => Promise<void>;
  /** Resolves catalog references in experiments' metrics (absent: references are refused). */
  metrics?: Pick<MetricService, "resolve">;
  /** Called after a committed change's history entry, with the version before it (notifications). */
  onCommitted?: (project: string, flag: Flag, previous: Flag | undefined) => Promise<void>;
}

/**
 * A DynamoDB item holds at most 400 KB, and a flag's history entry carries the flag and
 * its diff. Bounding the flag at 128 KiB of JSON and the kept diff at 128 KiB
 * (../commit/history.ts) keeps every write of a change inside that limit. Long ID lists
 * belong in segments.
 */
const MAX_FLAG_JSON_BYTES = 128 * 1024;

const invalid = (issues: Issue[]) =>
  new ApiError({
    status: 400,
    code: "validation_failed",
    message: `Invalid flag at ${issues[0]!.path.join(".") || "(root)"}: ${issues[0]!.message}`,
    details: issues,
  });

/** Which actions apply in which status, and where they lead. */
export function transition(flag: Flag, action: FlagAction): FlagStatus {
  const experiment = flag.type === "experiment";
  const allowed: Record<FlagAction, { from: FlagStatus[]; to: FlagStatus } | undefined> = {
    start: experiment ? { from: ["draft", "stopped"], to: "running" } : undefined,
    stop: experiment ? { from: ["running"], to: "stopped" } : undefined,
    decide: experiment ? { from: ["running", "stopped"], to: "decided" } : undefined,
    activate: experiment ? undefined : { from: ["inactive"], to: "active" },
    // On an experiment, as in Amplitude's menu: stops serving it, as `stop` does (a decided one stops shipping its
    // winner).
    deactivate: experiment ? { from: ["running", "decided"], to: "stopped" } : { from: ["active"], to: "inactive" },
    archive: { from: ["draft", "running", "stopped", "decided", "active", "inactive"], to: "archived" },
    unarchive: { from: ["archived"], to: flag.statusBeforeArchive ?? (experiment ? "draft" : "inactive") },
  };
  const rule = allowed[action];
  if (!rule)
    throw new ApiError({
      status: 400,
      message: `'${action}' does not apply to ${experiment ? "an experiment" : "a release flag"}`,
    });
  if (!rule.from.includes(flag.status))
    throw new ApiError({ status: 409, message: `Cannot ${action} a flag that is ${flag.status}` });
  return rule.to;
}

/**
 * A setting as the analysis reads it: an experiment stored without a default metric window
 * has none (`"none"`, shared/authoring/schema.ts), so the two are one setting, never a change.
 */
const analysed = (flag: FlagInput, field: (typeof ANALYSIS_FIELDS)[number]): unknown =>
  field === "defaultMetricWindow" ? (flag.defaultMetricWindow ?? "none") : (flag[field] ?? null);

/**
 * A running experiment's analysis settings (metrics, method, confidence, MDE, correction,
 * bucketing unit) cannot change: past looks would be re-read under new rules (switching
 * the method rewrote a p of 0.016 into 4.6e-5). Stopping and starting again opens a new
 * analysis period with the new settings and fresh data.
 */
function assertAnalysisUnchanged(previous: Flag, next: FlagInput): void {
  if (previous.status !== "running") return;
  for (const field of ANALYSIS_FIELDS) {
    if (field === "secondaryMetrics" || field === "guardrailMetrics") continue; // added and removed any time
    if (diff({ value: analysed(previous, field) }, { value: analysed(next, field) }).length > 0) {
      throw new ApiError({
        status: 409,
        message:
          field === "primaryMetric"
            ? "primaryMetric cannot change while the experiment runs: changing it needs a new analysis period " +
              "(stop it, edit, and start again)"
            : `${field} cannot change while the experiment runs: ` +
              "stop it, edit, and start again (a new analysis period)",
        details: {
          field,
          currentVersion: previous.version,
        },
      });
    }
  }
}

/**
 * A new experiment without a default metric window gets a week's (fixed estimand: Eppo and
 * Statsig use fixed windows too); a stored one without it keeps none (`"none"`), so reports
 * of experiments begun before the setting read as they did.
 */
export function withDefaultMetricWindow(input: FlagInput): FlagInput {
  if (input.type !== "experiment" || input.defaultMetricWindow !== undefined) return input;
  return { ...input, defaultMetricWindow: DEFAULT_METRIC_WINDOW };
}

/**
 * A merge patch's removal of an experiment's default metric window (`null`) as `"none"`: a
 * removal would leave it out, and an edit that leaves it out keeps the stored one (below).
 */
export function windowRemovalAsNone(patch: Record<string, unknown>, type: Flag["type"]): Record<string, unknown> {
  return patch["defaultMetricWindow"] === null && type === "experiment"
    ? { ...patch, defaultMetricWindow: "none" }
    : patch;
}

/** An edit that leaves the default metric window out keeps the stored one (a client that predates it). */
export function keepDefaultMetricWindow(input: FlagInput, previous: Flag): FlagInput {
  if (input.defaultMetricWindow !== undefined || previous.defaultMetricWindow === undefined) return input;
  return { ...input, defaultMetricWindow: previous.defaultMetricWindow };
}

const ADDABLE_METRICS = [
  ["secondaryMetrics", "secondary"],
  ["guardrailMetrics", "guardrail"],
] as const;

/**
 * Metrics any time: secondary and guardrail metrics may be added to or removed from a
 * running or stopped experiment. Each change is recorded in the current analysis period
 * (`metricChanges`) and applied to its settings, so the report computes an added metric
 * over the whole period (the event store keeps every event). A metric kept under the same
 * key must keep its definition while the experiment runs: the past looks would change.
 * Returns the periods to store.
 */
function periodsWithMetricChanges(previous: Flag, next: FlagInput, at: string): AnalysisPeriod[] | undefined {
  const periods = previous.analysisPeriods;
  const last = periods?.at(-1);
  if (!periods || !last || (previous.status !== "running" && previous.status !== "stopped")) return periods;
  const changes: MetricChange[] = [];
  const settings = { ...last.settings };
  for (const [field, role] of ADDABLE_METRICS) {
    const before = new Map(previous[field].map((m) => [m.key, m]));
    const after = new Map(next[field].map((m) => [m.key, m]));
    const added = next[field].filter((m) => !before.has(m.key));
    const removed = previous[field].filter((m) => !after.has(m.key));
    if (previous.status === "running") {
      const redefined = next[field].find((m) => before.has(m.key) && diff(before.get(m.key)!, m).length > 0);
      if (redefined)
        throw new ApiError({
          status: 409,
          message:
            `${role} metric ${redefined.key} cannot change its definition while the experiment runs: ` +
            "remove it and add the new definition under another key",
          details: { field, metric: redefined.key, currentVersion: previous.version },
        });
    }
    for (const m of added) changes.push({ at, action: "added", role, metric: m.key });
    for (const m of removed) changes.push({ at, action: "removed", role, metric: m.key });
    const gone = new Set(removed.map((m) => m.key));
    settings[field] = [...settings[field].filter((m) => !gone.has(m.key)), ...added];
  }
  if (changes.length === 0) return periods;
  return [...periods.slice(0, -1), { ...last, settings, metricChanges: [...(last.metricChanges ?? []), ...changes] }];
}

/**
 * Whether a write is the retry of one that already landed (its answer lost to a timeout or
 * a 503 after the commit): the flag is at the version that write made, by the same actor
 * and action, with the same content. The retry then gets the result instead of a 409.
 */
export function isReplay(flag: Flag, input: FlagInput, actor: string, action: string, version: number): boolean {
  return (
    flag.version === version &&
    flag.lastChange.actor === actor &&
    flag.lastChange.action === action &&
    diff(flagInputSchema.parse(flag), input).length === 0
  );
}

/** Whether a lifecycle action is the retry of one that landed: the flag is at the version it made, by it. */
function isActionReplay(flag: Flag, action: string, actor: string, version: number, variant: string | undefined) {
  return (
    flag.version === version &&
    flag.lastChange.actor === actor &&
    flag.lastChange.action === action &&
    (action !== "decide" || flag.decidedVariant === variant)
  );
}

/** An archived flag is read-only until unarchived (editing it would change nothing served, silently). */
function assertNotArchived(previous: Flag): void {
  if (previous.status === "archived")
    throw new ApiError({
      status: 409,
      message: `Flag ${previous.key} is archived: unarchive it before editing`,
      details: {
        status: "archived",
      },
    });
}

/** The analysis periods after an action: `start` opens one with the current settings, leaving `running` closes it. */
export function periodsAfter(
  previous: Flag,
  action: FlagAction,
  status: FlagStatus,
  at: string,
): AnalysisPeriod[] | undefined {
  const periods = previous.analysisPeriods ?? [];
  if (action === "start") return [...periods, { startedAt: at, settings: analysisSettingsSchema.parse(previous) }];
  const last = periods.at(-1);
  if (previous.status === "running" && status !== "running" && last && !last.stoppedAt)
    return [...periods.slice(0, -1), { ...last, stoppedAt: at }];
  return previous.analysisPeriods;
}

export function createFlagService({ store, onChange, metrics, onCommitted }: FlagServiceOptions) {
  const commits = createCommits({ store, publish: onChange });

  /** The flag as it will be stored: every catalog reference in its metrics copied and pinned. */
  async function resolveMetrics(project: string, input: FlagWrite): Promise<FlagInput> {
    const resolve = (metric: FlagWrite["secondaryMetrics"][number], path: string[]) => {
      if (!("metric" in metric)) return Promise.resolve(metric);
      if (!metrics) throw new ApiError({ status: 400, message: "Catalog metric references are not available here" });
      return metrics.resolve(project, metric, path);
    };
    const [primaryMetric, secondaryMetrics, guardrailMetrics] = await Promise.all([
      input.primaryMetric && resolve(input.primaryMetric, ["primaryMetric"]),
      Promise.all(input.secondaryMetrics.map((m, i) => resolve(m, ["secondaryMetrics", String(i)]))),
      Promise.all(input.guardrailMetrics.map((m, i) => resolve(m, ["guardrailMetrics", String(i)]))),
    ]);
    const { primaryMetric: _, ...rest } = input;
    return { ...rest, ...(primaryMetric ? { primaryMetric } : {}), secondaryMetrics, guardrailMetrics };
  }

  async function checkAgainstProject(project: string, input: FlagInput): Promise<void> {
    const [flags, groups, deployments, segments] = await Promise.all([
      store.listFlags(project),
      store.listGroups(project),
      store.listDeployments(project),
      store.listSegments(project),
    ]);
    const issues = validateFlag(input, {
      flags: new Map(flags.filter((f) => f.key !== input.key).map((f) => [f.key, f])),
      groups: new Map(groups.map((g) => [g.key, g])),
      segments: new Set(segments.map((s) => s.key)),
    });
    const known = new Set(deployments.map((d) => d.key));
    input.deployments.forEach((key, i) => {
      if (!known.has(key)) issues.push({ path: ["deployments", String(i)], message: `unknown deployment '${key}'` });
    });
    // The regex totals count what the rules' segments bring in: the edge evaluates those as the flag's own.
    if (issues.length === 0) issues.push(...inheritedRegexLimitIssues(input, byKey(segments)));
    // Last, and only for an otherwise valid flag: the one costly check (bounded in time, off the event loop).
    if (issues.length === 0) issues.push(...(await regexSafetyIssues(input)));
    if (issues.length) throw invalid(issues);
  }

  /** Stamps the deployments the flag names; one deleted between our check and our write undoes the write. */
  async function deploymentsStillExist(project: string, next: Flag, previous: Flag | undefined): Promise<void> {
    const gone = await store.referenceDeployments(project, next.deployments);
    if (gone.length === 0) return;
    await store.revertFlag(project, next, previous);
    throw invalid(
      gone.map((key) => ({
        path: ["deployments", String(next.deployments.indexOf(key))],
        message: `unknown deployment '${key}' (deleted meanwhile)`,
      })),
    );
  }

  /** `next` (the version after `previous`) as a change for the commit module. */
  function change(project: string, next: Flag, previous: Flag | undefined): Change {
    return {
      project,
      write: () => store.putFlag(project, next, previous?.version),
      verify: () => deploymentsStillExist(project, next, previous),
      ...flagChange(store, project, next, previous),
      ...(onCommitted ? { committed: () => onCommitted(project, next, previous) } : {}),
    };
  }

  /** The one conditional write, then the deployment references, change counter, history entry and publish. */
  async function commit(project: string, next: Flag, previous: Flag | undefined): Promise<Flag> {
    const bytes = utf8JsonBytes(next);
    if (bytes > MAX_FLAG_JSON_BYTES) {
      throw new ApiError({
        status: 413,
        message:
          `Flag ${next.key} would take ${bytes} bytes of JSON; ` +
          `the limit is ${MAX_FLAG_JSON_BYTES / 1024} KiB (move long ID lists into segments)`,
      });
    }
    await commits.commit(change(project, next, previous));
    return next;
  }

  function stamp(
    base: Omit<Flag, "version" | "updatedAt" | "lastChange">,
    previous: Flag | undefined,
    actor: string,
    action: string,
  ): Flag {
    const at = new Date().toISOString();
    return { ...base, version: (previous?.version ?? 0) + 1, updatedAt: at, lastChange: { actor, at, action } } as Flag;
  }

  async function stored(project: string, key: string): Promise<Flag> {
    const flag = await store.getFlag(project, key);
    if (!flag) throw new ApiError({ status: 404, message: `No flag ${key}` });
    return flag;
  }

  function atVersion(flag: Flag, expected: number): Flag {
    if (flag.version !== expected)
      throw new ApiError({
        status: 409,
        message: `Flag ${flag.key} changed since version ${expected}`,
        details: {
          currentVersion: flag.version,
        },
      });
    return flag;
  }

  /** A flag lives in a project: naming a missing one is a 404, before anything is written. */
  async function projectExists(project: string): Promise<void> {
    if (!(await store.getProject(project))) throw new ApiError({ status: 404, message: `No project ${project}` });
  }

  /** New flags go into live projects only: an archived one is on its way to deletion. */
  async function projectOpen(project: string): Promise<void> {
    const found = await store.getProject(project);
    if (!found) throw new ApiError({ status: 404, message: `No project ${project}` });
    if (found.archivedAt)
      throw new ApiError({ status: 409, message: `Project ${project} is archived: unarchive it to add flags` });
  }

  const current = async (project: string, key: string, expected: number): Promise<Flag> =>
    atVersion(await stored(project, key), expected);

  /**
   * A replayed write's answer: the flag it made, once whatever the first attempt left undone is done (every step
   * after the write is idempotent: no hole in the history, no stale edge).
   */
  async function finishReplay(project: string, flag: Flag): Promise<Flag> {
    await commits.finish(change(project, flag, await previousVersion(store, project, flag)));
    return flag;
  }

  async function version(project: string, key: string, number: number) {
    const entry = await store.getHistory(project, key, number);
    if (!entry) throw new ApiError({ status: 404, message: `No version ${number} of flag ${key}` });
    return entry;
  }

  return {
    /**
     * Flags of a project, filtered by status, type and text (in the key, name or description), most recently changed
     * first.
     */
    async list(
      project: string,
      filter: { status?: FlagStatus | undefined; type?: Flag["type"] | undefined; q?: string | undefined } = {},
    ): Promise<Flag[]> {
      const text = filter.q?.toLowerCase();
      await projectExists(project);
      return (await store.listFlags(project))
        .filter((f) => (!filter.status || f.status === filter.status) && (!filter.type || f.type === filter.type))
        .filter((f) => !text || [f.key, f.name, f.description].some((field) => field.toLowerCase().includes(text)))
        .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
    },

    get: stored,

    async create(project: string, write: FlagWrite, actor: string): Promise<Flag> {
      await projectOpen(project);
      const input = withDefaultMetricWindow(await resolveMetrics(project, write));
      await checkAgainstProject(project, input);
      const now = new Date().toISOString();
      const status: FlagStatus = input.type === "experiment" ? "draft" : "inactive";
      try {
        return await commit(
          project,
          stamp({ ...input, status, createdAt: now }, undefined, actor, "create"),
          undefined,
        );
      } catch (error) {
        // The flag exists: perhaps because this very request landed before (a retry).
        const existing =
          error instanceof ApiError && error.status === 409 ? await store.getFlag(project, input.key) : undefined;
        if (existing && isReplay(existing, input, actor, "create", 1)) return finishReplay(project, existing);
        throw error;
      }
    },

    async update(project: string, key: string, write: FlagWrite, expected: number, actor: string): Promise<Flag> {
      const written = await resolveMetrics(project, write);
      if (written.key !== key)
        throw new ApiError({
          status: 400,
          message: `The body's key '${written.key}' is not the flag in the path ('${key}')`,
        });
      const flag = await stored(project, key);
      // A retry of this very write, which landed: finish it (history, publish) rather than answer 409.
      if (isReplay(flag, keepDefaultMetricWindow(written, flag), actor, "update", expected + 1))
        return finishReplay(project, flag);
      const previous = atVersion(flag, expected);
      const input = keepDefaultMetricWindow(written, previous);
      assertNotArchived(previous);
      if (input.type !== previous.type) throw new ApiError({ status: 400, message: "A flag's type cannot change" });
      assertAnalysisUnchanged(previous, input);
      await checkAgainstProject(project, input);
      const next = {
        ...input,
        ...managed(previous, periodsWithMetricChanges(previous, input, new Date().toISOString())),
      };
      return commit(project, stamp(next, previous, actor, "update"), previous);
    },

    async act(
      project: string,
      key: string,
      action: FlagAction,
      expected: number,
      actor: string,
      options: { variant?: string } = {},
    ): Promise<Flag> {
      const found = await stored(project, key);
      if (isActionReplay(found, action, actor, expected + 1, options.variant)) return finishReplay(project, found);
      const previous = atVersion(found, expected);
      const status = transition(previous, action);
      const next: Flag = { ...previous, status };
      const periods = periodsAfter(previous, action, status, new Date().toISOString());
      if (periods) next.analysisPeriods = periods;
      if (action === "start" && !previous.primaryMetric)
        throw new ApiError({ status: 400, message: "An experiment needs a primaryMetric before it starts" });
      if (action === "decide") {
        if (!options.variant || !previous.variants.some((v) => v.key === options.variant)) {
          throw new ApiError({
            status: 400,
            message: `decide needs the key of one of the flag's variants`,
            details: {
              variants: previous.variants.map((v) => v.key),
            },
          });
        }
        next.decidedVariant = options.variant;
      }
      if (action === "archive") next.statusBeforeArchive = previous.status;
      if (action === "unarchive") delete next.statusBeforeArchive;
      return commit(project, stamp(next, previous, actor, action), previous);
    },

    /**
     * Deletes an archived flag, given its key again as confirmation. Refused while other flags have it as a
     * prerequisite (they would stop evaluating as authored); the deletion is the last entry of its history, which
     * stays readable. Returns the flag as it was.
     */
    async remove(project: string, key: string, confirm: string | undefined, actor: string): Promise<Flag> {
      const previous = await stored(project, key);
      if (previous.status !== "archived")
        throw new ApiError({
          status: 409,
          message: `Flag ${key} is ${previous.status}: archive it before deleting it`,
          details: { status: previous.status },
        });
      if (confirm !== key)
        throw new ApiError({
          status: 400,
          message: `Deleting flag ${key} cannot be undone: confirm with ?confirm=${key}`,
          details: { path: ["confirm"] },
        });
      const dependents = (await store.listFlags(project))
        .filter((f) => f.key !== key && f.prerequisites.some((p) => p.flagKey === key))
        .map((f) => f.key);
      if (dependents.length > 0)
        throw new ApiError({
          status: 409,
          message: `Flag ${key} is a prerequisite of ${dependents.join(", ")}: remove it from them first`,
          details: { dependents },
        });
      const deleted = stamp(previous, previous, actor, "delete");
      await commits.commit({
        project,
        write: () => store.deleteFlag(project, key, previous.version),
        ...flagChange(store, project, deleted, previous), // the deletion's entry; its deployments republish
        ...(onCommitted ? { committed: () => onCommitted(project, deleted, previous) } : {}),
      });
      return previous;
    },

    /** Every version, also of a deleted flag (its last entry is the deletion). */
    async history(project: string, key: string) {
      await projectExists(project);
      const entries = await store.listHistory(project, key);
      if (entries.length === 0) await stored(project, key); // 404 for a flag that never was
      return entries;
    },

    version,

    /**
     * Makes an earlier version's configuration current again, as a new version. The
     * lifecycle (running, decided, …) stays as it is: restoring a rule set must not
     * stop or restart an experiment.
     */
    async restore(project: string, key: string, versionNumber: number, expected: number, actor: string): Promise<Flag> {
      const previous = await current(project, key, expected);
      const { flag: old } = await version(project, key, versionNumber);
      const content = flagInputSchema.parse(old); // the editable fields only
      assertNotArchived(previous);
      assertAnalysisUnchanged(previous, content);
      await checkAgainstProject(project, content);
      const periods = periodsWithMetricChanges(previous, content, new Date().toISOString());
      return commit(
        project,
        stamp({ ...content, ...managed(previous, periods) }, previous, actor, `restore v${versionNumber}`),
        previous,
      );
    },
  };
}

/**
 * What the server keeps across edits and restores: the lifecycle and the analysis periods.
 * Only the fields the flag has: an `undefined` one would show in the audit log as created.
 */
function managed(previous: Flag, analysisPeriods = previous.analysisPeriods) {
  const { status, decidedVariant, statusBeforeArchive, createdAt } = previous;
  return {
    status,
    createdAt,
    ...(decidedVariant ? { decidedVariant } : {}),
    ...(statusBeforeArchive ? { statusBeforeArchive } : {}),
    ...(analysisPeriods ? { analysisPeriods } : {}),
  };
}

export type FlagService = ReturnType<typeof createFlagService>;
