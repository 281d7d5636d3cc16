/**
 * Exposures and events leave the request through the queue, in `ctx.waitUntil`, so a
 * slow or failing queue never delays or fails a response. Exposures are deduplicated
 * per user, flag and variant within the isolate (the stats service deduplicates
 * across isolates anyway: only a user's first exposure counts).
 */
import type { EvaluationResults } from "../../shared/evaluation/index.js";
import type { ExposureMessage, QueueMessage } from "../../shared/events.js";
import type { User } from "./user.js";

// Cloudflare Queues limits: 100 messages and 256 KB per sendBatch, 128 KB per message.
const QUEUE_BATCH_MESSAGES = 100;
const QUEUE_BATCH_BYTES = 250 * 1024; // a little under 256 KB, for per-message overhead
export const QUEUE_MESSAGE_BYTES = 64 * 1024; // what we accept per message, half the queue's limit

export function exposuresFor(
  deployment: string,
  user: User,
  results: EvaluationResults,
  source: ExposureMessage["source"],
  time = Date.now(),
): ExposureMessage[] {
  const messages: ExposureMessage[] = [];
  for (const [flagKey, variant] of Object.entries(results)) {
    const metadata = variant.metadata ?? {};
    if (metadata["flagType"] !== "experiment" || metadata["default"] === true || !variant.key) continue;
    messages.push({
      type: "exposure",
      deployment,
      flagKey,
      variant: variant.key,
      ...(typeof metadata["experimentKey"] === "string" ? { experimentKey: metadata["experimentKey"] } : {}),
      ...(user.user_id ? { userId: user.user_id } : {}),
      ...(user.device_id ? { deviceId: user.device_id } : {}),
      time,
      source,
    });
  }
  return messages;
}

/** Remembers the last `capacity` exposures seen by this isolate. */
export class ExposureDedup {
  private readonly seen = new Set<string>();
  constructor(private readonly capacity = 10_000) {}

  /** Keeps only the messages not seen before. */
  filter(messages: ExposureMessage[]): ExposureMessage[] {
    return messages.filter((message) => {
      const key = `${message.deployment}\u0000${message.userId ?? ""}\u0000${message.deviceId ?? ""}\u0000${message.flagKey}\u0000${message.variant ?? ""}`;
      if (this.seen.has(key)) return false;
      if (this.seen.size >= this.capacity) this.seen.delete(this.seen.values().next().value!);
      this.seen.add(key);
      return true;
    });
  }
}

/** Sends in as few batches as the queue's count and size limits allow. */
export async function sendToQueue(queue: Queue<QueueMessage>, messages: QueueMessage[]): Promise<void> {
  let batch: MessageSendRequest<QueueMessage>[] = [];
  let bytes = 0;
  for (const body of messages) {
    const size = JSON.stringify(body).length;
    if (batch.length === QUEUE_BATCH_MESSAGES || (batch.length > 0 && bytes + size > QUEUE_BATCH_BYTES)) {
      await queue.sendBatch(batch);
      batch = [];
      bytes = 0;
    }
    batch.push({ body, contentType: "json" });
    bytes += size;
  }
  if (batch.length) await queue.sendBatch(batch);
}

/** Sends in the background; a failure is logged, never thrown into the response. */
export function enqueue(ctx: { waitUntil(promise: Promise<unknown>): void }, queue: Queue<QueueMessage>, messages: QueueMessage[]): void {
  if (messages.length === 0) return;
  ctx.waitUntil(
    sendToQueue(queue, messages).catch((error: unknown) => console.error(`Queue send failed; ${messages.length} messages not sent`, error)),
  );
}
