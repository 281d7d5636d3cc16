/**
 * The FlagStreamHub in workerd, read as raw server-sent events: what a server connecting to
 * a hub gets when the hub's last notification was lost (KV changed while nobody listened),
 * and when the key's document is gone from KV. The real SDK's view is in
 * test/compat/amplitude-stream.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Miniflare } from "miniflare";
import { kvNameForApiKey } from "../../../shared/deployment-document.js";
import { startEdgeMiniflare } from "../../local/miniflare.js";

const KEY = "server-key-hub-test";
let mf: Miniflare;
let url: URL;
let kv: Awaited<ReturnType<Miniflare["getKVNamespace"]>>;

const document = (version: number) =>
  JSON.stringify({
    schemaVersion: 1,
    deployment: "d",
    keyType: "server",
    version,
    publishedAt: new Date().toISOString(),
    trackExposures: false,
    flags: [
      {
        key: "banner",
        metadata: { flagVersion: version },
        variants: { on: { key: "on" } },
        segments: [{ variant: "on" }],
      },
    ],
  });

/** Opens a stream and reads its first event: the flags it starts with. */
async function firstEvent(): Promise<{ status: number; flagVersions?: unknown[] }> {
  const controller = new AbortController();
  const response = await fetch(new URL("/sdk/stream/v1/flags", url), {
    headers: { authorization: `Api-Key ${KEY}` },
    signal: controller.signal,
  });
  if (response.status !== 200) {
    await response.body?.cancel();
    return { status: response.status };
  }
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  controller.abort();
  const flags = JSON.parse(text.slice(text.indexOf("data: ") + 6, text.indexOf("\n\n"))) as Array<{
    metadata: { flagVersion: number };
  }>;
  return { status: 200, flagVersions: flags.map((flag) => flag.metadata.flagVersion) };
}

beforeAll(async () => {
  ({ mf, url } = await startEdgeMiniflare({ streamNotifySecret: "hub-test-secret" }));
  kv = await mf.getKVNamespace("FLAGS", "edge");
});
afterAll(async () => {
  await mf?.dispose();
});

describe("a flag stream opening", () => {
  it("starts from KV's document, even when the hub missed the notification of it", async () => {
    await kv.put(kvNameForApiKey(KEY), document(1));
    expect(await firstEvent()).toEqual({ status: 200, flagVersions: [1] });
    // Published while nobody listened, and the notification never arrived: the next stream still gets it.
    await kv.put(kvNameForApiKey(KEY), document(2));
    expect(await firstEvent()).toEqual({ status: 200, flagVersions: [2] });
  });

  it("never steps back to an older document, and refuses the key once its document is gone", async () => {
    await kv.put(kvNameForApiKey(KEY), document(1)); // a stale read: the hub keeps version 2
    expect(await firstEvent()).toEqual({ status: 200, flagVersions: [2] });
    await kv.delete(kvNameForApiKey(KEY));
    expect((await firstEvent()).status).toBe(401);
  });
});
