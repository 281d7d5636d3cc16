/**
 * A flag's lifecycle buttons. Each that changes production (start, stop, decide, deactivate,
 * archive) asks first and says what will happen, with the numbers the page knows: exposures
 * so far, the flags that depend on this one. Deactivate and archive offer an undo.
 */
import { useState } from "preact/hooks";
import { Link } from "wouter-preact";
import { api, statsApi } from "../api.js";
import { Banner, ConfirmButton, ErrorBanner, useAction, useLoad } from "../components.js";
import { consequence, dependentsOf, type LifecycleAction } from "../describe-flag.js";
import { useCan } from "../me.js";
import type { Flag, Report } from "../types.js";

interface ActionInfo {
  action: LifecycleAction;
  label: string;
  effect: string;
  danger?: boolean;
  /** Asks first: it changes what production serves, or ends an analysis period. */
  confirm: boolean;
}

/** Which actions apply (the server decides; this only offers the ones it would accept) and what they do to traffic. */
export function actionsFor(flag: Flag): ActionInfo[] {
  const experiment = flag.type === "experiment";
  const list: Array<ActionInfo & { from: string[]; experiment?: boolean }> = [
    {
      action: "start",
      label: "Start experiment",
      effect: "buckets users into variants and counts exposures, in a new analysis period",
      from: ["draft", "stopped"],
      experiment: true,
      confirm: true,
    },
    {
      action: "stop",
      label: "Stop experiment",
      effect: "serves no variant: users get the SDK's fallback; analysis stops",
      from: ["running"],
      experiment: true,
      danger: true,
      confirm: true,
    },
    {
      action: "activate",
      label: "Activate",
      effect: "serves the flag to targeted users at its rollout",
      from: ["inactive"],
      experiment: false,
      confirm: false,
    },
    {
      action: "deactivate",
      label: "Deactivate",
      effect: experiment
        ? "stops serving it (and a decided winner)"
        : "serves nothing: SDKs fall back to their default",
      from: experiment ? ["running", "decided"] : ["active"],
      danger: true,
      confirm: true,
    },
    {
      action: "archive",
      label: "Archive",
      effect: "stops serving it and makes it read-only",
      from: ["draft", "running", "stopped", "decided", "active", "inactive"],
      danger: true,
      confirm: true,
    },
    {
      action: "unarchive",
      label: "Unarchive",
      effect: `puts it back as ${flag.statusBeforeArchive ?? (experiment ? "draft" : "inactive")}`,
      from: ["archived"],
      confirm: false,
    },
  ];
  return list.filter(
    (a) => a.from.includes(flag.status) && (a.experiment === undefined || a.experiment === experiment),
  );
}

/** The inverse of an action, where running it puts traffic back exactly as it was. */
const UNDO: Partial<Record<LifecycleAction, { action: LifecycleAction; label: string }>> = {
  archive: { action: "unarchive", label: "Undo: unarchive" },
};
const undoOf = (flag: Flag, action: LifecycleAction) =>
  action === "deactivate" && flag.type === "release"
    ? { action: "activate" as const, label: "Undo: activate" }
    : UNDO[action];

/**
 * What the confirmations quote: this run's exposures per variant, and the flags that depend on
 * this one. Loaded when a question first opens (`ask`), not on every visit: a report costs the
 * stats service a query, and most visits confirm nothing.
 */
function useActionContext(project: string, flag: Flag) {
  const [asked, setAsked] = useState(false);
  const running = flag.type === "experiment" && flag.status === "running";
  const report = useLoad(
    () =>
      asked && running
        ? statsApi.get<Report>(`/projects/${project}/experiments/${flag.key}/report`).catch(() => undefined)
        : Promise.resolve(undefined),
    [project, flag.key, flag.version, asked],
  );
  const flags = useLoad(
    () => (asked ? api.get<Flag[]>(`/projects/${project}/flags`) : Promise.resolve(undefined)),
    [project, flag.version, asked],
  );
  return {
    ask: () => setAsked(true),
    exposures: report.data?.variants.map((v) => ({ key: v.key, exposures: v.exposures })),
    dependents: flags.data ? dependentsOf(flag.key, flags.data) : undefined,
  };
}

export function Lifecycle({ project, flag, onChange }: { project: string; flag: Flag; onChange: () => void }) {
  const can = useCan();
  const { error, run: act } = useAction();
  const [winner, setWinner] = useState(flag.variants.at(-1)!.key);
  const [done, setDone] = useState<{ text: string; undo?: { action: LifecycleAction; label: string } } | undefined>();
  const context = useActionContext(project, flag);
  if (!can.edit) return null;
  const run = async (action: LifecycleAction, body: Record<string, unknown> = {}, label: string = action) => {
    if (await act(() => api.post(`/projects/${project}/flags/${flag.key}/${action}`, body, flag.version))) {
      const undo = undoOf(flag, action);
      setDone({ text: `${label}: done.`, ...(undo ? { undo } : {}) });
      onChange();
    }
  };
  const canDecide = flag.type === "experiment" && (flag.status === "running" || flag.status === "stopped");
  return (
    <div class="lifecycle">
      <div class="actions">
        {flag.status !== "archived" && (
          <Link href={`/projects/${project}/flags/${flag.key}/edit`} class="button primary">
            Edit
          </Link>
        )}
        {actionsFor(flag).map(({ action, label, effect, danger, confirm }) =>
          confirm ? (
            <ConfirmButton
              key={`${action}-${flag.version}`}
              label={label}
              effect={effect}
              danger={danger ?? false}
              question={consequence(flag, action, context)}
              onAsk={context.ask}
              confirmLabel={`Yes, ${label.toLowerCase()}`}
              onConfirm={() => run(action, {}, label)}
            />
          ) : (
            <button key={action} type="button" onClick={() => run(action, {}, label)}>
              {label}
              <span class="effect">{effect}</span>
            </button>
          ),
        )}
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
            <ConfirmButton
              key={`decide-${flag.version}-${winner}`}
              label={`Decide: ship ${winner}`}
              effect={`every user gets ${winner}; the experiment ends`}
              question={consequence(flag, "decide", { ...context, winner })}
              onAsk={context.ask}
              confirmLabel={`Yes, ship ${winner}`}
              onConfirm={() => run("decide", { variant: winner }, `Shipped ${winner}`)}
            />
          </span>
        )}
      </div>
      {done && !error && (
        <Banner kind="success">
          {done.text}{" "}
          {done.undo && (
            <button
              type="button"
              class="small"
              onClick={() => {
                const undo = done.undo!;
                setDone(undefined);
                void run(undo.action, {}, undo.label);
              }}
            >
              {done.undo.label}
            </button>
          )}
        </Banner>
      )}
      <ErrorBanner error={error} />
    </div>
  );
}
