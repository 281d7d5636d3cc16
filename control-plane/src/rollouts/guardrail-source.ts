/**
 * The rollout plans' guardrail statistics from the stats service: a guarded release's units
 * served the new variant against units held back, per guardrail metric, each unit in the arm
 * it was first exposed in since the plan started (stats-lambda/src/releases/guardrails.ts).
 * Read with the watcher's viewer token, as the experiments' reports are.
 */
import type { GuardrailReading } from "./monitor.js";
import type { GuardrailSource } from "./plans.js";

export function httpGuardrailSource(statsUrl: string, token: string, timeoutMs = 10_000): GuardrailSource {
  return async (project, flag, plan) => {
    const since = encodeURIComponent(plan.createdAt);
    const response = await fetch(`${statsUrl}/projects/${project}/releases/${flag.key}/guardrails?since=${since}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) throw new Error(`The stats service answered ${response.status} for ${project}/${flag.key}`);
    return ((await response.json()) as { guardrails: GuardrailReading[] }).guardrails;
  };
}
