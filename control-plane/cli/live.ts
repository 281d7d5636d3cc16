/** A project as the control plane holds it now: one read of each list, kept raw (with versions) for apply. */
import { type ApiClient, CliError } from "./client.js";
import { FROM_LIVE, type ProjectFile, RESOURCE_KINDS, type ResourceKind } from "./resources.js";

export type LiveRecord = Record<string, unknown> & { key: string; version?: number };

export interface LiveProject {
  key: string;
  /** Absent: no such project (apply creates it). */
  name: string | undefined;
  deployments: { key: string; name: string }[];
  resources: Record<ResourceKind, Map<string, LiveRecord>>;
}

const LIST_PATHS: Record<ResourceKind, string> = {
  metric: "metrics",
  group: "groups",
  segment: "segments",
  flag: "flags",
};

export async function readLive(client: ApiClient, project: string): Promise<LiveProject> {
  const base = `/projects/${encodeURIComponent(project)}`;
  const found = await client.request<{ name: string } | undefined>("GET", base, { notFound: "undefined" });
  const resources = Object.fromEntries(RESOURCE_KINDS.map((kind) => [kind, new Map()])) as LiveProject["resources"];
  if (!found) return { key: project, name: undefined, deployments: [], resources };
  const [deployments, ...lists] = await Promise.all([
    client.request<{ key: string; name: string }[]>("GET", `${base}/deployments`),
    ...RESOURCE_KINDS.map((kind) => client.request<LiveRecord[]>("GET", `${base}/${LIST_PATHS[kind]}`)),
  ]);
  RESOURCE_KINDS.forEach((kind, i) => {
    for (const record of lists[i]!) resources[kind].set(record.key, record);
  });
  return {
    key: project,
    name: found.name,
    deployments: deployments.map(({ key, name }) => ({ key, name })),
    resources,
  };
}

/** The live project as files hold it. */
export function liveAsFiles(live: LiveProject): {
  project: ProjectFile;
  resources: Record<ResourceKind, Record<string, unknown>[]>;
} {
  if (live.name === undefined) throw new CliError(`No project ${live.key} (or this token cannot see it)`);
  return {
    project: { key: live.key, name: live.name, deployments: live.deployments },
    resources: Object.fromEntries(
      RESOURCE_KINDS.map((kind) => [
        kind,
        [...live.resources[kind].values()].map((record) => FROM_LIVE[kind](record) as Record<string, unknown>),
      ]),
    ) as Record<ResourceKind, Record<string, unknown>[]>,
  };
}
