/** One flag or experiment: what it serves, its lifecycle buttons, and tabs for results and history. */
import { describeMetric } from "./metric-form.js";
import { useState } from "preact/hooks";
import { Link } from "wouter-preact";
import { api } from "../api.js";
import { ErrorBanner, Loading, StatusBadge, useAction, useLoad, when } from "../components.js";
import { useCan } from "../me.js";
import type { Flag } from "../types.js";
import { HistoryTab } from "./history.js";
import { ResultsTab } from "./results.js";
import { SchedulesSection } from "./schedules.js";

type Action = "start" | "stop" | "decide" | "activate" | "deactivate" | "archive" | "unarchive";

/** Which actions apply (the server decides; this only offers the ones it would accept) and what they do to traffic. */
function actionsFor(flag: Flag): Array<{ action: Action; label: string; effect: string; danger?: boolean }> {
  const experiment = flag.type === "experiment";
  const list: Array<{
    action: Action;
    label: string;
    effect: string;
    danger?: boolean;
    from: string[];
    experiment?: boolean;
  }> = [
    {
      action: "start",
      label: "Start experiment",
      effect: "buckets users into variants and counts exposures, in a new analysis period",
      from: ["draft", "stopped"],
      experiment: true,
    },
    {
      action: "stop",
      label: "Stop experiment",
      effect: "serves no variant: users get the SDK's fallback; analysis stops",
      from: ["running"],
      experiment: true,
      danger: true,
    },
    {
      action: "activate",
      label: "Activate",
      effect: "serves the flag to targeted users at its rollout",
      from: ["inactive"],
      experiment: false,
    },
    {
      action: "deactivate",
      label: "Deactivate",
      effect: experiment
        ? "stops serving it (and a decided winner)"
        : "serves nothing: SDKs fall back to their default",
      from: experiment ? ["running", "decided"] : ["active"],
      danger: true,
    },
    {
      action: "archive",
      label: "Archive",
      effect: "stops serving it and makes it read-only",
      from: ["draft", "running", "stopped", "decided", "active", "inactive"],
      danger: true,
    },
    {
      action: "unarchive",
      label: "Unarchive",
      effect: `puts it back as ${flag.statusBeforeArchive ?? (experiment ? "draft" : "inactive")}`,
      from: ["archived"],
    },
  ];
  return list.filter(
    (a) => a.from.includes(flag.status) && (a.experiment === undefined || a.experiment === experiment),
  );
}

const TABS = [
  ["overview", "Overview"],
  ["results", "Results"],
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
            {flag.type === "experiment" ? "Experiment" : "Release flag"} · version {flag.version} · last change by{" "}
            {flag.lastChange.actor} ({flag.lastChange.action}) {when(flag.updatedAt)}
          </p>
          <Lifecycle project={project} flag={flag} onChange={state.reload} />
          <nav class="tabs" aria-label="Flag">
            {TABS.filter(([key]) => key !== "results" || flag.type === "experiment").map(([key, label]) => (
              <Link
                key={key}
                href={`/projects/${project}/flags/${flag.key}/${key}`}
                class={tab === key ? "active" : ""}
                aria-current={tab === key ? "page" : undefined}
              >
                {label}
              </Link>
            ))}
          </nav>
          {tab === "overview" && <Overview project={project} flag={flag} />}
          {tab === "overview" && <SchedulesSection project={project} flag={flag} onChange={state.reload} />}
          {tab === "results" && <ResultsTab project={project} flag={flag} />}
          {tab === "history" && <HistoryTab project={project} flag={flag} onRestored={state.reload} />}
        </>
      )}
    </Loading>
  );
}

function Lifecycle({ project, flag, onChange }: { project: string; flag: Flag; onChange: () => void }) {
  const can = useCan();
  const { error, run: act } = useAction();
  const [winner, setWinner] = useState(flag.variants.at(-1)!.key);
  if (!can.edit) return null;
  const run = async (action: Action, body: Record<string, unknown> = {}) =>
    void (
      (await act(() => api.post(`/projects/${project}/flags/${flag.key}/${action}`, body, flag.version))) && onChange()
    );
  const canDecide = flag.type === "experiment" && (flag.status === "running" || flag.status === "stopped");
  return (
    <div class="lifecycle">
      <div class="actions">
        {flag.status !== "archived" && (
          <Link href={`/projects/${project}/flags/${flag.key}/edit`} class="button primary">
            Edit
          </Link>
        )}
        {actionsFor(flag).map(({ action, label, effect, danger }) => (
          <button
            key={action}
            type="button"
            class={danger ? "danger" : ""}
            onClick={() => run(action)}
            title={effect}
            aria-describedby={`effect-${action}`}
          >
            {label}
            <span class="effect" id={`effect-${action}`}>
              {effect}
            </span>
          </button>
        ))}
        {canDecide && (
          <span class="decide">
            <label>
              <span class="visually-hidden">Winning variant</span>
              <select value={winner} onChange={(e) => setWinner(e.currentTarget.value)}>
                {flag.variants.map((v) => (
                  <option key={v.key} value={v.key}>
                    {v.key}
                  </option>
                ))}
              </select>
            </label>
            <button type="button" onClick={() => run("decide", { variant: winner })}>
              Decide: ship {winner}
              <span class="effect">every user gets {winner}; the experiment ends</span>
            </button>
          </span>
        )}
      </div>
      <ErrorBanner error={error} />
    </div>
  );
}

function Overview({ project, flag }: { project: string; flag: Flag }) {
  const weights = flag.weights ?? Object.fromEntries(flag.variants.map((v) => [v.key, 100 / flag.variants.length]));
  return (
    <section class="overview">
      {flag.description && <p>{flag.description}</p>}
      <dl class="facts">
        <dt>Rollout</dt>
        <dd>
          {flag.rollout}% of users, bucketed by{" "}
          {flag.bucketing.unit === "group" ? `group ${flag.bucketing.groupType}` : flag.bucketing.unit}
        </dd>
        <dt>Variants</dt>
        <dd>
          {flag.variants.map((v) => (
            <div key={v.key}>
              <code>{v.key}</code> {Math.round((weights[v.key] ?? 0) * 100) / 100}%{" "}
              {v.payload !== undefined && <code class="muted">{JSON.stringify(v.payload)}</code>}
            </div>
          ))}
        </dd>
        <dt>Targeting</dt>
        <dd>
          {flag.segments.length === 0
            ? "everyone"
            : flag.segments.map((s) => (
                <div key={s.name}>
                  {s.name}:{" "}
                  {s.conditions
                    .map((c) => `${c.groupType ? `${c.groupType}.` : ""}${c.property} ${c.op} ${c.values.join(", ")}`)
                    .join(" and ")}{" "}
                  ({s.rollout}%)
                </div>
              ))}
        </dd>
        <dt>Deployments</dt>
        <dd>{flag.deployments.join(", ") || "none (not served)"}</dd>
        {flag.prerequisites.length > 0 && (
          <>
            <dt>Prerequisites</dt>
            <dd>{flag.prerequisites.map((p) => `${p.flagKey} is ${p.variants.join(" or ")}`).join("; ")}</dd>
          </>
        )}
        {flag.groups.length > 0 && (
          <>
            <dt>Groups</dt>
            <dd>{flag.groups.join(", ")}</dd>
          </>
        )}
        {flag.type === "experiment" && flag.primaryMetric && (
          <>
            <dt>Primary metric</dt>
            <dd>
              {flag.primaryMetric.name ?? flag.primaryMetric.key}: {describeMetric(flag.primaryMetric)}
            </dd>
            <dt>Analysis</dt>
            <dd>
              {flag.statisticalMethod}, {Math.round(flag.confidenceLevel * 100)}% confidence
              {flag.minimumDetectableEffect ? `, MDE ${flag.minimumDetectableEffect * 100}%` : ""}
            </dd>
          </>
        )}
      </dl>
      {flag.type === "experiment" && (
        <p>
          <Link href={`/projects/${project}/flags/${flag.key}/results`}>See the results →</Link>
        </p>
      )}
    </section>
  );
}
