/**
 * A release flag's progressive rollout plan (docs/releases.md#progressive-rollouts-with-guardrails):
 * where it is, its guardrails' last check, why it rolled back; pause, resume, cancel; and a
 * form to start one (percent steps, minutes each).
 */
import { useState } from "preact/hooks";
import { api, ApiFailure } from "../api.js";
import { ErrorBanner, useAction, useLoad, when } from "../components.js";
import { useCan } from "../me.js";
import type { Flag } from "../types.js";

interface Check {
  metric: string;
  difference: number;
  lift: number | null;
  interval: [number, number] | null;
  pValue: number;
  served: number;
  heldBack: number;
  tested: boolean;
  harm: boolean;
}
interface Plan {
  status: "running" | "paused" | "completed" | "rolled_back" | "cancelled";
  steps: Array<{ percent: number; minutes: number }>;
  step: number;
  percent: number;
  stepStartedAt: string;
  lastCheck?: { at: string; checks: Check[] };
  rollback?: { at: string; percent: number; check: Check };
  createdBy: string;
}

const percent = (x: number | null) => (x === null ? "—" : `${x > 0 ? "+" : ""}${(x * 100).toFixed(1)}%`);
const interval = (i: [number, number] | null) => (i ? `[${i.map((x) => x.toPrecision(3)).join(", ")}]` : "—");

export function RolloutPlanSection({ project, flag, onChange }: { project: string; flag: Flag; onChange: () => void }) {
  const can = useCan();
  const path = `/projects/${project}/flags/${flag.key}/rollout-plan`;
  const state = useLoad(
    () =>
      api
        .get<Plan>(path)
        .catch((e: unknown) => (e instanceof ApiFailure && e.status === 404 ? undefined : Promise.reject(e))),
    [path, flag.version],
  );
  const { error, run } = useAction();
  const [steps, setSteps] = useState("1, 5, 25, 50, 100");
  const [minutes, setMinutes] = useState("60");
  const plan = state.data;
  const act = async (work: () => Promise<unknown>) => {
    if (await run(work)) {
      state.reload();
      onChange();
    }
  };
  const start = () =>
    act(() =>
      api.put(path, {
        steps: steps.split(",").map((p) => ({ percent: Number(p.trim()), minutes: Number(minutes) })),
      }),
    );
  const active = plan && (plan.status === "running" || plan.status === "paused");

  return (
    <section class="rollout-plan" aria-labelledby="rollout-heading">
      <h2 id="rollout-heading">Progressive rollout</h2>
      {plan ? (
        <>
          <p>
            <strong class={`rollout-${plan.status}`}>{plan.status.replace("_", " ")}</strong> at {plan.percent}% · step{" "}
            {plan.step + 1} of {plan.steps.length} ({plan.steps.map((s) => `${s.percent}%`).join(" → ")}) · since{" "}
            {when(plan.stepStartedAt)} · started by {plan.createdBy}
          </p>
          {plan.rollback && (
            <p class="banner error" role="alert">
              Rolled back to 0% at {plan.rollback.percent}% on {when(plan.rollback.at)}: guardrail{" "}
              <code>{plan.rollback.check.metric}</code> {percent(plan.rollback.check.lift)}, difference{" "}
              {interval(plan.rollback.check.interval)} (always-valid), p = {plan.rollback.check.pValue.toPrecision(2)}.
            </p>
          )}
          {plan.lastCheck && (
            <table>
              <thead>
                <tr>
                  <th>Guardrail</th>
                  <th>Served / held back</th>
                  <th>Lift</th>
                  <th>Difference interval</th>
                  <th>p (one-sided)</th>
                </tr>
              </thead>
              <tbody>
                {plan.lastCheck.checks.map((c) => (
                  <tr key={c.metric} class={c.harm ? "harm" : ""}>
                    <td>{c.metric}</td>
                    <td>
                      {c.served.toLocaleString()} / {c.heldBack.toLocaleString()}
                    </td>
                    <td>{c.tested ? percent(c.lift) : "not tested yet"}</td>
                    <td>{interval(c.interval)}</td>
                    <td>{c.tested ? c.pValue.toPrecision(2) : "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {can.edit && active && (
            <p style={{ display: "flex", gap: "0.5rem" }}>
              {plan.status === "running" ? (
                <button type="button" onClick={() => act(() => api.post(`${path}/pause`))}>
                  Pause
                </button>
              ) : (
                <button type="button" onClick={() => act(() => api.post(`${path}/resume`))}>
                  Resume
                </button>
              )}
              <button type="button" onClick={() => act(() => api.post(`${path}/cancel`))}>
                Cancel plan
              </button>
            </p>
          )}
        </>
      ) : (
        <p class="muted">No plan: the rollout is set by hand.</p>
      )}
      {can.edit && !active && flag.status !== "archived" && (
        <form
          aria-label={plan ? "Start a new plan" : "Start a plan"}
          style={{ display: "flex", gap: "1rem", alignItems: "center", flexWrap: "wrap", marginTop: "1rem" }}
          onSubmit={(e) => {
            e.preventDefault();
            void start();
          }}
        >
          {/* After a plan ended, the form below its record is a new plan, not a setting of that one. */}
          {plan && <strong>Start a new plan</strong>}
          <label style={{ display: "flex", gap: "0.4rem", alignItems: "center" }}>
            Steps (%)
            <input value={steps} onInput={(e) => setSteps(e.currentTarget.value)} />
          </label>
          <label style={{ display: "flex", gap: "0.4rem", alignItems: "center" }}>
            Minutes per step
            <input type="number" min={0} value={minutes} onInput={(e) => setMinutes(e.currentTarget.value)} />
          </label>
          <button type="submit">Start plan</button>
          <span class="muted">
            Guardrails: {flag.guardrailMetrics.map((m) => m.key).join(", ") || "none (time only)"}
          </span>
        </form>
      )}
      <ErrorBanner error={error} />
    </section>
  );
}
