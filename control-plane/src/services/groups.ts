/**
 * Mutual-exclusion groups and holdouts: project resources flags join through `groups`. A
 * save is committed like every change (../commit/commit.ts): one conditional write on the
 * version read, the change counter, the version's history entry (who, when, how, the diff),
 * then a publish of every deployment (any flag may be in the group). Versioned as segments
 * are: any past version can be read and restored as a new one, and a retried write that
 * landed answers what it made.
 */
import { groupSchema, type Group } from "../../../shared/authoring/schema.js";
import { ApiError } from "../../../shared/http/errors.js";
import { createCommits } from "../commit/commit.js";
import { changesBetween } from "../commit/history.js";
import type { GroupHistoryEntry, Store, StoredGroup } from "../db/store.js";

export interface GroupServiceOptions {
  store: Store;
  /** Called after a committed change with the deployments it touches (local: publish now). */
  onChange: (project: string, deployments: string[]) => Promise<void>;
}

/** A group from before versions were kept reads as version 0 (it has no history entry). */
const versioned = (group: StoredGroup): StoredGroup => ({ ...group, version: group.version ?? 0 });

export function createGroupService({ store, onChange }: GroupServiceOptions) {
  const commits = createCommits({ store, publish: onChange });

  async function get(project: string, key: string): Promise<StoredGroup> {
    const group = await store.getGroup(project, key);
    if (!group) throw new ApiError({ status: 404, message: `No group ${key} in project ${project}` });
    return versioned(group);
  }

  function atVersion(group: StoredGroup, expected: number): StoredGroup {
    if (group.version !== expected)
      throw new ApiError({
        status: 409,
        message: `Group ${group.key} changed since version ${expected}`,
        details: { currentVersion: group.version },
      });
    return group;
  }

  /**
   * Whether `current` is this very write by `actor`, landed (its answer lost): its version's
   * entry names the actor and the group is what was sent.
   */
  async function landed(project: string, current: StoredGroup, group: Group, actor: string): Promise<boolean> {
    const entry = await store.getGroupHistory(project, current.key, current.version);
    return entry?.actor === actor && changesBetween(groupSchema.parse(current), group).length === 0;
  }

  /** The one conditional write on the version read (none: a new group), its history entry, a publish of all. */
  async function commit(
    project: string,
    group: Group,
    previous: StoredGroup | undefined,
    actor: string,
    action: string,
  ): Promise<StoredGroup> {
    const saved: StoredGroup = { ...group, version: (previous?.version ?? 0) + 1 };
    const at = new Date().toISOString();
    const entry: GroupHistoryEntry = {
      version: saved.version,
      actor,
      at,
      action,
      diff: previous ? changesBetween(previous, saved) : [],
      group: saved,
    };
    await commits.commit({
      project,
      write: () => store.putGroup(project, saved, previous?.version),
      history: () => store.putGroupHistory(project, entry).then(() => undefined),
      publish: "all",
    });
    return saved;
  }

  async function historyEntry(project: string, key: string, version: number): Promise<GroupHistoryEntry> {
    const entry = await store.getGroupHistory(project, key, version);
    if (!entry) throw new ApiError({ status: 404, message: `No version ${version} of group ${key}` });
    return entry;
  }

  /** Replaces the group if it is still at `expected`; the retry of this very write, which landed, answers it. */
  async function update(project: string, group: Group, expected: number, actor: string): Promise<StoredGroup> {
    const current = await get(project, group.key);
    if (current.version === expected + 1 && (await landed(project, current, group, actor))) return current;
    return commit(project, group, atVersion(current, expected), actor, "update");
  }

  return {
    /** The project's groups; one from before versions were kept reads as version 0. */
    async list(project: string): Promise<StoredGroup[]> {
      return (await store.listGroups(project)).map(versioned);
    },

    /** One group (404 if there is none). */
    get,

    /**
     * Creates the group, or replaces it if it is still at the version the caller read
     * (`expectedVersion`, asked for only when the group exists: creating needs none).
     */
    async save(project: string, group: Group, expectedVersion: () => number, actor: string): Promise<StoredGroup> {
      const existing = await store.getGroup(project, group.key);
      if (!existing) return commit(project, group, undefined, actor, "create");
      let expected: number;
      try {
        expected = expectedVersion();
      } catch (error) {
        // A create's retry, whose answer was lost, sends no version (there was none): answer what it made.
        const current = versioned(existing);
        if (current.version === 1 && (await landed(project, current, group, actor))) return current;
        throw error;
      }
      return update(project, group, expected, actor);
    },

    update,

    /** Every version with who changed it, when, how and the diff (none before versions were recorded). */
    async history(project: string, key: string): Promise<GroupHistoryEntry[]> {
      await get(project, key);
      return store.listGroupHistory(project, key);
    },

    version: historyEntry,

    /** Makes an earlier version's definition current again, as a new version. */
    async restore(project: string, key: string, version: number, expected: number, actor: string) {
      const previous = atVersion(await get(project, key), expected);
      const { group: old } = await historyEntry(project, key, version);
      return commit(project, groupSchema.parse(old), previous, actor, `restore v${version}`);
    },
  };
}

export type GroupService = ReturnType<typeof createGroupService>;
