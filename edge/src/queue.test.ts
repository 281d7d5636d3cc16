import fc from "fast-check";
import { serialize } from "node:v8";
import { describe, expect, it, vi } from "vitest";
import type { ExposureMessage, QueueMessage } from "../../shared/events.js";
import { unpack } from "../../shared/events.js";
import {
  enqueue,
  fitExposureMessage,
  messageBytes,
  pack,
  QUEUE_MESSAGE_BYTES,
  QueueBuffer,
  sendToQueue,
} from "./queue.js";

const exposure = (userId: string): ExposureMessage => ({
  type: "exposures",
  deployment: "d",
  userId,
  time: 1,
  source: "remote-evaluation",
  exposures: [{ flagKey: "f", variant: "treatment" }],
});

/** The retries without their waits (50 and 250 ms in production). */
const NO_WAIT = { retryDelaysMs: [0, 0] };

describe("queue sending", () => {
  it("a failing queue never throws into the request, and the response does not wait for it", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    let attempts = 0;
    const queue = {
      sendBatch: async () => {
        attempts++;
        throw new Error("queue down");
      },
    } as unknown as Queue<QueueMessage>;
    const pending: Promise<unknown>[] = [];
    enqueue({ waitUntil: (p) => void pending.push(p) }, queue, [exposure("u")], NO_WAIT); // returns at once
    expect(pending).toHaveLength(1);
    await expect(pending[0]).resolves.toBeUndefined();
    expect(attempts).toBe(3); // the first try and two retries
    expect(log).toHaveBeenCalledWith(expect.stringContaining("Queue send failed"), expect.any(Error));
    log.mockRestore();
  });

  it("packs messages into batches within the message limit that unpack to the same messages", () => {
    const messages = Array.from({ length: 300 }, (_, i) => ({
      ...exposure(`user-${i}`),
      exposures: Array.from({ length: 10 }, (_, j) => ({ flagKey: `flag-${j}`, variant: "treatment" })),
    }));
    const packed = pack(messages);
    expect(packed.length).toBeGreaterThan(1);
    expect(packed.length).toBeLessThan(10);
    for (const message of packed) expect(serialize(message).length).toBeLessThan(128_000);
    expect(packed.flatMap(unpack)).toEqual(messages);
  });

  it("retries a transient queue failure", async () => {
    let attempts = 0;
    const queue = {
      sendBatch: async () => {
        if (++attempts === 1) throw new Error("blip");
      },
    } as unknown as Queue<QueueMessage>;
    const pending: Promise<unknown>[] = [];
    enqueue({ waitUntil: (p) => void pending.push(p) }, queue, [exposure("u")], NO_WAIT);
    await Promise.all(pending);
    expect(attempts).toBe(2);
  });

  it("retries a refused batch, then sends it in halves until the one refused message fails alone", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const sent: string[] = [];
    const calls: number[] = [];
    const queue = {
      sendBatch: async (batch: Array<{ body: QueueMessage }>) => {
        const users = batch.flatMap(({ body }) =>
          unpack(body).map((m) => (m.type === "exposures" ? (m.userId ?? "") : "")),
        );
        calls.push(users.length);
        if (users.includes("poison")) throw new Error("message too large");
        sent.push(...users);
      },
    } as unknown as Queue<QueueMessage>;
    const good = Array.from({ length: 30 }, (_, i) => exposure(`u${i}`));
    await sendToQueue(queue, [...good.slice(0, 15), exposure("poison"), ...good.slice(15)], NO_WAIT);
    expect(sent.sort()).toEqual(good.map((m) => m.userId).sort());
    expect(calls.slice(0, 3)).toEqual([31, 31, 31]); // the first try and two retries, then halves
    expect(log).toHaveBeenCalledWith("Queue send failed; 1 messages not sent", expect.any(Error));
    log.mockRestore();
  });

  it("buffers messages for a short window and sends them in one call", async () => {
    const calls: number[] = [];
    const queue = {
      sendBatch: async (batch: unknown[]) => void calls.push(batch.length),
    } as unknown as Queue<QueueMessage>;
    const buffer = new QueueBuffer({ maxDelayMs: 20, maxMessages: 5 });
    const pending: Promise<unknown>[] = [];
    const ctx = { waitUntil: (p: Promise<unknown>) => void pending.push(p) };
    buffer.add(ctx, queue, [exposure("a")]);
    buffer.add(ctx, queue, [exposure("b"), exposure("c")]);
    expect(calls).toEqual([]); // nothing sent inside the window
    await Promise.all(pending);
    expect(calls).toEqual([1]); // one call, with the three packed into one batch message
    buffer.add(
      ctx,
      queue,
      Array.from({ length: 5 }, (_, i) => exposure(`u${i}`)),
    ); // a full buffer goes at once
    await Promise.all(pending);
    expect(calls).toEqual([1, 1]);
  });

  it("sends in batches of at most 100", async () => {
    const sizes: number[] = [];
    const queue = {
      sendBatch: async (batch: unknown[]) => void sizes.push(batch.length),
    } as unknown as Queue<QueueMessage>;
    await sendToQueue(
      queue,
      Array.from({ length: 250 }, (_, i) => exposure(`u${i}`)),
    );
    expect(sizes).toEqual([100, 100, 50]);
  });

  it("keeps each batch under the queue's byte limits, as structured clones", async () => {
    const batches: Array<{ body: unknown; contentType?: string }>[] = [];
    const queue = {
      sendBatch: async (batch: Array<{ body: unknown }>) => void batches.push(batch),
    } as unknown as Queue<QueueMessage>;
    // Two-byte characters: a structured clone stores them at two bytes each.
    const big = (i: number): QueueMessage => ({
      type: "events",
      deployment: "d",
      events: [{ user_id: `u${i}`, event_type: "e", time: 1, event_properties: { blob: "é€".repeat(20_000) } }],
    });
    await sendToQueue(
      queue,
      Array.from({ length: 10 }, (_, i) => big(i)),
    );
    expect(batches.length).toBeGreaterThan(2);
    for (const batch of batches) {
      expect(batch.every((message) => message.contentType === "v8")).toBe(true);
      expect(batch.reduce((sum, message) => sum + serialize(message.body).length, 0)).toBeLessThan(256_000);
      for (const message of batch) expect(serialize(message.body).length).toBeLessThan(128_000);
    }
  });

  it("bounds every message's structured-clone size from above without serializing it", () => {
    const text = fc.string({ unit: "binary", maxLength: 40 });
    const exposureArb = fc.record(
      {
        flagKey: text,
        variant: text,
        experimentKey: text,
        allocation: text,
        untrusted: fc.constant(true as const),
      },
      { requiredKeys: ["flagKey"] },
    );
    const exposureMessageArb = fc.record(
      {
        type: fc.constant("exposures" as const),
        project: text,
        deployment: text,
        userId: text,
        deviceId: text,
        time: fc.integer({ min: 0, max: 2 ** 45 }),
        source: fc.constantFrom("remote-evaluation" as const, "client" as const, "cdn" as const),
        groups: fc.dictionary(text, text, { maxKeys: 5 }),
        exposures: fc.array(exposureArb, { minLength: 1, maxLength: 30 }),
      },
      { requiredKeys: ["type", "deployment", "time", "source", "exposures"] },
    );
    fc.assert(
      fc.property(fc.array(exposureMessageArb, { minLength: 1, maxLength: 5 }), (messages) => {
        for (const message of messages) {
          expect(serialize(message).length).toBeLessThanOrEqual(messageBytes(message));
          for (const part of fitExposureMessage(message))
            expect(serialize(part).length).toBeLessThanOrEqual(messageBytes(part));
        }
        const batch: QueueMessage = { type: "batch", messages };
        expect(serialize(batch).length).toBeLessThanOrEqual(messageBytes(batch));
      }),
    );
  });

  it("counts a message's groups: 20 users with 28 KB of groups never pack past the queue's limit", () => {
    const groups = Object.fromEntries(Array.from({ length: 28 }, (_, i) => [`type-${i}`, "g".repeat(1000)]));
    const messages = Array.from({ length: 20 }, (_, i) => ({ ...exposure(`big-${i}`), groups }));
    const packed = pack([...messages, ...Array.from({ length: 200 }, (_, i) => exposure(`u${i}`))]);
    for (const message of packed) expect(serialize(message).length).toBeLessThan(128_000);
  });

  it("splits a user's exposures over several messages when they exceed one, each with the ids and groups", () => {
    const message: ExposureMessage = {
      ...exposure("u"),
      groups: { company: "acme" },
      exposures: Array.from({ length: 2000 }, (_, i) => ({
        flagKey: `flag-${i}`,
        variant: "treatment",
        allocation: "control=50,treatment=50",
      })),
    };
    const parts = fitExposureMessage(message);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) {
      expect(messageBytes(part)).toBeLessThanOrEqual(QUEUE_MESSAGE_BYTES);
      expect(part).toMatchObject({ userId: "u", groups: { company: "acme" } });
    }
    expect(parts.flatMap((part) => part.exposures)).toEqual(message.exposures);
  });
});
