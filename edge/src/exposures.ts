/**
 * Exposures and events leave the request through the queue, in `ctx.waitUntil`, so a
 * slow or failing queue never delays or fails a response. Exposures are deduplicated
 * per user, flag and variant within the isolate (the stats service deduplicates
 * across isolates anyway: only a user's first exposure counts), and a request's
 * exposures travel as one message.
 */
import type { Outcome } from "../../shared/evaluation/index.js";
import { unpack, type Exposure, type ExposureMessage, type QueueMessage, type SingleMessage } from "../../shared/events.js";
import type { User } from "./user.js";

// Cloudflare Queues limits: 100 messages and 256 KB per sendBatch, 128 KB per message.
const QUEUE_BATCH_MESSAGES = 100;
const QUEUE_BATCH_BYTES = 250 * 1024; // a little under 256 KB, for per-message overhead
export const QUEUE_MESSAGE_BYTES = 64 * 1024; // what we accept per message, half the queue's limit

/**
 * Remembers recent (user, flag, variant) exposures of this isolate, between `capacity`/2
 * and `capacity` of them. Two generations of sets: when the current one is half full it
 * becomes the previous one and the oldest generation is dropped whole. (Evicting single
 * entries from the front of one Set is slow in V8: iteration skips every deleted slot.)
 */
export class ExposureDedup {
  private current = new Set<string>();
  private previous = new Set<string>();
  constructor(private readonly capacity = 10_000) {}

  /** Keeps only the exposures this user was not seen with before. */
  filter(deployment: string, user: Pick<User, "user_id" | "device_id">, exposures: Exposure[]): Exposure[] {
    const who = `${deployment}\u0000${user.user_id ?? ""}\u0000${user.device_id ?? ""}`;
    return exposures.filter((exposure) => {
      const key = `${who}\u0000${exposure.flagKey}\u0000${exposure.variant ?? ""}`;
      if (this.current.has(key) || this.previous.has(key)) return false;
      if (this.current.size >= this.capacity / 2) {
        this.previous = this.current;
        this.current = new Set();
      }
      this.current.add(key);
      return true;
    });
  }
}

/** Where a message comes from: the project (when the document names it) and deployment. */
export interface MessageSource {
  project?: string | undefined;
  deployment: string;
}

/** One message for a user's new exposures, or nothing when there are none. */
export function exposureMessage(
  { project, deployment }: MessageSource,
  user: Pick<User, "user_id" | "device_id">,
  exposures: Exposure[],
  source: ExposureMessage["source"],
  time = Date.now(),
): ExposureMessage[] {
  if (exposures.length === 0) return [];
  return [
    {
      type: "exposures",
      ...(project ? { project } : {}),
      deployment,
      ...(user.user_id ? { userId: user.user_id } : {}),
      ...(user.device_id ? { deviceId: user.device_id } : {}),
      time,
      source,
      exposures,
    },
  ];
}

/**
 * What every route that serves variants does with them: the exposures of the outcomes
 * served (built at compile time), less those this isolate already sent for the user,
 * as one message into the isolate's buffer.
 */
export class ExposureRecorder {
  constructor(
    private readonly dedup = new ExposureDedup(),
    private readonly buffer = new QueueBuffer(),
  ) {}

  record(
    ctx: WaitUntil,
    queue: Queue<QueueMessage>,
    from: MessageSource,
    user: Pick<User, "user_id" | "device_id">,
    served: Iterable<Outcome | undefined>,
    source: ExposureMessage["source"],
  ): void {
    const exposed: Exposure[] = [];
    for (const outcome of served) if (outcome?.exposure) exposed.push(outcome.exposure);
    if (exposed.length === 0) return;
    this.buffer.add(ctx, queue, exposureMessage(from, user, this.dedup.filter(from.deployment, user, exposed), source));
  }
}

/**
 * Splits items, in order, into runs whose sizes add up to at most `maxBytes` and that
 * hold at most `maxCount` items; an item larger than `maxBytes` gets a run of its own.
 */
export function chunkBySize<T>(items: readonly T[], sizeOf: (item: T, index: number) => number, maxBytes: number, maxCount = Infinity): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  items.forEach((item, index) => {
    const size = sizeOf(item, index);
    if (current.length > 0 && (current.length === maxCount || bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  });
  if (current.length) chunks.push(current);
  return chunks;
}

const jsonSize = (value: unknown) => JSON.stringify(value).length;

/** Sends in as few batches as the queue's count and size limits allow. */
export async function sendToQueue(queue: Queue<QueueMessage>, messages: QueueMessage[]): Promise<void> {
  for (const batch of chunkBySize(messages, jsonSize, QUEUE_BATCH_BYTES, QUEUE_BATCH_MESSAGES)) {
    await queue.sendBatch(batch.map((body) => ({ body, contentType: "json" as const })));
  }
}

type WaitUntil = { waitUntil(promise: Promise<unknown>): void };

const RETRY_DELAYS_MS = [50, 250];

/** Sends with two retries (queue errors are often transient); a final failure is logged, never thrown. */
async function sendLogged(queue: Queue<QueueMessage>, messages: QueueMessage[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await sendToQueue(queue, messages);
    } catch (error) {
      const delay = RETRY_DELAYS_MS[attempt];
      if (delay === undefined) return console.error(`Queue send failed; ${messages.length} messages not sent`, error);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/** Sends in the background; a failure is logged, never thrown into the response. */
export function enqueue(ctx: WaitUntil, queue: Queue<QueueMessage>, messages: QueueMessage[]): void {
  if (messages.length > 0) ctx.waitUntil(sendLogged(queue, messages));
}

/**
 * Collects the isolate's messages for up to `maxDelayMs`, packs them into `batch`
 * messages of at most 64 KiB, and sends those in one call: one queue call per window
 * instead of one per request, and a few queue messages instead of one per request
 * (Cloudflare Queues limit and bill per message). The first request of a window carries
 * the flush in its `waitUntil` (which the runtime keeps alive after the response); a
 * full buffer is sent at once.
 */
export class QueueBuffer {
  private pending: QueueMessage[] = [];
  private scheduled = false;

  constructor(private readonly options: { maxDelayMs: number; maxMessages: number } = { maxDelayMs: 50, maxMessages: 100 }) {}

  add(ctx: WaitUntil, queue: Queue<QueueMessage>, messages: QueueMessage[]): void {
    if (messages.length === 0) return;
    this.pending.push(...messages);
    if (this.pending.length >= this.options.maxMessages) {
      ctx.waitUntil(sendLogged(queue, this.take()));
    } else if (!this.scheduled) {
      this.scheduled = true;
      ctx.waitUntil(
        new Promise((resolve) => setTimeout(resolve, this.options.maxDelayMs)).then(() => {
          this.scheduled = false;
          const batch = this.take();
          return batch.length ? sendLogged(queue, batch) : undefined;
        }),
      );
    }
  }

  private take(): QueueMessage[] {
    const pending = this.pending;
    this.pending = [];
    return pack(pending);
  }
}

/** Packs messages into as few `batch` messages as the per-message size allows. */
export function pack(messages: QueueMessage[]): QueueMessage[] {
  return chunkBySize<SingleMessage>(messages.flatMap(unpack), jsonSize, QUEUE_MESSAGE_BYTES).map((run) =>
    run.length === 1 ? run[0]! : { type: "batch", messages: run },
  );
}
