/**
 * Delivers each webhook's events in log order, each once: the cursor moves past an event
 * only after the receiver answered 2xx (or the event is not for it), and one dispatcher at
 * a time holds a webhook (a lease on its cursor). A failed delivery is retried with
 * backoff and holds back the events after it, so a receiver down for a while gets
 * everything when it returns, in order. Receivers deduplicate on `Webhook-Id` should a
 * dispatcher stop between a 2xx and saving the cursor.
 */
import { webhookBody } from "./bodies.js";
import type { EventLog, NotificationEvent } from "./events.js";
import { signature } from "./signature.js";
import type { Cursor, Webhook, WebhookStore } from "./webhooks.js";

export interface DispatcherOptions {
  events: EventLog;
  webhooks: WebhookStore;
  now?: () => number;
  /** Waits before the 1st, 2nd, … retry of a failed delivery; the last repeats. */
  retryDelaysMs?: number[];
  /** How long one delivery may take before it counts as failed. */
  timeoutMs?: number;
  /** How long a missing log number is waited for before it is passed over (a writer that stopped). */
  gapWaitMs?: number;
}

const DEFAULT_RETRY_DELAYS_MS = [1_000, 5_000, 15_000, 30_000, 60_000];
const MAX_EVENTS_PER_PASS = 100;

export function createDispatcher({
  events,
  webhooks,
  now = Date.now,
  retryDelaysMs = DEFAULT_RETRY_DELAYS_MS,
  timeoutMs = 10_000,
  gapWaitMs = 10_000,
}: DispatcherOptions) {
  const leaseMs = timeoutMs * 3;
  const iso = (ms: number) => new Date(ms).toISOString();

  const isFor = (webhook: Webhook, event: NotificationEvent) => {
    if (event.type === "skip") return false;
    if (event.only !== undefined || event.type === "webhook.test") return event.only === webhook.id;
    return webhook.events.length === 0 || webhook.events.includes(event.type);
  };

  async function send(webhook: Webhook, event: NotificationEvent, attempt: number): Promise<boolean> {
    const body = webhookBody(event, webhook.format);
    const timestamp = Math.floor(now() / 1000);
    const started = performance.now();
    let status: number | undefined;
    let error: string | undefined;
    try {
      const response = await fetch(webhook.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "edge-experiments-webhooks/1",
          "webhook-id": event.id,
          "webhook-event": event.type,
          "webhook-timestamp": String(timestamp),
          "webhook-signature": signature(webhook.secret, timestamp, body),
        },
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = response.status;
      await response.body?.cancel();
    } catch (cause) {
      error = cause instanceof Error ? cause.message : String(cause);
    }
    const ok = status !== undefined && status >= 200 && status < 300;
    await webhooks.logDelivery(webhook.project, webhook.id, {
      eventId: event.id,
      type: event.type,
      seq: event.seq,
      attempt,
      at: iso(now()),
      ok,
      ...(status === undefined ? {} : { status }),
      ...(error === undefined ? (ok ? {} : { error: `HTTP ${status}` }) : { error }),
      ms: Math.round(performance.now() - started),
    });
    return ok;
  }

  /** One pass over a webhook: delivers what is due, in order, until the log ends or a delivery fails. */
  async function deliver(webhook: Webhook): Promise<void> {
    const found = await webhooks.cursor(webhook.project, webhook.id);
    if (!found) return;
    let { record: cursor, rev } = found;
    const at = now();
    if (cursor.leaseUntil && Date.parse(cursor.leaseUntil) > at) return; // another dispatcher has it
    if (cursor.nextAttemptAt && Date.parse(cursor.nextAttemptAt) > at) return; // backing off
    const save = async (next: Cursor) => {
      if (!(await webhooks.saveCursor(webhook.project, webhook.id, next, rev))) return false;
      rev += 1;
      cursor = next;
      return true;
    };
    if (!(await save({ ...cursor, leaseUntil: iso(at + leaseMs) }))) return;
    try {
      for (let handled = 0; handled < MAX_EVENTS_PER_PASS; ) {
        const batch = await events.after(webhook.project, cursor.delivered);
        if (batch.length === 0) break;
        for (const event of batch) {
          const lease = { leaseUntil: iso(now() + leaseMs) };
          if (event.seq !== cursor.delivered + 1) {
            // A number given out whose event is not stored yet: wait for it, unless its writer is gone.
            const since = cursor.gapSince ? Date.parse(cursor.gapSince) : now();
            if (now() - since < gapWaitMs) {
              if (!cursor.gapSince) await save({ ...cursor, gapSince: iso(since) });
              return;
            }
          }
          if (isFor(webhook, event) && !(await send(webhook, event, cursor.attempts + 1))) {
            const attempts = cursor.attempts + 1;
            const delay = retryDelaysMs[Math.min(attempts, retryDelaysMs.length) - 1] ?? 0;
            const { gapSince: _, ...rest } = cursor;
            await save({ ...rest, attempts, nextAttemptAt: iso(now() + delay), ...lease });
            return;
          }
          if (!(await save({ delivered: event.seq, attempts: 0, ...lease }))) return;
          handled += 1;
        }
      }
    } finally {
      const { leaseUntil: _, ...released } = cursor;
      await save(released).catch(() => undefined); // a lost release expires on its own
    }
  }

  const running = new Map<string, Promise<void>>();
  const again = new Set<string>();

  /** Delivers the project's webhooks; concurrent calls for a project run one after another. */
  function dispatch(project: string): Promise<void> {
    const current = running.get(project);
    if (current) {
      again.add(project);
      return current;
    }
    const run = (async () => {
      do {
        again.delete(project);
        const hooks = await webhooks.all(project);
        await Promise.all(hooks.map((hook) => deliver(hook).catch((e: unknown) => console.error("Webhook", e))));
      } while (again.has(project));
    })().finally(() => running.delete(project));
    running.set(project, run);
    return run;
  }

  return {
    dispatch,
    /** Resolves when no delivery pass is running (tests, shutdown). */
    async idle(): Promise<void> {
      while (running.size > 0) await Promise.all([...running.values()]);
    },
  };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
