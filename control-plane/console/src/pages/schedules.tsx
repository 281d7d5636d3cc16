/**
 * A flag's scheduled changes (docs/releases.md): the list with each outcome, cancel for a
 * pending one, and a small form to schedule a lifecycle action or a rollout change for a
 * time, against the version shown (a change made meanwhile makes it a reported conflict).
 */
import { useState } from "preact/hooks";
import { api } from "../api.js";
import { ErrorBanner, useAction, useLoad, when } from "../components.js";
import { useCan } from "../me.js";
import type { Flag } from "../types.js";

interface Schedule {
  id: string;
  action: string;
  patch?: Record<string, unknown>;
  variant?: string;
  runAt: string;
  version: number;
  createdBy: string;
  status: "pending" | "running" | "done" | "conflict" | "failed" | "cancelled";
  result?: { at: string; version?: number; message?: string; currentVersion?: number };
}

/** The actions a flag of this type can be scheduled for (the server checks the status when it runs). */
const actionsFor = (flag: Flag): string[] =>
  flag.type === "experiment" ? ["start", "stop", "decide"] : ["activate", "deactivate"];

const describe = (s: Schedule) =>
  s.action === "update"
    ? `set ${Object.entries(s.patch ?? {})
        .map(([k, v]) => `${k} to ${JSON.stringify(v)}`)
        .join(", ")}`
    : s.action === "decide"
      ? `decide: ship ${s.variant}`
      : s.action;

const outcome = (s: Schedule) => {
  if (s.status === "done") return `ran: version ${s.result?.version}`;
  if (s.status === "conflict") return `not applied: the flag changed (now version ${s.result?.currentVersion})`;
  if (s.status === "failed") return `failed: ${s.result?.message}`;
  return s.status;
};

export function SchedulesSection({ project, flag, onChange }: { project: string; flag: Flag; onChange: () => void }) {
  const can = useCan();
  const path = `/projects/${project}/flags/${flag.key}/schedules`;
  const state = useLoad(() => api.get<Schedule[]>(path), [path, flag.version]);
  const { error, run } = useAction();
  const [kind, setKind] = useState("rollout");
  const [rollout, setRollout] = useState(String(flag.rollout));
  const [runAt, setRunAt] = useState("");

  const schedule = async () => {
    const body =
      kind === "rollout"
        ? { action: "update", patch: { rollout: Number(rollout) } }
        : kind === "decide"
          ? { action: "decide", variant: flag.variants.at(-1)!.key }
          : { action: kind };
    const at = runAt ? new Date(runAt).toISOString() : "";
    if (await run(() => api.post(path, { ...body, runAt: at }, flag.version))) {
      state.reload();
      onChange();
    }
  };
  const cancel = async (id: string) => void ((await run(() => api.delete(`${path}/${id}`))) && state.reload());

  return (
    <section class="schedules" aria-labelledby="schedules-heading">
      <h2 id="schedules-heading">Scheduled changes</h2>
      {state.data && state.data.length === 0 && <p class="muted">Nothing scheduled.</p>}
      {state.data && state.data.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>When</th>
              <th>Change</th>
              <th>On version</th>
              <th>Scheduled by</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {state.data.map((s) => (
              <tr key={s.id}>
                <td>{when(s.runAt)}</td>
                <td>{describe(s)}</td>
                <td>{s.version}</td>
                <td>{s.createdBy}</td>
                <td class={`schedule-${s.status}`}>{outcome(s)}</td>
                <td>
                  {can.edit && s.status === "pending" && (
                    <button type="button" onClick={() => cancel(s.id)}>
                      Cancel
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {can.edit && flag.status !== "archived" && (
        <form
          class="schedule-form"
          // Laid out here, not in styles.css (another change owns it): a row of labelled fields.
          style={{ display: "flex", gap: "1rem", alignItems: "center", flexWrap: "wrap", marginTop: "0.75rem" }}
          onSubmit={(e) => {
            e.preventDefault();
            void schedule();
          }}
        >
          <label style={{ display: "flex", gap: "0.4rem", alignItems: "center" }}>
            Change
            <select value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
              <option value="rollout">Set rollout</option>
              {actionsFor(flag).map((a) => (
                <option key={a} value={a}>
                  {a === "decide" ? `Decide: ship ${flag.variants.at(-1)!.key}` : a}
                </option>
              ))}
            </select>
          </label>
          {kind === "rollout" && (
            <label style={{ display: "flex", gap: "0.4rem", alignItems: "center" }}>
              Rollout %
              <input
                type="number"
                min={0}
                max={100}
                value={rollout}
                onInput={(e) => setRollout(e.currentTarget.value)}
              />
            </label>
          )}
          <label style={{ display: "flex", gap: "0.4rem", alignItems: "center" }}>
            At
            <input type="datetime-local" required value={runAt} onInput={(e) => setRunAt(e.currentTarget.value)} />
          </label>
          <button type="submit">Schedule on version {flag.version}</button>
        </form>
      )}
      <ErrorBanner error={error ?? state.error} />
    </section>
  );
}
