/**
 * The flags list: search, filter by type and status (server-side) and by staleness (stale-flags.tsx), sort by last
 * change or name.
 */
import { useState } from "preact/hooks";
import { Link } from "wouter-preact";
import { api, statsApi } from "../api.js";
import { conclude } from "../conclusion.js";
import { Loading, Select, StatusBadge, useLoad, when } from "../components.js";
import { useSignificant } from "./notifications.js";
import { passesStaleFilter, STALE_FILTERS, StaleNote, useStaleFlags, type StaleFilter } from "./stale-flags.js";
import { useCan } from "../me.js";
import type { Flag, Report } from "../types.js";

type Status = "" | Flag["status"];
type Type = "" | "release" | "experiment";
/** A release flag is active or inactive, an experiment draft → running → stopped → decided; both can be archived. */
const STATUSES: Record<Type, Array<readonly [Status, string]>> = {
  release: [
    ["active", "active"],
    ["inactive", "inactive"],
    ["archived", "archived"],
  ],
  experiment: [
    ["draft", "draft"],
    ["running", "running"],
    ["stopped", "stopped"],
    ["decided", "decided"],
    ["archived", "archived"],
  ],
  "": [
    ["active", "active (release flags)"],
    ["inactive", "inactive (release flags)"],
    ["draft", "draft (experiments)"],
    ["running", "running (experiments)"],
    ["stopped", "stopped (experiments)"],
    ["decided", "decided (experiments)"],
    ["archived", "archived"],
  ],
};
type Sort = "changed-desc" | "changed-asc" | "name";

export function FlagsTab({ project }: { project: string }) {
  const significant = useSignificant(project);
  const [q, setQ] = useState("");
  const [type, setType] = useState<Type>("");
  const [status, setStatus] = useState<Status>("");
  // A status the new type never has would filter everything out: drop it.
  const chooseType = (next: Type) => {
    setType(next);
    if (status && !STATUSES[next].some(([s]) => s === status)) setStatus("");
  };
  const [sort, setSort] = useState<Sort>("changed-desc");
  const [staleFilter, setStaleFilter] = useState<StaleFilter>("");
  const stale = useStaleFlags(project);
  const can = useCan();
  const query = new URLSearchParams({
    ...(q ? { q } : {}),
    ...(type ? { type } : {}),
    ...(status ? { status } : {}),
  }).toString();
  const flags = useLoad(
    () => api.get<Flag[]>(`/projects/${project}/flags${query ? `?${query}` : ""}`),
    [project, query],
  );
  const sorted = (list: Flag[]) =>
    list
      .filter((flag) => passesStaleFilter(staleFilter, stale, flag.key))
      .sort((a, b) =>
        sort === "name"
          ? a.name.localeCompare(b.name)
          : sort === "changed-asc"
            ? a.updatedAt.localeCompare(b.updatedAt)
            : b.updatedAt.localeCompare(a.updatedAt),
      );

  return (
    <section>
      <div class="toolbar">
        <label class="field grow">
          <span class="field-label">Search</span>
          <input
            type="search"
            placeholder="Key, name or description"
            value={q}
            onInput={(e) => setQ(e.currentTarget.value)}
          />
        </label>
        <Select
          label="Type"
          value={type}
          options={
            [
              ["", "All types"],
              ["release", "Release flags"],
              ["experiment", "Experiments"],
            ] as const
          }
          onChange={chooseType}
        />
        <Select
          label="Status"
          value={status}
          options={[["", "Any status"] as const, ...STATUSES[type]]}
          onChange={setStatus}
        />
        <Select label="Staleness" value={staleFilter} options={STALE_FILTERS} onChange={setStaleFilter} />
        <Select
          label="Sort"
          value={sort}
          options={
            [
              ["changed-desc", "Last changed, newest first"],
              ["changed-asc", "Last changed, oldest first"],
              ["name", "Name"],
            ] as const
          }
          onChange={setSort}
        />
        {can.edit && (
          <span class="new-links">
            <Link href={`/projects/${project}/guide/experiment`} class="button primary">
              New experiment
            </Link>
            <Link href={`/projects/${project}/guide/release`} class="button">
              New release flag
            </Link>
            <Link href={`/projects/${project}/flags/new`} class="button">
              Full editor
            </Link>
          </span>
        )}
      </div>
      <Loading state={flags}>
        {(list) =>
          sorted(list).length === 0 ? (
            query || staleFilter ? (
              <p class="muted">No flag or experiment matches these filters.</p>
            ) : (
              <p class="muted">
                No flags or experiments yet.{" "}
                {can.edit && <Link href={`/projects/${project}/flags/new`}>Create the first one</Link>}
              </p>
            )
          ) : (
            <table class="list">
              <thead>
                <tr>
                  <th scope="col">Flag</th>
                  <th scope="col">Type</th>
                  <th scope="col">Status</th>
                  <th scope="col">Results</th>
                  <th scope="col">Rollout</th>
                  <th scope="col">Deployments</th>
                  <th scope="col">Last change</th>
                </tr>
              </thead>
              <tbody>
                {sorted(list).map((flag) => (
                  <tr key={flag.key} data-flag={flag.key}>
                    <td>
                      <Link href={`/projects/${project}/flags/${flag.key}`}>{flag.name}</Link>
                      <div>
                        <code class="muted">{flag.key}</code>
                      </div>
                    </td>
                    <td>{flag.type}</td>
                    <td>
                      <StatusBadge status={flag.status} />
                      {significant.has(flag.key) && (
                        <span class="badge significant" title="The watcher found the primary metric significant">
                          {" "}
                          significant
                        </span>
                      )}
                      <StaleNote staleness={stale.get(flag.key)} />
                    </td>
                    <td>
                      <ResultCell project={project} flag={flag} />
                    </td>
                    <td>{flag.rollout}%</td>
                    <td>{flag.deployments.join(", ") || <span class="muted">none</span>}</td>
                    <td>
                      {flag.lastChange.actor} <span class="muted">({flag.lastChange.action})</span>
                      <div class="muted">{when(flag.updatedAt)}</div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loading>
    </section>
  );
}

/** An experiment's state of play in a few words, linking to its results; a running one's conclusion so far. */
function ResultCell({ project, flag }: { project: string; flag: Flag }) {
  const live = flag.type === "experiment" && (flag.status === "running" || flag.status === "stopped");
  const report = useLoad(
    () =>
      live
        ? statsApi.get<Report>(`/projects/${project}/experiments/${flag.key}/report`).catch(() => undefined)
        : Promise.resolve(undefined),
    [project, flag.key, flag.version],
  );
  if (flag.type !== "experiment") return <span class="muted">—</span>;
  const text =
    flag.status === "decided"
      ? `shipped ${flag.decidedVariant ?? "a variant"}`
      : flag.status === "draft" || !flag.analysisPeriods?.length
        ? "not started"
        : report.data
          ? conclude(report.data).headline
          : report.loading
            ? "…"
            : flag.status;
  return (
    <Link href={`/projects/${project}/flags/${flag.key}/results`} data-testid={`results-${flag.key}`}>
      {text}
    </Link>
  );
}
