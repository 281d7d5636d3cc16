/**
 * Mutual-exclusion groups and holdouts: project resources flags join through `groups`. A
 * save is committed like every change (../commit/commit.ts): one conditional write on the
 * version read, the change counter, then a publish of every deployment (any flag may be in
 * the group). Groups keep no history.
 */
import type { Group } from "../../../shared/authoring/schema.js";
import { ApiError } from "../../../shared/http/errors.js";
import { createCommits } from "../commit/commit.js";
import type { Store, StoredGroup } from "../db/store.js";

export interface GroupServiceOptions {
  store: Store;
  /** Called after a committed change with the deployments it touches (local: publish now). */
  onChange: (project: string, deployments: string[]) => Promise<void>;
}

export function createGroupService({ store, onChange }: GroupServiceOptions) {
  const commits = createCommits({ store, publish: onChange });
  return {
    /** The project's groups; one from before versions were kept reads as version 0. */
    async list(project: string): Promise<StoredGroup[]> {
      return (await store.listGroups(project)).map((g) => ({ ...g, version: g.version ?? 0 }));
    },

    /** One group (404 if there is none); one from before versions were kept reads as version 0. */
    async get(project: string, key: string): Promise<StoredGroup> {
      const group = await store.getGroup(project, key);
      if (!group) throw new ApiError({ status: 404, message: `No group ${key} in project ${project}` });
      return { ...group, version: group.version ?? 0 };
    },

    /**
     * Creates the group, or replaces it if it is still at the version the caller read
     * (`expectedVersion`, asked for only when the group exists: creating needs none).
     */
    async save(project: string, group: Group, expectedVersion: () => number): Promise<StoredGroup> {
      const existing = await store.getGroup(project, group.key);
      const expected = existing ? expectedVersion() : undefined;
      const saved: StoredGroup = { ...group, version: (expected ?? 0) + 1 };
      await commits.commit({ project, write: () => store.putGroup(project, saved, expected), publish: "all" });
      return saved;
    },
  };
}

export type GroupService = ReturnType<typeof createGroupService>;
