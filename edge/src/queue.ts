/**
 * Sending to the Cloudflare Queue: within its limits, in the background, in as few
 * calls and messages as the limits allow (Queues bill and rate-limit per message).
 *
 * Bodies go as `v8` (structured clone, the Queues default), not `json`: the runtime
 * then neither stringifies on send nor parses on delivery, which was most of the
 * exposure path's cost. Sizes are therefore upper bounds of the structured-clone size,
 * computed without serializing anything (see `messageBytes`).
 */
import { unpack, type ExposureMessage, type QueueMessage, type SingleMessage } from "../../shared/events.js";

// Cloudflare Queues limits: 100 messages and 256 KB per sendBatch, 128 KB per message.
const QUEUE_BATCH_MESSAGES = 100;
const QUEUE_BATCH_BYTES = 240 * 1024;
/** What we put in one message (and accept as one `/track` event): 96 KiB, under the queue's 128 KB. */
export const QUEUE_MESSAGE_BYTES = 96 * 1024;

/**
 * Bytes one character of JSON text may take in a structured clone: strings made of
 * code points above U+00FF are stored at two bytes per character. (A number takes up
 * to 9 bytes where its JSON text with separator takes 2 or more characters; the room
 * between `QUEUE_MESSAGE_BYTES` and the queue's limit covers that.)
 */
const BYTES_PER_CHAR = 2;
/** Keys, tags and the time of an exposure message, generously. */
const EXPOSURE_MESSAGE_OVERHEAD = 160;
/** Keys and tags of one exposure (`flagKey`, `variant`, `experimentKey`). */
const EXPOSURE_OVERHEAD = 48;

/** The longest JSON text one message (or one `/track` event) may have: 48 Ki characters. */
export const QUEUE_MESSAGE_JSON_CHARS = QUEUE_MESSAGE_BYTES / BYTES_PER_CHAR;

const length = (text: string | undefined) => (text === undefined ? 0 : text.length);

/** An upper bound of any JSON value's size in the queue, from its JSON text. */
export const cloneBytesBound = (value: unknown): number => BYTES_PER_CHAR * JSON.stringify(value).length;

/**
 * An upper bound of a message's size in the queue. Exposure messages, the hot path,
 * are summed from their strings; the rare event messages from their JSON text.
 */
export function messageBytes(message: QueueMessage): number {
  switch (message.type) {
    case "exposures":
      return exposureMessageBytes(message);
    case "events":
      return cloneBytesBound(message);
    case "batch":
      return message.messages.reduce((sum, inner) => sum + messageBytes(inner), 32);
  }
}

function exposureMessageBytes(message: ExposureMessage): number {
  let chars =
    EXPOSURE_MESSAGE_OVERHEAD +
    length(message.project) +
    message.deployment.length +
    length(message.userId) +
    length(message.deviceId);
  for (const exposure of message.exposures)
    chars += EXPOSURE_OVERHEAD + exposure.flagKey.length + length(exposure.variant) + length(exposure.experimentKey);
  return BYTES_PER_CHAR * chars;
}

/**
 * Splits items, in order, into runs whose sizes add up to at most `maxBytes` and that
 * hold at most `maxCount` items; an item larger than `maxBytes` gets a run of its own.
 */
export function chunkBySize<T>(
  items: readonly T[],
  sizeOf: (item: T, index: number) => number,
  maxBytes: number,
  maxCount = Infinity,
): T[][] {
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

/** Sends in as few batches as the queue's count and size limits allow. */
export async function sendToQueue(queue: Queue<QueueMessage>, messages: QueueMessage[]): Promise<void> {
  for (const batch of chunkBySize(messages, messageBytes, QUEUE_BATCH_BYTES, QUEUE_BATCH_MESSAGES)) {
    await queue.sendBatch(batch.map((body) => ({ body, contentType: "v8" as const })));
  }
}

export type BackgroundTasks = { waitUntil(promise: Promise<unknown>): void };

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
export function enqueue(ctx: BackgroundTasks, queue: Queue<QueueMessage>, messages: QueueMessage[]): void {
  if (messages.length > 0) ctx.waitUntil(sendLogged(queue, messages));
}

/**
 * Collects the isolate's messages for up to `maxDelayMs`, packs them into `batch`
 * messages, and sends those in one call: one queue call per window instead of one per
 * request, and a few queue messages instead of one per request. The first request of
 * a window carries the flush in its `waitUntil` (which the runtime keeps alive after
 * the response); a full buffer is sent at once.
 */
export class QueueBuffer {
  private pending: QueueMessage[] = [];
  private scheduled = false;

  constructor(
    private readonly options: { maxDelayMs: number; maxMessages: number } = { maxDelayMs: 50, maxMessages: 100 },
  ) {}

  add(ctx: BackgroundTasks, queue: Queue<QueueMessage>, messages: QueueMessage[]): void {
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
  return chunkBySize<SingleMessage>(messages.flatMap(unpack), messageBytes, QUEUE_MESSAGE_BYTES).map((run) =>
    run.length === 1 ? run[0]! : { type: "batch", messages: run },
  );
}
