/** One flag or experiment: what it serves, its lifecycle buttons, and tabs for results and history. */
import { Link } from "wouter-preact";
import { api } from "../api.js";
import { Loading, StatusBadge, useLoad, when } from "../components.js";
import type { Flag } from "../types.js";
import { BriefTab } from "./brief.js";
import { HistoryTab } from "./history.js";
import { Lifecycle } from "./lifecycle.js";
import { Overview } from "./overview.js";
import { ResultsTab } from "./results.js";
import { SchedulesSection } from "./schedules.js";

const TABS = [
  ["overview", "Overview"],
  ["results", "Results"],
  ["brief", "Brief"],
  ["history", "History"],
] as const;

export function FlagPage({ project, flagKey, tab }: { project: string; flagKey: string; tab: string }) {
  const state = useLoad(() => api.get<Flag>(`/projects/${project}/flags/${flagKey}`), [project, flagKey]);
  return (
    <Loading state={state}>
      {(flag) => (
        <>
          <p class="crumbs">
            <Link href="/">Projects</Link> / <Link href={`/projects/${project}`}>{project}</Link> /
          </p>
          <h1>
            {flag.name} <code>{flag.key}</code> <StatusBadge status={flag.status} />
          </h1>
          <p class="muted">
            {flag.type === "experiment" ? "Experiment" : "Release flag"} · version {flag.version} · last change{" "}
            {/* A schedule's actor reads "scheduled by <name>" already. */}
            {flag.lastChange.actor.startsWith("scheduled by ") ? "" : "by "}
            {flag.lastChange.actor} ({flag.lastChange.action}) {when(flag.updatedAt)}
          </p>
          {/* Keyed: what one flag confirmed or undid must not show on the next one opened. */}
          <Lifecycle key={flag.key} project={project} flag={flag} onChange={state.reload} />
          <nav class="tabs" aria-label="Flag">
            {TABS.filter(([key]) => (key !== "results" && key !== "brief") || flag.type === "experiment").map(
              ([key, label]) => (
                <Link
                  key={key}
                  href={`/projects/${project}/flags/${flag.key}/${key}`}
                  class={tab === key ? "active" : ""}
                  aria-current={tab === key ? "page" : undefined}
                >
                  {label}
                </Link>
              ),
            )}
          </nav>
          {tab === "overview" && <Overview project={project} flag={flag} />}
          {tab === "overview" && <SchedulesSection project={project} flag={flag} onChange={state.reload} />}
          {tab === "results" && <ResultsTab project={project} flag={flag} />}
          {tab === "brief" && <BriefTab project={project} flag={flag} />}
          {tab === "history" && <HistoryTab project={project} flag={flag} onRestored={state.reload} />}
        </>
      )}
    </Loading>
  );
}
