/**
 * Reusable segments: create, edit, delete and restore, versioned and conditional as flags are,
 * through the commit module (../commit/commit.ts: a lost race is a 409 with the current version,
 * never a lost update). Flags name a segment in a targeting rule (`segment: "<key>"`); the
 * publisher resolves it (shared/authoring/segments.ts), so a change here republishes the
 * deployments of every flag that uses the segment, and a segment in use cannot be deleted.
 */
import type { Flag } from "../../../shared/authoring/schema.js";
import { segmentsUsedBy, type Segment } from "../../../shared/authoring/segments.js";
import {
  inheritedRegexLimitIssues,
  regexLimitIssues,
  regexSafetyIssues,
} from "../../../shared/authoring/regex-safety.js";
import type { Issue } from "../../../shared/authoring/validate.js";
import { ApiError } from "../../../shared/http/errors.js";
import { createCommits } from "../commit/commit.js";
import { changesBetween } from "../commit/history.js";
import { ConflictError, type Store } from "../db/store.js";
import { byKey, type SegmentHistoryEntry, type StoredSegment } from "./segment-store.js";

export interface SegmentServiceOptions {
  store: Store;
  /** Called after a committed change with the deployments it touches (local: publish now). */
  onChange: (project: string, deployments: string[]) => Promise<void>;
}

/** A stored segment with the flags that name it (what the console's "used by" list shows). */
export type SegmentView = StoredSegment & { usedBy: string[] };

/** The definition part of a stored segment (what an edit replaces). */
export function definitionOf(segment: StoredSegment): Segment {
  return { key: segment.key, name: segment.name, description: segment.description, conditions: segment.conditions };
}

const usersOf = (flags: readonly Flag[], key: string): Flag[] =>
  flags.filter((flag) => segmentsUsedBy(flag).includes(key)).sort((a, b) => a.key.localeCompare(b.key));

/** Its conditions' regexes, checked as a flag's are (a segment's conditions end up in flags' rules). */
async function regexIssues(segment: Segment): Promise<Issue[]> {
  // The regex checks read a flag's rules: present the segment as one rule, and name its own paths.
  const asFlag = { segments: [{ name: segment.key, conditions: segment.conditions, rollout: 100 }] } as never;
  const rename = (issues: Issue[]) => issues.map((issue) => ({ ...issue, path: issue.path.slice(2) }));
  const limits = rename(regexLimitIssues(asFlag));
  return limits.length ? limits : rename(await regexSafetyIssues(asFlag));
}

function invalid(issues: Issue[]): ApiError {
  const first = issues[0]!;
  return new ApiError({
    status: 400,
    code: "validation_failed",
    message: `Invalid segment at ${first.path.join(".")}: ${first.message}`,
    details: issues,
  });
}

/**
 * The flags naming the segment whose regex totals its new conditions push over the limits:
 * a 409 naming each (`details.flags`), so the edit never reaches an evaluation.
 */
function overLimit(
  users: readonly Flag[],
  segments: ReadonlyMap<string, Segment>,
  next: Segment,
): ApiError | undefined {
  const over = users.flatMap((flag) => {
    const issue = inheritedRegexLimitIssues(flag, segments)[0];
    return issue ? [{ flag: flag.key, message: issue.message }] : [];
  });
  if (over.length === 0) return undefined;
  return new ApiError({
    status: 409,
    message: `Segment ${next.key} would push flag ${over[0]!.flag} over its regex limits: ${over[0]!.message}`,
    details: { flags: over },
  });
}

export function createSegmentService({ store, onChange }: SegmentServiceOptions) {
  const commits = createCommits({ store, publish: onChange });

  async function assertProject(project: string): Promise<void> {
    if (!(await store.getProject(project))) throw new ApiError({ status: 404, message: `No project ${project}` });
  }

  async function stored(project: string, key: string): Promise<StoredSegment> {
    const segment = await store.getSegment(project, key);
    if (!segment) throw new ApiError({ status: 404, message: `No segment ${key}` });
    return segment;
  }

  function atVersion(segment: StoredSegment, expected: number): StoredSegment {
    if (segment.version !== expected)
      throw new ApiError({
        status: 409,
        message: `Segment ${segment.key} changed since version ${expected}`,
        details: { currentVersion: segment.version },
      });
    return segment;
  }

  const recordHistory = async (project: string, segment: StoredSegment, previous: StoredSegment | undefined) => {
    await store.putSegmentHistory(project, {
      version: segment.version,
      actor: segment.lastChange.actor,
      at: segment.lastChange.at,
      action: segment.lastChange.action,
      diff: previous ? changesBetween(previous, segment) : [],
      segment,
    });
  };

  /** The one conditional write, the history entry, then a publish of every deployment of a flag using it. */
  async function commit(project: string, next: StoredSegment, previous: StoredSegment | undefined) {
    const issues = await regexIssues(next);
    if (issues.length) throw invalid(issues);
    // A new segment is used by no flag yet; an edited one by the flags that name it now.
    const [flags, segments] = previous
      ? await Promise.all([store.listFlags(project), store.listSegments(project)])
      : [[], []];
    const users = usersOf(flags, next.key);
    const tooMany = overLimit(users, new Map([...byKey(segments), [next.key, next]]), next);
    if (tooMany) throw tooMany;
    await commits.commit({
      project,
      async write() {
        const result = await store.putSegment(project, next, previous?.version);
        if (!result.written)
          throw new ConflictError(
            previous ? `Segment ${next.key} changed since version ${previous.version}` : `Segment ${next.key} exists`,
            result.current,
          );
      },
      history: () => recordHistory(project, next, previous),
      publish: [...new Set(users.flatMap((flag) => flag.deployments))],
    });
    return next;
  }

  function stamp(segment: Segment, previous: StoredSegment | undefined, actor: string, action: string) {
    const at = new Date().toISOString();
    return {
      ...segment,
      version: (previous?.version ?? 0) + 1,
      createdAt: previous?.createdAt ?? at,
      updatedAt: at,
      lastChange: { actor, at, action },
    } satisfies StoredSegment;
  }

  const unchanged = (segment: StoredSegment, definition: Segment) =>
    changesBetween(definitionOf(segment), definition).length === 0;

  async function historyEntry(project: string, key: string, version: number): Promise<SegmentHistoryEntry> {
    const entry = await store.getSegmentHistory(project, key, version);
    if (!entry) throw new ApiError({ status: 404, message: `No version ${version} of segment ${key}` });
    return entry;
  }

  return {
    /** The project's segments by key, each with the flags using it, filtered by text (key, name, description). */
    async list(project: string, filter: { q?: string | undefined } = {}): Promise<SegmentView[]> {
      await assertProject(project);
      const text = filter.q?.toLowerCase();
      const [segments, flags] = await Promise.all([store.listSegments(project), store.listFlags(project)]);
      return segments
        .filter((s) => !text || [s.key, s.name, s.description].some((field) => field.toLowerCase().includes(text)))
        .sort((a, b) => a.key.localeCompare(b.key))
        .map((s) => ({ ...s, usedBy: usersOf(flags, s.key).map((f) => f.key) }));
    },

    /** The flags whose targeting names the segment (what review of a segment edit looks at). */
    flagsUsing: async (project: string, key: string): Promise<Flag[]> => usersOf(await store.listFlags(project), key),

    async get(project: string, key: string): Promise<SegmentView> {
      const [segment, flags] = await Promise.all([stored(project, key), store.listFlags(project)]);
      return { ...segment, usedBy: usersOf(flags, key).map((f) => f.key) };
    },

    async create(project: string, segment: Segment, actor: string): Promise<StoredSegment> {
      await assertProject(project);
      try {
        return await commit(project, stamp(segment, undefined, actor, "create"), undefined);
      } catch (error) {
        // A retry of this very create, whose answer was lost: answer what it made.
        const existing =
          error instanceof ApiError && error.status === 409 ? await store.getSegment(project, segment.key) : undefined;
        if (existing && existing.version === 1 && existing.lastChange.actor === actor && unchanged(existing, segment))
          return existing;
        throw error;
      }
    },

    async update(project: string, segment: Segment, expected: number, actor: string): Promise<StoredSegment> {
      const current = await stored(project, segment.key);
      if (current.version === expected + 1 && current.lastChange.actor === actor && unchanged(current, segment))
        return current; // the retry of this very write, which landed
      const previous = atVersion(current, expected);
      return commit(project, stamp(segment, previous, actor, "update"), previous);
    },

    /**
     * Deletes the segment at the version read. Refused (409 naming them in `details.usedBy`) while
     * flags name it; its history stays readable and ends with a `delete` entry.
     */
    async delete(project: string, key: string, expected: number, actor: string): Promise<{ deleted: string }> {
      const previous = atVersion(await stored(project, key), expected);
      const users = usersOf(await store.listFlags(project), key).map((f) => f.key);
      if (users.length)
        throw new ApiError({
          status: 409,
          message: `Segment ${key} is used by ${users.length === 1 ? "flag" : "flags"} ${users.join(", ")}: remove it from their targeting first`,
          details: { usedBy: users },
        });
      if (!(await store.deleteSegment(project, key, previous.version)))
        throw new ApiError({ status: 409, message: `Segment ${key} changed since version ${expected}` });
      const last = stamp(definitionOf(previous), previous, actor, "delete");
      await store.putSegmentHistory(project, {
        version: last.version,
        actor,
        at: last.updatedAt,
        action: "delete",
        diff: [],
        segment: last,
      });
      return { deleted: key };
    },

    async history(project: string, key: string): Promise<SegmentHistoryEntry[]> {
      await stored(project, key);
      return store.listSegmentHistory(project, key);
    },

    version: historyEntry,

    /** Makes an earlier version's definition current again, as a new version. */
    async restore(project: string, key: string, version: number, expected: number, actor: string) {
      const previous = atVersion(await stored(project, key), expected);
      const { segment: old } = await historyEntry(project, key, version);
      return commit(project, stamp(definitionOf(old), previous, actor, `restore v${version}`), previous);
    },
  };
}

export type SegmentService = ReturnType<typeof createSegmentService>;
