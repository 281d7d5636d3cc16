/**
 * The control plane's write path, one for every resource. A change is committed in four steps:
 *
 * 1. **write**: its one conditional write on the item that owns it (a lost race is a
 *    `ConflictError`, answered as a 409 with the current version: never a lost update);
 *    `verify`, when given, then checks what only a landed write can (a flag's deployments still
 *    exist), undoing the write and throwing to refuse it;
 * 2. **sequence**: the project's change counter moves, after the write, so a publisher that
 *    compiled before it sees the counter move and publishes again;
 * 3. **history**: the change's history entry (idempotent, keyed by version; `history.ts`), then
 *    the `committed` hook (notifications);
 * 4. **publish**: the deployments the change touches (locally at once; in the cloud the API's
 *    `publish` does nothing and the replicator publishes from the table's stream).
 *
 * Steps 2–4 are idempotent: `finish` reruns them for a write that landed but whose follow-up did
 * not (a retried request, recognised by its service), the replicator runs 3–4 for the changes in
 * a stream batch (`followUp`), and reconcile repairs 3 and 4 from what is stored.
 *
 * A new resource commits its changes here, in a few lines:
 *
 *     const commits = createCommits({ store, publish: onChange });
 *     await commits.commit({
 *       project,
 *       write: () => store.putSegment(project, next, expected), // throws ConflictError on a lost race
 *       history: () => recordSegmentHistory(store, project, next, previous), // optional
 *       publish: "all", // or the deployment keys it touches; absent: not counted, nothing published
 *     });
 *
 * Flags (`flagChange`), groups (`"all"`), deployments and the metric catalog (no publish) go
 * through it; see docs/architecture.md, "The write path".
 */
import type { Flag } from "../../../shared/authoring/schema.js";
import { ApiError } from "../../../shared/http/errors.js";
import { ConflictError, type Store } from "../db/store.js";
import { recordHistory } from "./history.js";

/** The deployments a change touches: their keys, or every deployment of the project (a group: any flag may join it). */
export type Targets = readonly string[] | "all";

export interface Change {
  project: string;
  /** 1. The one conditional write. A `ConflictError` it throws becomes the API's 409. */
  write: () => Promise<unknown>;
  /** 1. After the write landed: throws, having undone the write, when the change must not stand. */
  verify?: () => Promise<void>;
  /** 3. Writes the change's history entry; idempotent (a finish or reconcile may write it again). */
  history?: () => Promise<void>;
  /** 3. Told once the history entry is written (notifications). */
  committed?: () => Promise<void>;
  /**
   * 2, 4. What the change may alter on the edge. Absent: it is not counted and publishes nothing
   * (the metric catalog: experiments copy its definitions, nothing served reads it).
   */
  publish?: Targets;
}

/** What follows a change committed elsewhere (the replicator's stream records): steps 3 and 4 only. */
export type FollowUp = Pick<Change, "project" | "history" | "publish">;

export interface CommitOptions {
  store: Pick<Store, "nextSeq" | "listDeployments">;
  /** Publishes deployments after a change (the API's `onChange`); absent: nothing is published. */
  publish?: (project: string, deployments: string[]) => Promise<void>;
}

/** A lost conditional write (ConflictError from the store) as the API's 409, with the current version when known. */
export async function conflictTo409<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ConflictError) {
      throw new ApiError({
        status: 409,
        message: error.message,
        details: error.current === undefined ? undefined : { currentVersion: error.current },
      });
    }
    throw error;
  }
}

/** The keys of `targets`, every deployment of the project read now for "all". */
export async function deploymentsOf(
  store: Pick<Store, "listDeployments">,
  project: string,
  targets: Targets,
): Promise<string[]> {
  return targets === "all" ? (await store.listDeployments(project)).map((d) => d.key) : [...targets];
}

/**
 * What follows a flag's change, whoever made it: the history entry of `next` (none for a
 * deletion seen on the stream: the API wrote it) and a publish of the deployments it was
 * served on before and after.
 */
export function flagChange(
  store: Pick<Store, "putHistory">,
  project: string,
  next: Flag | undefined,
  previous: Flag | undefined,
): Pick<Change, "history" | "publish"> {
  return {
    ...(next ? { history: () => recordHistory(store, project, next, previous) } : {}),
    publish: [...new Set([...(previous?.deployments ?? []), ...(next?.deployments ?? [])])],
  };
}

export function createCommits({ store, publish }: CommitOptions) {
  /** Steps 2–4 of a change whose write landed: idempotent, so a retry may run them again. */
  async function finish(change: Change): Promise<void> {
    await change.verify?.();
    if (change.publish) await store.nextSeq(change.project);
    await change.history?.();
    await change.committed?.();
    if (change.publish && publish)
      await publish(change.project, await deploymentsOf(store, change.project, change.publish));
  }

  return {
    /** Commits one change: its conditional write, then the sequence, history and publish. */
    async commit(change: Change): Promise<void> {
      await conflictTo409(change.write);
      await finish(change);
    },
    finish,
  };
}

export type Commits = ReturnType<typeof createCommits>;

/**
 * Steps 3 and 4 for changes another process committed (a stream batch): each history entry in
 * order, then one publish per deployment touched. Returns the deployments published.
 */
export async function followUp(
  store: Pick<Store, "listDeployments">,
  publish: (project: string, deployment: string) => Promise<void>,
  changes: readonly FollowUp[],
): Promise<Array<[string, string]>> {
  const targets = new Map<string, [string, string]>();
  for (const change of changes) {
    await change.history?.();
    if (!change.publish) continue;
    for (const d of await deploymentsOf(store, change.project, change.publish))
      targets.set(`${change.project}\u0000${d}`, [change.project, d]);
  }
  for (const [project, deployment] of targets.values()) await publish(project, deployment);
  return [...targets.values()];
}
