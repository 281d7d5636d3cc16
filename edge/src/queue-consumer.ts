/**
 * The queue consumer: delivers each batch of exposures and events to the stats
 * service's ingest endpoint, signed, in deliveries small enough for its body limit
 * (and API Gateway's 10 MB). A failed delivery is retried with exponential backoff
 * (the queue's `max_retries`), then lands in the dead-letter queue: never dropped
 * silently. Delivery is at-least-once; ingest is idempotent.
 */
import { sign, SIGNATURE_HEADER } from "../../shared/ingest-signature.js";
import type { QueueMessage } from "../../shared/events.js";
import type { Env } from "./bindings.js";
import { chunkBySize, messageBytes } from "./queue.js";

/**
 * Measured with `messageBytes` (two bytes a character), so a delivery's UTF-8 JSON
 * stays under 1.5 × this: 6 MiB, within the stats service's 8 MiB.
 */
const DELIVERY_BYTES = 4 * 1024 * 1024;

const backoffSeconds = (attempts: number) => Math.min(300, 2 ** Math.max(0, attempts - 1));

async function post(url: string, secret: string, messages: readonly Message<QueueMessage>[]): Promise<boolean> {
  const body = JSON.stringify({ messages: messages.map((m) => ({ id: m.id, body: m.body })) });
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", [SIGNATURE_HEADER]: await sign(secret, body) },
      body,
    });
    if (response.ok) return true;
    console.error(`Stats ingest answered HTTP ${response.status}: ${(await response.text()).slice(0, 500)}`);
  } catch (error) {
    console.error("Stats ingest unreachable", error);
  }
  return false;
}

export async function deliver(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const { STATS_INGEST_URL, STATS_INGEST_SECRET } = env;
  if (!STATS_INGEST_URL || !STATS_INGEST_SECRET) {
    console.error("STATS_INGEST_URL or STATS_INGEST_SECRET is not set; keeping the batch for later");
    return batch.retryAll({ delaySeconds: 60 });
  }
  for (const delivery of chunkBySize(batch.messages, (m) => messageBytes(m.body), DELIVERY_BYTES)) {
    const delivered = await post(STATS_INGEST_URL, STATS_INGEST_SECRET, delivery);
    for (const message of delivery) {
      if (delivered) message.ack();
      else message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    }
  }
}
