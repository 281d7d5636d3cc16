/**
 * The queue consumer: delivers each batch of exposures and events to the stats
 * service's ingest endpoint, signed. A failed delivery is retried with exponential
 * backoff (the queue's `max_retries`), then lands in the dead-letter queue: never
 * dropped silently. Delivery is at-least-once; ingest is idempotent.
 */
import { sign, SIGNATURE_HEADER } from "../../shared/ingest-signature.js";
import type { QueueMessage } from "../../shared/events.js";
import type { Env } from "./bindings.js";

const backoffSeconds = (attempts: number) => Math.min(300, 2 ** Math.max(0, attempts - 1));

export async function deliver(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const attempts = Math.max(...batch.messages.map((m) => m.attempts));
  if (!env.STATS_INGEST_URL || !env.STATS_INGEST_SECRET) {
    console.error("STATS_INGEST_URL or STATS_INGEST_SECRET is not set; keeping the batch for later");
    return batch.retryAll({ delaySeconds: 60 });
  }
  const body = JSON.stringify({ messages: batch.messages.map((m) => ({ id: m.id, body: m.body })) });
  try {
    const response = await fetch(env.STATS_INGEST_URL, {
      method: "POST",
      headers: { "content-type": "application/json", [SIGNATURE_HEADER]: await sign(env.STATS_INGEST_SECRET, body) },
      body,
    });
    if (response.ok) return batch.ackAll();
    console.error(`Stats ingest answered HTTP ${response.status}: ${(await response.text()).slice(0, 500)}`);
  } catch (error) {
    console.error("Stats ingest unreachable", error);
  }
  batch.retryAll({ delaySeconds: backoffSeconds(attempts) });
}
