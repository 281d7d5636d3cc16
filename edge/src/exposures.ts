/**
 * Exposures and events leave the request through the queue, in `ctx.waitUntil`, so a
 * slow or failing queue never delays or fails a response. Exposures are deduplicated
 * per user, flag and variant within the isolate (the stats service deduplicates
 * across isolates anyway: only a user's first exposure counts).
 */
import type { EvaluationResults } from "../../shared/evaluation/index.js";
import type { ExposureMessage, QueueMessage } from "../../shared/events.js";
import type { User } from "./user.js";

const QUEUE_BATCH_LIMIT = 100; // Cloudflare Queues: messages per sendBatch

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

export async function sendToQueue(queue: Queue<QueueMessage>, messages: QueueMessage[]): Promise<void> {
  for (let i = 0; i < messages.length; i += QUEUE_BATCH_LIMIT) {
    await queue.sendBatch(messages.slice(i, i + QUEUE_BATCH_LIMIT).map((body) => ({ body, contentType: "json" as const })));
  }
}

/** Sends in the background; a failure is logged, never thrown into the response. */
export function enqueue(ctx: { waitUntil(promise: Promise<unknown>): void }, queue: Queue<QueueMessage>, messages: QueueMessage[]): void {
  if (messages.length === 0) return;
  ctx.waitUntil(
    sendToQueue(queue, messages).catch((error: unknown) => console.error(`Queue send failed; ${messages.length} messages not sent`, error)),
  );
}
