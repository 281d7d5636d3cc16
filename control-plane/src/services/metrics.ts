/**
 * The project's metric catalog: create, edit, archive and restore metric definitions,
 * versioned and conditional as flags are, through the same commit module (../commit/commit.ts:
 * a lost race is a 409 with the current version, never a lost update; nothing is published). Experiments name a catalog metric by key (`{"metric": "<key>"}`);
 * `resolve` copies the entry's definition into the experiment with `catalog: {key, version}`,
 * so a later edit of the entry never changes an experiment's analysis silently.
 */
import diff from "microdiff";
import type { Metric, MetricInput } from "../../../shared/authoring/schema.js";
import { ApiError } from "../../../shared/http/errors.js";
import type { MetricDefinition } from "../../../shared/metrics/definition.js";
import { createCommits } from "../commit/commit.js";
import { recordMetricHistory } from "../commit/history.js";
import type { CatalogMetric, MetricHistoryEntry } from "../db/records.js";
import { ConflictError, type Store } from "../db/store.js";

export const METRIC_ACTIONS = ["archive", "unarchive"] as const;
export type MetricAction = (typeof METRIC_ACTIONS)[number];

/** The definition part of a stored catalog metric (what experiments copy). */
export function definitionOf(metric: CatalogMetric): MetricDefinition {
  const { archived, version, createdAt, updatedAt, lastChange, ...definition } = metric;
  return definition as MetricDefinition;
}

export function createMetricService({ store }: { store: Store }) {
  const commits = createCommits({ store }); // the catalog publishes nothing: experiments copy its definitions

  async function assertProject(project: string): Promise<void> {
    if (!(await store.getProject(project))) throw new ApiError({ status: 404, message: `No project ${project}` });
  }

  async function stored(project: string, key: string): Promise<CatalogMetric> {
    const metric = await store.getMetric(project, key);
    if (!metric) throw new ApiError({ status: 404, message: `No metric ${key} in the catalog` });
    return metric;
  }

  function atVersion(metric: CatalogMetric, expected: number): CatalogMetric {
    if (metric.version !== expected)
      throw new ApiError({
        status: 409,
        message: `Metric ${metric.key} changed since version ${expected}`,
        details: { currentVersion: metric.version },
      });
    return metric;
  }

  /** The one conditional write, then the derived history entry. */
  async function commit(project: string, next: CatalogMetric, previous: CatalogMetric | undefined) {
    await commits.commit({
      project,
      async write() {
        const result = await store.putMetric(project, next, previous?.version);
        if (!result.written)
          throw new ConflictError(
            previous ? `Metric ${next.key} changed since version ${previous.version}` : `Metric ${next.key} exists`,
            result.current,
          );
      },
      history: () => recordMetricHistory(store, project, next, previous),
    });
    return next;
  }

  function stamp(
    definition: MetricDefinition,
    previous: CatalogMetric | undefined,
    archived: boolean,
    actor: string,
    action: string,
  ): CatalogMetric {
    const at = new Date().toISOString();
    return {
      ...definition,
      archived,
      version: (previous?.version ?? 0) + 1,
      createdAt: previous?.createdAt ?? at,
      updatedAt: at,
      lastChange: { actor, at, action },
    };
  }

  async function historyEntry(project: string, key: string, version: number): Promise<MetricHistoryEntry> {
    const entry = await store.getMetricHistory(project, key, version);
    if (!entry) throw new ApiError({ status: 404, message: `No version ${version} of metric ${key}` });
    return entry;
  }

  const unchanged = (metric: CatalogMetric, definition: MetricDefinition) =>
    diff(definitionOf(metric) as Record<string, unknown>, definition as Record<string, unknown>).length === 0;

  return {
    /** The catalog, archived metrics only when asked, filtered by text (key, name, description, event type). */
    async list(project: string, filter: { archived?: boolean | undefined; q?: string | undefined } = {}) {
      await assertProject(project);
      const text = filter.q?.toLowerCase();
      return (await store.listMetrics(project))
        .filter((m) => filter.archived === undefined || m.archived === filter.archived)
        .filter(
          (m) =>
            !text ||
            [m.key, m.name ?? "", m.description ?? "", "eventType" in m ? m.eventType : ""].some((field) =>
              field.toLowerCase().includes(text),
            ),
        )
        .sort((a, b) => a.key.localeCompare(b.key));
    },

    get: stored,

    async create(project: string, definition: MetricDefinition, actor: string): Promise<CatalogMetric> {
      await assertProject(project);
      try {
        return await commit(project, stamp(definition, undefined, false, actor, "create"), undefined);
      } catch (error) {
        // A retry of this very create, whose answer was lost: answer what it made.
        const existing =
          error instanceof ApiError && error.status === 409
            ? await store.getMetric(project, definition.key)
            : undefined;
        if (
          existing &&
          existing.version === 1 &&
          existing.lastChange.actor === actor &&
          unchanged(existing, definition)
        )
          return existing;
        throw error;
      }
    },

    async update(
      project: string,
      key: string,
      definition: MetricDefinition,
      expected: number,
      actor: string,
    ): Promise<CatalogMetric> {
      if (definition.key !== key)
        throw new ApiError({
          status: 400,
          message: `The body's key '${definition.key}' is not the metric in the path ('${key}')`,
        });
      const metric = await stored(project, key);
      if (metric.version === expected + 1 && metric.lastChange.actor === actor && unchanged(metric, definition))
        return metric; // the retry of this very write, which landed
      const previous = atVersion(metric, expected);
      if (previous.archived)
        throw new ApiError({ status: 409, message: `Metric ${key} is archived: unarchive it before editing` });
      return commit(project, stamp(definition, previous, false, actor, "update"), previous);
    },

    async act(project: string, key: string, action: MetricAction, expected: number, actor: string) {
      const previous = atVersion(await stored(project, key), expected);
      const archived = action === "archive";
      if (previous.archived === archived)
        throw new ApiError({ status: 409, message: `Metric ${key} is ${archived ? "already" : "not"} archived` });
      return commit(project, stamp(definitionOf(previous), previous, archived, actor, action), previous);
    },

    async history(project: string, key: string): Promise<MetricHistoryEntry[]> {
      await stored(project, key);
      return store.listMetricHistory(project, key);
    },

    version: historyEntry,

    /** Makes an earlier version's definition current again, as a new version (archived or not stays as is). */
    async restore(project: string, key: string, version: number, expected: number, actor: string) {
      const previous = atVersion(await stored(project, key), expected);
      const { metric: old } = await historyEntry(project, key, version);
      if (previous.archived)
        throw new ApiError({ status: 409, message: `Metric ${key} is archived: unarchive it before restoring` });
      return commit(project, stamp(definitionOf(old), previous, false, actor, `restore v${version}`), previous);
    },

    /**
     * An experiment's metric as it will be stored: a reference becomes a copy of the catalog
     * entry's current definition, pinned with `catalog: {key, version}`; an inline definition
     * (or a copy read back from a GET, pin included) is kept as sent. `path` names the field
     * for the 400 of an unknown or archived entry.
     */
    async resolve(project: string, input: MetricInput, path: string[]): Promise<Metric> {
      if (!("metric" in input)) return input;
      const entry = await store.getMetric(project, input.metric);
      const problem = !entry
        ? `no metric '${input.metric}' in the project's catalog`
        : entry.archived
          ? `catalog metric '${input.metric}' is archived`
          : undefined;
      if (problem || !entry)
        throw new ApiError({
          status: 400,
          code: "validation_failed",
          message: `Invalid flag at ${[...path, "metric"].join(".")}: ${problem}`,
          details: [{ path: [...path, "metric"], message: problem }],
        });
      return { ...definitionOf(entry), catalog: { key: entry.key, version: entry.version } } as Metric;
    },
  };
}

export type MetricService = ReturnType<typeof createMetricService>;
