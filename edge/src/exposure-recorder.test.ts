import { serialize } from "node:v8";
import { describe, expect, it } from "vitest";
import type { Outcome } from "../../shared/evaluation/index.js";
import { type Exposure, type QueueMessage, unpack } from "../../shared/events.js";
import { ExposureRecorder, exposureMessage } from "./exposures.js";
import { PAGE_CHARS, QueueBuffer } from "./queue.js";

/** A served outcome carrying an exposure, as compile.ts builds it (frozen, one per flag and variant). */
const served = (exposure: Exposure): Outcome =>
  Object.freeze({
    flagKey: exposure.flagKey,
    variant: { key: exposure.variant ?? "on" },
    reason: { type: "match" },
    exposure: Object.freeze(exposure),
  }) as unknown as Outcome;

/** A recorder whose buffer flushes into `sent` (each sendBatch's messages). */
function recording(options = { maxDelayMs: 1, maxMessages: 100 }) {
  const sent: Array<Array<{ body: QueueMessage; contentType?: string }>> = [];
  const queue = {
    sendBatch: async (batch: Array<{ body: QueueMessage; contentType?: string }>) => void sent.push(batch),
  } as unknown as Queue<QueueMessage>;
  const pending: Promise<unknown>[] = [];
  const ctx = { waitUntil: (promise: Promise<unknown>) => void pending.push(promise) };
  const recorder = new ExposureRecorder(undefined, new QueueBuffer(options));
  const flushed = async () => {
    while (pending.length) await pending.shift();
  };
  const messages = () => sent.flat().flatMap(({ body }) => unpack(body));
  return { recorder, queue, ctx, sent, flushed, messages };
}

describe("exposure recorder", () => {
  it("writes a request's exposures as the JSON of its exposure message, one line in a lines message", async () => {
    const { recorder, queue, ctx, sent, flushed, messages } = recording();
    const user = {
      user_id: 'u"1\u2028',
      device_id: "d1",
      country: "DE",
      groups: { company: ["acme"] },
      user_properties: { os: "iOS 18" },
    };
    const exposures = [
      { flagKey: "exp-a", variant: "treatment", experimentKey: "x", allocation: "control=50,treatment=50" },
      { flagKey: "exp-\u00e9\u20ac", variant: "control" },
    ];
    recorder.record(ctx, queue, { project: "shop", deployment: "web" }, user, exposures.map(served), "cdn");
    recorder.record(ctx, queue, { deployment: "web" }, { user_id: "u2" }, [undefined, served(exposures[1]!)], "cdn");
    await flushed();
    expect(sent).toHaveLength(1); // one call for the window
    expect(sent[0]!.map(({ body, contentType }) => [body.type, contentType])).toEqual([["lines", "v8"]]);
    expect(sent[0]![0]!.body).toMatchObject({ work: 3 });
    const [first, second] = messages();
    expect(first).toEqual(
      exposureMessage(
        { project: "shop", deployment: "web" },
        user,
        exposures,
        "cdn",
        (first as { time: number }).time,
      )[0],
    );
    expect(second).toEqual(
      exposureMessage(
        { deployment: "web" },
        { user_id: "u2" },
        [exposures[1]!],
        "cdn",
        (second as { time: number }).time,
      )[0],
    );
  });

  it("sends a user's exposure once, and nothing for a request with none new", async () => {
    const { recorder, queue, ctx, flushed, messages } = recording();
    const exposure = served({ flagKey: "exp", variant: "on" });
    for (let i = 0; i < 3; i++) recorder.record(ctx, queue, { deployment: "d" }, { user_id: "u" }, [exposure], "cdn");
    await flushed();
    expect(messages()).toHaveLength(1);
  });

  it("splits a user's exposures over lines within one queue message each, every line with the ids and groups", async () => {
    const { recorder, queue, ctx, sent, flushed, messages } = recording();
    const exposures = Array.from({ length: 3000 }, (_, i) => ({
      flagKey: `flag-${i}-\u00e9`,
      variant: "treatment",
      allocation: `control=50,treatment=50,${"x".repeat(i % 40)}`,
    }));
    const user = { user_id: "u", groups: { company: "acme" } };
    recorder.record(ctx, queue, { deployment: "d" }, user, exposures.map(served), "remote-evaluation");
    for (let i = 0; i < 50; i++)
      recorder.record(ctx, queue, { deployment: "d" }, { user_id: `other-${i}` }, [served(exposures[i]!)], "cdn");
    await flushed();
    const parts = messages();
    expect(parts.length).toBeGreaterThan(50 + 2);
    const mine = parts.filter((part) => part.type === "exposures" && part.userId === "u");
    for (const part of mine) expect(part).toMatchObject({ userId: "u", groups: { company: "acme" } });
    expect(mine.flatMap((part) => (part.type === "exposures" ? part.exposures : []))).toEqual(exposures);
    for (const batch of sent) {
      expect(batch.reduce((sum, { body }) => sum + serialize(body).length, 0)).toBeLessThan(256_000);
      for (const { body } of batch) {
        expect(body.type === "lines" && body.lines.length).toBeLessThanOrEqual(PAGE_CHARS);
        expect(serialize(body).length).toBeLessThan(128_000);
      }
    }
  });
});
