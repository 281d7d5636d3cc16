/** A project: its flags and experiments, metric catalog, deployments (keys, replication), groups, and "try a user". */
import { Link } from "wouter-preact";
import { api } from "../api.js";
import { Loading, useLoad } from "../components.js";
import type { Project } from "../types.js";
import { AuditLogTab } from "./audit-log.js";
import { ChangeRequestsList } from "./change-requests.js";
import { DeploymentsTab } from "./deployments.js";
import { FlagsTab } from "./flags.js";
import { GroupsTab } from "./groups.js";
import { MetricsTab } from "./metrics.js";
import { SegmentsTab } from "./segments.js";
import { NotificationsTab } from "./notifications.js";
import { SettingsTab } from "./settings.js";
import { TryUserTab } from "./try-user.js";

const TABS = [
  ["flags", "Flags & experiments"],
  ["metrics", "Metric catalog"],
  ["deployments", "Deployments & keys"],
  ["groups", "Groups & holdouts"],
  ["segments", "Segments"],
  ["try", "Try a user"],
  ["audit", "Audit log"],
  ["requests", "Change requests"],
  ["notifications", "Notifications"],
  ["settings", "Settings"],
] as const;

export function ProjectPage({ project, tab }: { project: string; tab: string }) {
  const state = useLoad(() => api.get<Project>(`/projects/${project}`), [project]);
  return (
    <Loading state={state}>
      {(p) => (
        <>
          <p class="crumbs">
            <Link href="/">Projects</Link> /
          </p>
          <h1>
            {p.name} <code>{p.key}</code>
          </h1>
          <nav class="tabs" aria-label="Project">
            {TABS.map(([key, label]) => (
              <Link
                key={key}
                href={`/projects/${project}/${key}`}
                class={tab === key ? "active" : ""}
                aria-current={tab === key ? "page" : undefined}
              >
                {label}
              </Link>
            ))}
          </nav>
          {tab === "flags" && <FlagsTab project={project} />}
          {tab === "metrics" && <MetricsTab project={project} />}
          {tab === "deployments" && <DeploymentsTab project={project} />}
          {tab === "groups" && <GroupsTab project={project} />}
          {tab === "segments" && <SegmentsTab project={project} />}
          {tab === "try" && <TryUserTab project={project} />}
          {tab === "audit" && <AuditLogTab project={project} />}
          {tab === "requests" && <ChangeRequestsList project={project} />}
          {tab === "notifications" && <NotificationsTab project={project} />}
          {tab === "settings" && <SettingsTab project={p} onSaved={state.reload} />}
        </>
      )}
    </Loading>
  );
}
