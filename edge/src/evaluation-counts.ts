/**
 * Evaluations per flag, variant and deployment, counted in the isolate and flushed to the
 * control plane (stale flags: a flag serving one variant to everyone, or nobody, for 30
 * days). The hot path's only cost is `count`: two map lookups and an increment per flag,
 * allocation-free once a (deployment, flag, variant) has been seen. A flush leaves the
 * request in `ctx.waitUntil`, at most once per `FLUSH_EVERY_MS` per isolate, signed with the
 * secret the edge shares with the control plane; a failed flush puts its counts back.
 * Without `EVALUATION_COUNTS_URL` nothing is counted.
 */
import { isDefaultVariant, type Outcome } from "../../shared/evaluation/index.js";
import { sign, SIGNATURE_HEADER } from "../../shared/ingest-signature.js";
import type { Env } from "./bindings.js";
import type { BackgroundTasks } from "./queue.js";

export const FLUSH_EVERY_MS = 10_000;
/** What the control plane counts for an evaluation that served no variant (control-plane/src/stale). */
export const NO_VARIANT = "(default)";

type Counts = Map<string, Map<string, number>>;
type Scope = { readonly project: string | undefined; readonly deployment: string };

/**
 * Where flushes go: the control plane's `/internal/evaluation-counts`, signed with the flag streams' secret, at most
 * every `EVALUATION_COUNTS_FLUSH_MS` (FLUSH_EVERY_MS unless set).
 */
export type CountTarget = Pick<Env, "EVALUATION_COUNTS_URL" | "STREAM_NOTIFY_SECRET" | "EVALUATION_COUNTS_FLUSH_MS">;

export class EvaluationCounter {
  /**
   * Loaded deployment → flag → variant → evaluations since the last flush. Keyed by the deployment object (one per
   * loaded version), so counting builds no key string; a flush merges versions of one deployment.
   */
  private pending = new Map<Scope, Counts>();
  private lastFlush = 0;
  /** The isolate's flush interval, read from its bindings on the first count (they do not change under it). */
  private flushEveryMs: number | undefined;

  /**
   * Counts one request's outcomes, and flushes when it is time. Call once per evaluating request (remote evaluation,
   * OFREP, the CDN middleware), with every visible flag's outcome, defaults too: a flag whose default is not counted
   * would look as if it served one variant to everyone.
   */
  count(
    ctx: BackgroundTasks,
    target: CountTarget,
    deployment: Scope,
    outcomes: readonly Outcome[],
    now = Date.now(),
  ): void {
    const url = target.EVALUATION_COUNTS_URL;
    const secret = target.STREAM_NOTIFY_SECRET;
    if (!url || !secret || !deployment.project) return;
    let flags = this.pending.get(deployment);
    if (!flags) this.pending.set(deployment, (flags = new Map()));
    for (let i = 0; i < outcomes.length; i++) {
      const outcome = outcomes[i]!;
      const variant = isDefaultVariant(outcome.variant) ? NO_VARIANT : (outcome.variant.key ?? NO_VARIANT);
      let variants = flags.get(outcome.flagKey);
      if (!variants) flags.set(outcome.flagKey, (variants = new Map()));
      variants.set(variant, (variants.get(variant) ?? 0) + 1);
    }
    this.flushEveryMs ??= flushInterval(target.EVALUATION_COUNTS_FLUSH_MS);
    if (now - this.lastFlush >= this.flushEveryMs) {
      this.lastFlush = now;
      ctx.waitUntil(this.flush(url, secret));
    }
  }

  /** Sends what was counted; on failure it is added back for the next flush. */
  async flush(url: string, secret: string): Promise<void> {
    const sending = this.pending;
    if (sending.size === 0) return;
    this.pending = new Map();
    const byDeployment = new Map<
      string,
      { project: string; deployment: string; counts: Record<string, Record<string, number>> }
    >();
    for (const [scope, flags] of sending) {
      const id = `${scope.project}\u0000${scope.deployment}`;
      let batch = byDeployment.get(id);
      if (!batch) byDeployment.set(id, (batch = { project: scope.project!, deployment: scope.deployment, counts: {} }));
      for (const [flag, variants] of flags) {
        const into = (batch.counts[flag] ??= {});
        for (const [variant, n] of variants) into[variant] = (into[variant] ?? 0) + n;
      }
    }
    const batches = [...byDeployment.values()];
    const body = JSON.stringify({ batches });
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", [SIGNATURE_HEADER]: await sign(secret, body) },
        body,
      });
      if (response.ok) return;
      console.error(`Evaluation counts answered HTTP ${response.status}`);
    } catch (error) {
      console.error("Evaluation counts unreachable", error);
    }
    this.restore(sending);
  }

  private restore(counts: Map<Scope, Counts>): void {
    for (const [scope, flags] of counts) {
      let mine = this.pending.get(scope);
      if (!mine) this.pending.set(scope, (mine = new Map()));
      for (const [flag, variants] of flags) {
        let into = mine.get(flag);
        if (!into) mine.set(flag, (into = new Map()));
        for (const [variant, n] of variants) into.set(variant, (into.get(variant) ?? 0) + n);
      }
    }
  }
}

const flushInterval = (setting: string | undefined): number => {
  const ms = Number(setting);
  return setting !== undefined && Number.isFinite(ms) && ms >= 0 ? ms : FLUSH_EVERY_MS;
};

/** The isolate's counter: one per isolate, as its caches are. */
export const evaluationCounts = new EvaluationCounter();
