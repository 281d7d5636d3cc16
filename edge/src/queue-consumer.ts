/**
 * The queue consumer: delivers each batch of exposures and events to the stats service's
 * ingest endpoint, signed, in deliveries bounded twice: by bytes (its body limit and API
 * Gateway's 10 MB) and by work (exposures + events), so the largest delivery finishes
 * far inside the stats function's 30 s (see docs/scaling.md for the bound). A failed
 * delivery is retried with exponential backoff (the queue's `max_retries`), then lands in
 * the dead-letter queue: never dropped silently. Messages the stats service hands back
 * (applied by an ingest run that has not settled yet) are retried once that run is
 * settled or known dead. Delivery is at-least-once; ingest is exactly-once.
 */
import { sign, SIGNATURE_HEADER } from "../../shared/ingest-signature.js";
import { unpack, type QueueMessage } from "../../shared/events.js";
import type { Env } from "./bindings.js";
import { chunkBySize, messageBytes } from "./queue.js";

/**
 * Measured with `messageBytes` (two bytes a character), so a delivery's UTF-8 JSON
 * stays under 1.5 × this: 6 MiB, within the stats service's 8 MiB.
 */
const DELIVERY_BYTES = 4 * 1024 * 1024;
/** Exposures + events per delivery: ~2,500 DynamoDB requests at most, ~2 s at 10 ms each, 32 at a time. */
export const DELIVERY_WORK = 5_000;
/** After this, an ingest run that had not settled is known dead and its work adopted (stats-lambda/src/ingest). */
const HANDED_BACK_DELAY_SECONDS = 65;

const backoffSeconds = (attempts: number) => Math.min(300, 2 ** Math.max(0, attempts - 1));

/** The exposures and events a message carries: what ingest's cost grows with. */
export const workOf = (message: QueueMessage): number =>
  message.type === "lines"
    ? message.work
    : unpack(message).reduce(
        (total, part) => total + (part.type === "exposures" ? part.exposures.length : part.events.length),
        0,
      );

/**
 * A message as ingest takes it (JSON text): a `lines` message becomes the `batch` of its
 * lines, spliced as text (each line is a message's JSON already), so nothing is parsed.
 */
const ingestJson = (message: Message<QueueMessage>): string =>
  message.body.type === "lines"
    ? `{"id":${JSON.stringify(message.id)},"body":{"type":"batch","messages":[${message.body.lines.replaceAll("\n", ",")}]}}`
    : JSON.stringify({ id: message.id, body: message.body });

type Outcome = { delivered: false } | { delivered: true; retry: Set<string> };

async function post(url: string, secret: string, messages: readonly Message<QueueMessage>[]): Promise<Outcome> {
  const oldest = Math.min(...messages.map((m) => m.timestamp.getTime()));
  const body = `{"messages":[${messages.map(ingestJson).join(",")}],"queueLagMs":${Math.max(0, Date.now() - oldest)}}`;
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", [SIGNATURE_HEADER]: await sign(secret, body) },
      body,
    });
    if (response.ok) {
      const answer = (await response.json().catch(() => ({}))) as { retry?: unknown };
      return { delivered: true, retry: new Set(Array.isArray(answer.retry) ? answer.retry.map(String) : []) };
    }
    console.error(`Stats ingest answered HTTP ${response.status}: ${(await response.text()).slice(0, 500)}`);
  } catch (error) {
    console.error("Stats ingest unreachable", error);
  }
  return { delivered: false };
}

export async function deliver(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const { STATS_INGEST_URL, STATS_INGEST_SECRET } = env;
  if (!STATS_INGEST_URL || !STATS_INGEST_SECRET) {
    console.error("STATS_INGEST_URL or STATS_INGEST_SECRET is not set; keeping the batch for later");
    return batch.retryAll({ delaySeconds: 60 });
  }
  const deliveries = chunkBySize(batch.messages, (m) => messageBytes(m.body), DELIVERY_BYTES).flatMap((chunk) =>
    chunkBySize(chunk, (m) => workOf(m.body), DELIVERY_WORK),
  );
  for (const delivery of deliveries) {
    const outcome = await post(STATS_INGEST_URL, STATS_INGEST_SECRET, delivery);
    for (const message of delivery) {
      if (!outcome.delivered) message.retry({ delaySeconds: backoffSeconds(message.attempts) });
      else if (outcome.retry.has(message.id)) message.retry({ delaySeconds: HANDED_BACK_DELAY_SECONDS });
      else message.ack();
    }
  }
}
