/**
 * Projects and their deployments. A deployment has a client key (remote evaluation)
 * and a server key (also flag configs); rotating one retires the old key, which the
 * next publish removes from KV.
 */
import { randomBytes } from "node:crypto";
import { toEvaluationFlags } from "../../../shared/authoring/to-evaluation-model.js";
import { compile, userToContext } from "../../../shared/evaluation/index.js";
import { ApiError } from "../../../shared/http/errors.js";
import { kvNameForApiKey } from "../../../shared/deployment-document.js";
import { keys } from "../../../shared/node/control-plane-table.js";
import { createCommits } from "../commit/commit.js";
import { recordHistory } from "../commit/history.js";
import type { Deployment, Project, PublishState, Store } from "../db/store.js";
import type { EvaluationExplained } from "../routes/schemas.js";
import { conflictTo409 } from "./conflicts.js";
import type { KvWriter } from "../publish/kv-writer.js";
import type { Publisher } from "../publish/publisher.js";
import { byKey } from "../segments/segment-store.js";

export const newApiKey = (kind: "client" | "server"): string => `${kind}-${randomBytes(18).toString("base64url")}`;

export interface DeploymentView extends Deployment {
  publish: PublishState | { status: "pending" };
}

export function createDeploymentService({
  store,
  publisher,
  kv,
}: {
  store: Store;
  publisher: Publisher;
  kv: KvWriter;
}) {
  // A deployment's own change publishes at once, also in the cloud: the answer shows its publish state.
  const commits = createCommits({
    store,
    publish: async (projectKey, keys) => {
      for (const key of keys) await publisher.publish(projectKey, key);
    },
  });

  async function project(key: string): Promise<Project> {
    const found = await store.getProject(key);
    if (!found) throw new ApiError({ status: 404, message: `No project ${key}` });
    return found;
  }

  async function deployment(projectKey: string, key: string): Promise<Deployment> {
    await project(projectKey);
    const found = await store.getDeployment(projectKey, key);
    if (!found) throw new ApiError({ status: 404, message: `No deployment ${key} in project ${projectKey}` });
    return found;
  }

  const view = async (projectKey: string, d: Deployment): Promise<DeploymentView> => ({
    ...d,
    publish: (await store.getPublishState(projectKey, d.key)) ?? { status: "pending" },
  });

  return {
    project,
    listProjects: () => store.listProjects(),
    async createProject(key: string, name: string): Promise<Project> {
      const created = { key, name, createdAt: new Date().toISOString() };
      await conflictTo409(() => store.createProject(created));
      return created;
    },

    /** Archives (or, `archived` false, unarchives) a project: the step before deleting it. */
    async archiveProject(key: string, archived: boolean): Promise<Project> {
      const current = await project(key);
      if (Boolean(current.archivedAt) === archived) return current; // already so: a retry, or a second click
      const { archivedAt: _, ...rest } = current;
      const next: Project = archived ? { ...rest, archivedAt: new Date().toISOString() } : rest;
      await conflictTo409(() => store.replaceProject(current, next));
      return next;
    },

    /**
     * Sets the user properties the edge keeps with each exposure beyond the built-in ones (for
     * breakdowns): a change to every deployment's document, so committed with a publish of all.
     */
    async setBreakdownProperties(key: string, properties: readonly string[]): Promise<Project> {
      const current = await project(key);
      const { breakdownProperties: _, ...rest } = current;
      const next: Project = properties.length > 0 ? { ...rest, breakdownProperties: [...properties] } : rest;
      if (JSON.stringify(next) === JSON.stringify(current)) return current; // unchanged: nothing to publish
      await commits.commit({ project: key, write: () => store.replaceProject(current, next), publish: "all" });
      return next;
    },

    /**
     * Sets how many days the event store keeps the project's events (`undefined`: the default).
     * Nothing is published: the stats service reads it from the record at its next upkeep.
     */
    async setEventRetention(key: string, days: number | undefined): Promise<Project> {
      const current = await project(key);
      const { eventRetentionDays: _, ...rest } = current;
      const next: Project = days === undefined ? rest : { ...rest, eventRetentionDays: days };
      if (JSON.stringify(next) === JSON.stringify(current)) return current; // unchanged: a retry
      await conflictTo409(() => store.replaceProject(current, next));
      return next;
    },

    /**
     * Deletes an archived project, given its key again as confirmation, with everything in it: its flags (each
     * gets a last history entry, "delete project"), groups, deployments and their documents on the edge (the API
     * keys stop working at once). Returns what was deleted.
     */
    async removeProject(key: string, confirm: string | undefined, actor: string) {
      const current = await project(key);
      if (!current.archivedAt)
        throw new ApiError({ status: 409, message: `Project ${key} is not archived: archive it before deleting it` });
      if (confirm !== key)
        throw new ApiError({
          status: 400,
          message: `Deleting project ${key} and everything in it cannot be undone: confirm with ?confirm=${key}`,
          details: { path: ["confirm"] },
        });
      const [flags, groups, deploymentList] = await Promise.all([
        store.listFlags(key),
        store.listGroups(key),
        store.listDeployments(key),
      ]);
      const at = new Date().toISOString();
      for (const flag of flags) {
        const deleted = {
          ...flag,
          version: flag.version + 1,
          updatedAt: at,
          lastChange: { actor, at, action: "delete project" },
        };
        await recordHistory(store, key, deleted, undefined); // no diff: the whole flag goes
      }
      // The edge first: once a deployment's documents are gone its keys serve nothing, whatever happens next.
      for (const d of deploymentList)
        await kv.delete([d.clientKey, d.serverKey, ...d.retiredKeys].map(kvNameForApiKey));
      await store.deleteProjectItems(key, [
        ...flags.map((f) => keys.flag(key, f.key)),
        ...groups.map((g) => keys.group(key, g.key)),
        ...deploymentList.flatMap((d) => [keys.deployment(key, d.key), keys.publish(key, d.key)]),
      ]);
      return {
        project: key,
        flags: flags.map((f) => f.key),
        groups: groups.map((g) => g.key),
        deployments: deploymentList.map((d) => d.key),
      };
    },

    async get(projectKey: string, key: string): Promise<DeploymentView> {
      return view(projectKey, await deployment(projectKey, key));
    },
    async list(projectKey: string): Promise<DeploymentView[]> {
      await project(projectKey);
      return Promise.all((await store.listDeployments(projectKey)).map((d) => view(projectKey, d)));
    },
    async create(projectKey: string, key: string, name: string): Promise<DeploymentView> {
      await project(projectKey);
      const created: Deployment = {
        key,
        name,
        clientKey: newApiKey("client"),
        serverKey: newApiKey("server"),
        retiredKeys: [],
        createdAt: new Date().toISOString(),
      };
      // Counted as a change: a publisher holding the lease must see it.
      await commits.commit({
        project: projectKey,
        write: () => store.putDeployment(projectKey, created),
        publish: [key],
      });
      return view(projectKey, created);
    },
    async rotate(projectKey: string, key: string, which: Array<"client" | "server">): Promise<DeploymentView> {
      const current = await deployment(projectKey, key);
      const next = { ...current, retiredKeys: [...current.retiredKeys] };
      for (const kind of which) {
        const field = kind === "client" ? "clientKey" : "serverKey";
        next.retiredKeys.push(current[field]);
        next[field] = newApiKey(kind);
      }
      // Counted as a change: a publisher already holding the lease (which read the old keys)
      // sees the counter move when it lets go, and publishes again with the new keys.
      await commits.commit({
        project: projectKey,
        write: () => store.putDeployment(projectKey, next, current),
        publish: [key],
      });
      return view(projectKey, next);
    },
    async remove(projectKey: string, key: string): Promise<void> {
      const current = await deployment(projectKey, key);
      // before the check (see store.deleteDeployment)
      const reference = await store.deploymentReference(projectKey, key);
      const serving = (await store.listFlags(projectKey)).filter((f) => f.deployments.includes(key)).map((f) => f.key);
      if (serving.length)
        throw new ApiError({
          status: 409,
          message: `Deployment ${key} still serves flags: ${serving.join(", ")}`,
          details: {
            flags: serving,
          },
        });
      await conflictTo409(() => store.deleteDeployment(projectKey, key, reference));
      await kv.delete([current.clientKey, current.serverKey, ...current.retiredKeys].map(kvNameForApiKey));
      await store.deletePublishState(projectKey, key);
    },
    /**
     * What every flag served on the deployment returns for a user, and why (the segment
     * that decided: a targeting segment, "Included in …", "Prerequisite …", "Holdout …", the
     * rollout's "All Other Users"), through the same compiler and engine as the edge, on
     * the flags as they are now.
     */
    async evaluate(
      projectKey: string,
      key: string,
      user: Record<string, unknown>,
    ): Promise<Record<string, EvaluationExplained>> {
      await deployment(projectKey, key);
      const [flags, groups, segments] = await Promise.all([
        store.listFlags(projectKey),
        store.listGroups(projectKey),
        store.listSegments(projectKey),
      ]);
      const compiled = compile(toEvaluationFlags(key, flags, byKey(groups), byKey(segments)));
      const explained: Record<string, EvaluationExplained> = {};
      for (const outcome of compiled.serve(userToContext(user))) {
        const { flagKey: flag, variant, reason } = outcome;
        const segment = variant.metadata?.["segmentName"];
        explained[flag] = {
          variant: variant.key ?? null,
          ...(variant.value === undefined ? {} : { value: variant.value }),
          ...(variant.payload === undefined ? {} : { payload: variant.payload }),
          reason,
          segment: typeof segment === "string" ? segment : null,
          exposure: outcome.exposure !== undefined,
        };
      }
      return explained;
    },
    async publish(projectKey: string, key: string): Promise<DeploymentView> {
      await deployment(projectKey, key);
      await publisher.publish(projectKey, key);
      return this.get(projectKey, key);
    },
  };
}

export type DeploymentService = ReturnType<typeof createDeploymentService>;
