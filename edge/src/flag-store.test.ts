/**
 * Failure paths of the flag store that real KV cannot be made to produce on demand:
 * a KV read that throws. (The happy paths run against real KV in app.integration.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { kvNameForApiKey } from "../../shared/deployment-document.js";
import { TEST_FLAGS } from "../../test/support/flags.js";
import { FlagStore } from "./flag-store.js";

function flakyKv(documents: Map<string, string>) {
  const state = { failing: false, reads: 0 };
  const kv = {
    async get(name: string) {
      state.reads++;
      if (state.failing) throw new Error("KV unavailable");
      return documents.get(name) ?? null;
    },
  } as unknown as KVNamespace;
  return { kv, state };
}

const document = (version: number) =>
  JSON.stringify({
    schemaVersion: 1,
    deployment: "d",
    keyType: "server",
    version,
    publishedAt: "now",
    flags: TEST_FLAGS,
  });

describe("FlagStore", () => {
  it("serves the last good copy while KV fails, and revalidates in the background", async () => {
    let now = 0;
    const documents = new Map([[kvNameForApiKey("key"), document(1)]]);
    const { kv, state } = flakyKv(documents);
    const store = new FlagStore({ ttlMs: 100, now: () => now, log: () => {} });
    const background: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => void background.push(p);

    expect((await store.get(kv, "key", waitUntil))?.version).toBe(1);
    state.failing = true;
    now = 500;
    expect((await store.get(kv, "key", waitUntil))?.version).toBe(1); // stale copy, refresh in background
    await Promise.all(background);
    expect((await store.get(kv, "key", waitUntil))?.version).toBe(1);
    await Promise.all(background);

    state.failing = false;
    documents.set(kvNameForApiKey("key"), document(2));
    now = 2000;
    await store.get(kv, "key", waitUntil);
    await Promise.all(background);
    expect((await store.get(kv, "key", waitUntil))?.version).toBe(2);
  });

  it("revalidates a copy past its maximum staleness before serving; tries a failing KV once per interval", async () => {
    let now = 0;
    const documents = new Map([[kvNameForApiKey("key"), document(1)]]);
    const { kv, state } = flakyKv(documents);
    const store = new FlagStore({ ttlMs: 100, maxStaleMs: 1000, now: () => now, log: () => {} });
    const noBackground = () => expect.unreachable("no background refresh past the maximum staleness");
    await store.get(kv, "key", noBackground);

    documents.set(kvNameForApiKey("key"), document(2));
    now = 5000; // idle for a while: the first request must not get version 1
    expect((await store.get(kv, "key", noBackground))?.version).toBe(2);

    state.failing = true;
    now = 10_000;
    const reads = state.reads;
    expect((await store.get(kv, "key", noBackground))?.version).toBe(2); // the failed read counts as a check
    for (let i = 0; i < 10; i++) expect((await store.get(kv, "key", noBackground))?.version).toBe(2);
    expect(state.reads).toBe(reads + 1);
  });

  it("remembers unknown keys apart, so made-up keys cannot evict real deployments", async () => {
    const documents = new Map([[kvNameForApiKey("real"), document(1)]]);
    const { kv, state } = flakyKv(documents);
    const store = new FlagStore({ ttlMs: 60_000, maxEntries: 3, log: () => {} });
    expect((await store.get(kv, "real", () => {}))?.version).toBe(1);
    for (let i = 0; i < 20; i++) expect(await store.get(kv, `made-up-${i}`, () => {})).toBeUndefined();
    const reads = state.reads;
    expect((await store.get(kv, "real", () => {}))?.version).toBe(1);
    expect(await store.get(kv, "made-up-19", () => {})).toBeUndefined(); // remembered as unknown
    expect(state.reads).toBe(reads);
  });

  it("answers 503 when KV fails and there is no copy yet", async () => {
    const { kv, state } = flakyKv(new Map());
    state.failing = true;
    const store = new FlagStore({ ttlMs: 100, log: () => {} });
    await expect(store.get(kv, "key", () => {})).rejects.toMatchObject({ status: 503, code: "unavailable" });
  });

  it("never steps back to an older version and reuses the compiled set for the same version", async () => {
    let now = 0;
    const documents = new Map([[kvNameForApiKey("key"), document(5)]]);
    const { kv } = flakyKv(documents);
    const store = new FlagStore({ ttlMs: 10, now: () => now, log: () => {} });
    const first = await store.get(kv, "key", () => {});
    documents.set(kvNameForApiKey("key"), document(4));
    now = 100;
    const background: Promise<unknown>[] = [];
    await store.get(kv, "key", (p) => void background.push(p));
    await Promise.all(background);
    expect(await store.get(kv, "key", () => {})).toBe(first);
  });

  it("does not parse a document again when revalidation reads the same text", async () => {
    let now = 0;
    const documents = new Map([[kvNameForApiKey("key"), document(1)]]);
    const { kv, state } = flakyKv(documents);
    const logged: string[] = [];
    const store = new FlagStore({ ttlMs: 100, now: () => now, log: (message) => logged.push(message) });
    const background: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => void background.push(p);
    const first = await store.get(kv, "key", waitUntil);

    // A document that fails to load is reported when read, and the last good copy kept; read
    // again unchanged, it is recognised by its text and neither parsed nor reported again.
    documents.set(kvNameForApiKey("key"), "{ not json");
    for (const at of [200, 400, 600]) {
      now = at;
      expect(await store.get(kv, "key", waitUntil)).toBe(first);
      await Promise.all(background.splice(0));
    }
    expect(state.reads).toBe(4);
    expect(logged.filter((message) => message.startsWith("Ignoring an invalid deployment document"))).toHaveLength(1);

    documents.set(kvNameForApiKey("key"), document(2));
    now = 800;
    await store.get(kv, "key", waitUntil);
    await Promise.all(background.splice(0));
    expect((await store.get(kv, "key", waitUntil))?.version).toBe(2);
  });
});
