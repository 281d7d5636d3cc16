/**
 * Sending to the Cloudflare Queue: within its limits, in the background, in as few
 * calls and messages as the limits allow (Queues bill and rate-limit per message).
 *
 * Bodies go as `v8` (structured clone, the Queues default), not `json`: the runtime
 * then neither stringifies on send nor parses on delivery, which was most of the
 * exposure path's cost. Sizes are therefore upper bounds of the structured-clone size,
 * computed without serializing anything (see `messageBytes`).
 */
import {
  unpack,
  type Exposure,
  type ExposureMessage,
  type LinesMessage,
  type QueueMessage,
  type SingleMessage,
} from "../../shared/events.js";

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
/** Keys, tags, `type`, `source` and the time of an exposure message, generously. */
const EXPOSURE_MESSAGE_OVERHEAD = 160;
/** Keys and tags of one exposure (`flagKey`, `variant`, `experimentKey`, `allocation`, `untrusted`). */
const EXPOSURE_OVERHEAD = 80;
/** Tags of one group entry (type → name). */
const GROUP_OVERHEAD = 8;

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
    case "lines":
      return BYTES_PER_CHAR * message.lines.length + LINES_OVERHEAD;
  }
}

/** Keys, tags and the work count of a `lines` message. */
const LINES_OVERHEAD = 32;

/** Every string of the message but its exposures: what each part of a split message repeats. */
function exposureHeaderChars(message: ExposureMessage): number {
  let chars =
    EXPOSURE_MESSAGE_OVERHEAD +
    length(message.project) +
    message.deployment.length +
    length(message.userId) +
    length(message.deviceId);
  // The groups were left out once: 20 users with 28 KB of groups each packed into one batch
  // message past the queue's 128 KB, and the whole window of everyone's exposures failed.
  if (message.groups)
    for (const type in message.groups) chars += GROUP_OVERHEAD + type.length + message.groups[type]!.length;
  return chars;
}

const exposureChars = (exposure: Exposure): number =>
  EXPOSURE_OVERHEAD +
  exposure.flagKey.length +
  length(exposure.variant) +
  length(exposure.experimentKey) +
  length(exposure.allocation);

function exposureMessageBytes(message: ExposureMessage): number {
  let chars = exposureHeaderChars(message);
  for (const exposure of message.exposures) chars += exposureChars(exposure);
  return BYTES_PER_CHAR * chars;
}

/**
 * A user's exposure message as messages within `QUEUE_MESSAGE_BYTES`: split by exposures when
 * it is larger (a user exposed to hundreds of experiments at once), each part with the same
 * ids and groups. Its ids and groups alone always fit: the routes bound them (`MAX_GROUPS_CHARS`).
 */
export function fitExposureMessage(message: ExposureMessage): ExposureMessage[] {
  if (exposureMessageBytes(message) <= QUEUE_MESSAGE_BYTES) return [message];
  const room = QUEUE_MESSAGE_BYTES - BYTES_PER_CHAR * exposureHeaderChars(message);
  const exposureBytes = (exposure: Exposure) => BYTES_PER_CHAR * exposureChars(exposure);
  return chunkBySize(message.exposures, exposureBytes, room).map((exposures) => ({ ...message, exposures }));
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

export type BackgroundTasks = { waitUntil(promise: Promise<unknown>): void };

const RETRY_DELAYS_MS: readonly number[] = [50, 250];

export interface SendOptions {
  /** Waits before each retry of a failed batch (tests pass zeros rather than wait them out). */
  retryDelaysMs?: readonly number[];
}
/**
 * Sends a flush may spend splitting failed batches: enough to corner one bad message among
 * 100 batch messages of hundreds each (about 2 × log2 of the count), not a call per message
 * while the queue is down.
 */
const SPLIT_SENDS = 64;

const send = (queue: Queue<QueueMessage>, batch: QueueMessage[]) =>
  queue.sendBatch(batch.map((body) => ({ body, contentType: "v8" as const })));

/** A lone `lines` message's lines in two messages, or none when it has one line. */
function linesInHalves(message: LinesMessage): [QueueMessage[], QueueMessage[]] | undefined {
  const lines = message.lines.split("\n");
  if (lines.length < 2) return undefined;
  const middle = Math.ceil(lines.length / 2);
  const part = (run: string[]): QueueMessage[] => [
    { type: "lines", lines: run.join("\n"), work: run.reduce((sum, line) => sum + workOfLine(line), 0) },
  ];
  return [part(lines.slice(0, middle)), part(lines.slice(middle))];
}

/** The exposures and events of one line (a failed send's rare path: it parses the line). */
const workOfLine = (line: string): number => {
  const message = JSON.parse(line) as SingleMessage;
  return message.type === "exposures" ? message.exposures.length : message.events.length;
};

/** A batch in two halves (the messages of a lone `batch` or `lines` message, when that is all it holds), or none. */
function halves(batch: QueueMessage[]): [QueueMessage[], QueueMessage[]] | undefined {
  if (batch.length === 1 && batch[0]!.type === "lines") return linesInHalves(batch[0]!);
  const singles = batch.length === 1 ? unpack(batch[0]!) : undefined;
  if (singles && singles.length > 1) {
    const middle = Math.ceil(singles.length / 2);
    return [pack(singles.slice(0, middle)), pack(singles.slice(middle))];
  }
  if (batch.length < 2) return undefined;
  const middle = Math.ceil(batch.length / 2);
  return [batch.slice(0, middle), batch.slice(middle)];
}

const countOf = (batch: QueueMessage[]) =>
  batch.reduce(
    (sum, message) => sum + (message.type === "lines" ? message.lines.split("\n").length : unpack(message).length),
    0,
  );

/**
 * Sends in as few batches as the queue's count and size limits allow, each with two retries
 * (queue errors are often transient). A batch that still fails is sent again in halves, and
 * they in halves, so a message the queue refuses fails alone and never takes the other users'
 * messages of its window with it. What cannot be sent is logged, never thrown.
 */
export async function sendToQueue(
  queue: Queue<QueueMessage>,
  messages: QueueMessage[],
  { retryDelaysMs = RETRY_DELAYS_MS }: SendOptions = {},
): Promise<void> {
  const budget = { splitSends: SPLIT_SENDS };
  for (const batch of chunkBySize(messages, messageBytes, QUEUE_BATCH_BYTES, QUEUE_BATCH_MESSAGES)) {
    let failure: unknown;
    for (let attempt = 0; ; attempt++) {
      try {
        await send(queue, batch);
        failure = undefined;
        break;
      } catch (error) {
        failure = error;
        const delay = retryDelaysMs[attempt];
        if (delay === undefined) break;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
    if (failure !== undefined) await sendInHalves(queue, batch, failure, budget);
  }
}

async function sendInHalves(
  queue: Queue<QueueMessage>,
  batch: QueueMessage[],
  failure: unknown,
  budget: { splitSends: number },
): Promise<void> {
  const parts = halves(batch);
  if (!parts || budget.splitSends < 2)
    return console.error(`Queue send failed; ${countOf(batch)} messages not sent`, failure);
  for (const part of parts) {
    budget.splitSends--;
    try {
      await send(queue, part);
    } catch (error) {
      await sendInHalves(queue, part, error, budget);
    }
  }
}

/** Sends in the background; a failure is logged, never thrown into the response. */
export function enqueue(
  ctx: BackgroundTasks,
  queue: Queue<QueueMessage>,
  messages: QueueMessage[],
  options: SendOptions = {},
): void {
  if (messages.length > 0) ctx.waitUntil(sendToQueue(queue, messages, options));
}

/**
 * The longest `lines` message, in characters: within `QUEUE_MESSAGE_BYTES` at two bytes a
 * character, whatever the characters (one line longer than this gets a message of its own).
 */
export const PAGE_CHARS = QUEUE_MESSAGE_JSON_CHARS;

/**
 * Collects the isolate's messages for up to `maxDelayMs` as JSON lines in pages (one `lines`
 * message each, at most `PAGE_CHARS`) and sends the pages in one call: one queue call per window
 * instead of one per request, and a few queue messages instead of one per request. A request
 * appends its line to the open page (a string concatenation: V8 keeps the pieces, copying
 * nothing), so its cost is its own line's, never the window's; the flush sends the pages as
 * they are, and their structured clone is one copy of each page's characters, not a walk over
 * an object per exposure (docs/architecture.md, "How evaluation stays fast"). The first request
 * of a window carries the flush in its `waitUntil` (which the runtime keeps alive after the
 * response); a buffer of `maxMessages` lines is sent at once.
 */
export class QueueBuffer {
  private pages: LinesMessage[] = [];
  private page = "";
  private pageWork = 0;
  private lines = 0;
  private scheduled = false;

  constructor(
    private readonly options: { maxDelayMs: number; maxMessages: number } = { maxDelayMs: 50, maxMessages: 100 },
  ) {}

  /** Buffers messages: each single message becomes a line (its JSON). */
  add(ctx: BackgroundTasks, queue: Queue<QueueMessage>, messages: QueueMessage[]): void {
    for (const message of messages)
      for (const single of unpack(message))
        this.addLine(
          ctx,
          queue,
          JSON.stringify(single),
          single.type === "exposures" ? single.exposures.length : single.events.length,
        );
  }

  /**
   * Buffers one single message's JSON text (no line breaks: JSON.stringify writes none), which
   * carries `work` exposures or events.
   */
  addLine(ctx: BackgroundTasks, queue: Queue<QueueMessage>, line: string, work: number): void {
    if (this.page.length > 0 && this.page.length + 1 + line.length > PAGE_CHARS) this.closePage();
    this.page = this.page.length === 0 ? line : `${this.page}\n${line}`;
    this.pageWork += work;
    if (++this.lines >= this.options.maxMessages) {
      ctx.waitUntil(sendToQueue(queue, this.take()));
    } else if (!this.scheduled) {
      this.scheduled = true;
      ctx.waitUntil(
        new Promise((resolve) => setTimeout(resolve, this.options.maxDelayMs)).then(() => {
          this.scheduled = false;
          const batch = this.take();
          return batch.length ? sendToQueue(queue, batch) : undefined;
        }),
      );
    }
  }

  private closePage(): void {
    this.pages.push({ type: "lines", lines: this.page, work: this.pageWork });
    this.page = "";
    this.pageWork = 0;
  }

  private take(): QueueMessage[] {
    if (this.page.length > 0) this.closePage();
    const pages = this.pages;
    this.pages = [];
    this.lines = 0;
    return pages;
  }
}

/** Packs messages into as few `batch` messages as the per-message size allows. */
export function pack(messages: QueueMessage[]): QueueMessage[] {
  return chunkBySize<SingleMessage>(messages.flatMap(unpack), messageBytes, QUEUE_MESSAGE_BYTES).map((run) =>
    run.length === 1 ? run[0]! : { type: "batch", messages: run },
  );
}
