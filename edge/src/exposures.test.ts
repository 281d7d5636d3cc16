import { describe, expect, it, vi } from "vitest";
import type { ExposureMessage, QueueMessage } from "../../shared/events.js";
import { enqueue, ExposureDedup, sendToQueue } from "./exposures.js";

const exposure = (userId: string, variant = "treatment"): ExposureMessage => ({
  type: "exposure", deployment: "d", flagKey: "f", variant, userId, time: 1, source: "remote-evaluation",
});

describe("exposures", () => {
  it("a failing queue never throws into the request, and the response does not wait for it", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    let settle!: () => void;
    const queue = { sendBatch: () => new Promise<void>((_, reject) => (settle = () => reject(new Error("queue down")))) } as unknown as Queue<QueueMessage>;
    const pending: Promise<unknown>[] = [];
    enqueue({ waitUntil: (p) => void pending.push(p) }, queue, [exposure("u")]); // returns at once
    expect(pending).toHaveLength(1);
    settle();
    await expect(pending[0]).resolves.toBeUndefined();
    expect(log).toHaveBeenCalledWith(expect.stringContaining("Queue send failed"), expect.any(Error));
    log.mockRestore();
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
    const big = (i: number): QueueMessage => ({ type: "event", deployment: "d", event: { user_id: `u${i}`, event_type: "e", time: 1, event_properties: { blob: "x".repeat(60_000) } } });
    await sendToQueue(queue, Array.from({ length: 10 }, (_, i) => big(i)));
    expect(batches.length).toBeGreaterThan(2);
    expect(Math.max(...batches)).toBeLessThan(256 * 1024);
  });

  it("deduplicates per user, flag and variant, within a bounded memory", () => {
    const dedup = new ExposureDedup(2);
    expect(dedup.filter([exposure("a"), exposure("a"), exposure("a", "control")])).toHaveLength(2);
    expect(dedup.filter([exposure("a")])).toHaveLength(0);
    dedup.filter([exposure("b")]); // evicts the oldest
    expect(dedup.filter([exposure("a")])).toHaveLength(1);
  });
});
