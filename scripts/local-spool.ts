/**
 * The local system's spool: queue messages the edge's consumer could not deliver to ingest
 * (or that ingest handed back), kept on disk instead of in Miniflare's memory, and
 * delivered from here with the production consumer's own code (edge/src/queue-consumer.ts:
 * the same chunking, signing and retry decisions), at their backoff while running, at once
 * while stopping. What is left when the system stops is delivered on the next start.
 * Ingest is exactly-once by message id, so a message delivered twice (spooled after a
 * delivery whose answer was lost) counts once.
 *
 * One JSON file per spooled group, written to a temporary name and renamed, so a file is
 * either whole or absent; a delivered group's file is deleted, a partly delivered one
 * rewritten.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { QueueMessage } from "../shared/events.js";
import type { SpooledMessage } from "../edge/local/ledger.js";
import { deliver } from "../edge/src/queue-consumer.js";

export interface Spool {
  dir: string;
  /** Writes messages to disk; resolves once they are there. */
  add(messages: SpooledMessage[]): Promise<void>;
  /** Messages on disk, not yet acknowledged by ingest. */
  pending(): number;
  /** Delivers everything due (everything, with `all`), once; how many are still pending. */
  deliverDue(all?: boolean): Promise<number>;
  close(): Promise<void>;
}

export interface SpoolOptions {
  dir: string;
  ingestUrl: string;
  secret: string;
  /** How often the spool looks for due messages while the system runs. */
  everyMs?: number;
  log?: (line: string) => void;
}

export async function openSpool(options: SpoolOptions): Promise<Spool> {
  const { dir } = options;
  const log = options.log ?? ((line: string) => console.error(line));
  await mkdir(dir, { recursive: true });
  const files = new Map<string, SpooledMessage[]>();
  for (const name of (await readdir(dir)).sort()) {
    if (!name.endsWith(".json")) continue; // a `.tmp` is a write cut short: never acknowledged to the queue
    let messages: unknown;
    try {
      messages = JSON.parse(await readFile(join(dir, name), "utf8"));
    } catch {
      messages = undefined;
    }
    if (!Array.isArray(messages)) {
      // Cut short (a full disk, a crash before the directory was synced) or not ours: one such file
      // must not fail every start. Kept, renamed, so its messages can still be looked at by hand.
      await rename(join(dir, name), join(dir, `${name}.unreadable`));
      log(`Spool file ${join(dir, name)} is not a list of queue messages: set aside as ${name}.unreadable`);
      continue;
    }
    if (messages.length > 0) files.set(name, messages as SpooledMessage[]);
  }

  const write = async (name: string, messages: SpooledMessage[]) => {
    const temporary = join(dir, `${name}.tmp`);
    await writeFile(temporary, JSON.stringify(messages), { flush: true });
    await rename(temporary, join(dir, name));
  };

  /** One delivery run of one file's due messages through the consumer's `deliver`. */
  const deliverFile = async (name: string, messages: SpooledMessage[], all: boolean) => {
    const now = Date.now();
    const due = messages.filter((m) => all || m.notBefore <= now);
    if (due.length === 0) return;
    const settled = new Map<string, SpooledMessage | undefined>(); // id → kept (retried) or undefined (acked)
    const view = (m: SpooledMessage): Message<QueueMessage> => ({
      id: m.id,
      timestamp: new Date(m.timestamp),
      body: m.body,
      attempts: m.attempts,
      ack: () => void settled.set(m.id, undefined),
      retry: (retry?: QueueRetryOptions) =>
        void settled.set(m.id, {
          ...m,
          attempts: m.attempts + 1,
          notBefore: Date.now() + (retry?.delaySeconds ?? 0) * 1000,
        }),
    });
    const batch = due.map(view);
    const asBatch = {
      queue: "local-spool",
      messages: batch,
      ackAll: () => {
        for (const m of batch) m.ack();
      },
      retryAll: (retry?: QueueRetryOptions) => {
        for (const m of batch) m.retry(retry);
      },
    } as unknown as MessageBatch<QueueMessage>;
    await deliver(asBatch, { STATS_INGEST_URL: options.ingestUrl, STATS_INGEST_SECRET: options.secret } as Parameters<
      typeof deliver
    >[1]);
    const left = messages.flatMap((m) => {
      if (!settled.has(m.id)) return [m];
      const kept = settled.get(m.id);
      return kept ? [kept] : [];
    });
    if (left.length === 0) {
      files.delete(name);
      await rm(join(dir, name), { force: true });
    } else {
      files.set(name, left);
      await write(name, left);
    }
  };

  let running: Promise<number> | undefined;
  const deliverDue = (all = false): Promise<number> => {
    // One run at a time: a file is never delivered by two runs at once.
    running ??= (async () => {
      try {
        for (const [name, messages] of [...files]) await deliverFile(name, messages, all);
      } finally {
        running = undefined;
      }
      return spool.pending();
    })();
    return running;
  };

  let closed = false;
  const timer = setInterval(() => {
    if (!closed && files.size > 0)
      void deliverDue().catch((error: unknown) => console.error("Spool delivery failed", error));
  }, options.everyMs ?? 1000);
  timer.unref();

  const spool: Spool = {
    dir,
    async add(messages) {
      const name = `${Date.now()}-${randomBytes(4).toString("hex")}.json`;
      await write(name, messages);
      files.set(name, messages);
    },
    pending: () => [...files.values()].reduce((sum, messages) => sum + messages.length, 0),
    deliverDue,
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
      // Only an empty folder goes: files set aside as unreadable stay for someone to look at.
      if (files.size === 0 && existsSync(dir) && (await readdir(dir)).every((name) => !name.endsWith(".unreadable")))
        await rm(dir, { recursive: true, force: true });
    },
  };
  return spool;
}
