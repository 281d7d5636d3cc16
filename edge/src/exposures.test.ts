import { describe, expect, it, vi } from "vitest";
import type { ExposureMessage, QueueMessage } from "../../shared/events.js";
import { unpack } from "../../shared/events.js";
import { exposureOf } from "../../shared/evaluation/index.js";
import { enqueue, ExposureDedup, pack, QueueBuffer, sendToQueue } from "./exposures.js";

const exposure = (userId: string): ExposureMessage => ({
  type: "exposures", deployment: "d", userId, time: 1, source: "remote-evaluation", exposures: [{ flagKey: "f", variant: "treatment" }],
});

describe("exposures", () => {
  it("a failing queue never throws into the request, and the response does not wait for it", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    let attempts = 0;
    const queue = { sendBatch: async () => void (attempts++, await Promise.reject(new Error("queue down"))) } as unknown as Queue<QueueMessage>;
    const pending: Promise<unknown>[] = [];
    enqueue({ waitUntil: (p) => void pending.push(p) }, queue, [exposure("u")]); // returns at once
    expect(pending).toHaveLength(1);
    await expect(pending[0]).resolves.toBeUndefined();
    expect(attempts).toBe(3); // the first try and two retries
    expect(log).toHaveBeenCalledWith(expect.stringContaining("Queue send failed"), expect.any(Error));
    log.mockRestore();
  });

  it("packs messages into batches of at most 64 KiB that unpack to the same messages", () => {
    const messages = Array.from({ length: 300 }, (_, i) => ({ ...exposure(`user-${i}`), exposures: Array.from({ length: 10 }, (_, j) => ({ flagKey: `flag-${j}`, variant: "treatment" })) }));
    const packed = pack(messages);
    expect(packed.length).toBeGreaterThan(1);
    expect(packed.length).toBeLessThan(10);
    for (const message of packed) expect(JSON.stringify(message).length).toBeLessThan(70 * 1024);
    expect(packed.flatMap(unpack)).toEqual(messages);
  });

  it("retries a transient queue failure", async () => {
    let attempts = 0;
    const queue = { sendBatch: async () => { if (++attempts === 1) throw new Error("blip"); } } as unknown as Queue<QueueMessage>;
    const pending: Promise<unknown>[] = [];
    enqueue({ waitUntil: (p) => void pending.push(p) }, queue, [exposure("u")]);
    await Promise.all(pending);
    expect(attempts).toBe(2);
  });

  it("buffers messages for a short window and sends them in one call", async () => {
    const calls: number[] = [];
    const queue = { sendBatch: async (batch: unknown[]) => void calls.push(batch.length) } as unknown as Queue<QueueMessage>;
    const buffer = new QueueBuffer({ maxDelayMs: 20, maxMessages: 5 });
    const pending: Promise<unknown>[] = [];
    const ctx = { waitUntil: (p: Promise<unknown>) => void pending.push(p) };
    buffer.add(ctx, queue, [exposure("a")]);
    buffer.add(ctx, queue, [exposure("b"), exposure("c")]);
    expect(calls).toEqual([]); // nothing sent inside the window
    await Promise.all(pending);
    expect(calls).toEqual([1]); // one call, with the three packed into one batch message
    buffer.add(ctx, queue, Array.from({ length: 5 }, (_, i) => exposure(`u${i}`))); // a full buffer goes at once
    await Promise.all(pending);
    expect(calls).toEqual([1, 1]);
  });

  it("sends in batches of at most 100", async () => {
    const sizes: number[] = [];
    const queue = { sendBatch: async (batch: unknown[]) => void sizes.push(batch.length) } as unknown as Queue<QueueMessage>;
    await sendToQueue(queue, Array.from({ length: 250 }, (_, i) => exposure(`u${i}`)));
    expect(sizes).toEqual([100, 100, 50]);
  });

  it("keeps each batch under the queue's byte limit", async () => {
    const batches: number[] = [];
    const queue = { sendBatch: async (batch: Array<{ body: unknown }>) => void batches.push(JSON.stringify(batch.map((m) => m.body)).length) } as unknown as Queue<QueueMessage>;
    const big = (i: number): QueueMessage => ({ type: "events", deployment: "d", events: [{ user_id: `u${i}`, event_type: "e", time: 1, event_properties: { blob: "x".repeat(60_000) } }] });
    await sendToQueue(queue, Array.from({ length: 10 }, (_, i) => big(i)));
    expect(batches.length).toBeGreaterThan(2);
    expect(Math.max(...batches)).toBeLessThan(256 * 1024);
  });

  it("deduplicates per user, flag and variant, within a bounded memory", () => {
    const dedup = new ExposureDedup(4);
    const a = { user_id: "a" };
    const treatment = { flagKey: "f", variant: "treatment" };
    expect(dedup.filter("d", a, [treatment, treatment, { flagKey: "f", variant: "control" }])).toHaveLength(2);
    expect(dedup.filter("d", a, [treatment])).toHaveLength(0);
    for (const user of ["b", "c", "e", "g"]) dedup.filter("d", { user_id: user }, [treatment]); // two generations later
    expect(dedup.filter("d", a, [treatment])).toHaveLength(1); // forgotten, so sent again
    expect(dedup.filter("d", { user_id: "g" }, [treatment])).toHaveLength(0); // recent: still remembered
  });


  it("exposes only non-default variants of experiment flags", () => {
    expect(exposureOf("exp", { key: "treatment", metadata: { flagType: "experiment", experimentKey: "x" } })).toEqual({ flagKey: "exp", variant: "treatment", experimentKey: "x" });
    expect(exposureOf("off", { key: "off", metadata: { flagType: "experiment", default: true } })).toBeUndefined();
    expect(exposureOf("release", { key: "on", metadata: { flagType: "release" } })).toBeUndefined();
  });
});
