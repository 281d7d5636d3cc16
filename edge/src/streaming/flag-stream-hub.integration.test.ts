/**
 * The FlagStreamHub in workerd, read as raw server-sent events: what a server connecting to
 * a hub gets when the hub's last notification was lost (KV changed while nobody listened),
 * and when the key's document is gone from KV. The real SDK's view is in
 * test/compat/amplitude-stream.test.ts.
 */
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Miniflare } from "miniflare";
import { kvNameForApiKey } from "../../../shared/deployment-document.js";
import { sign, SIGNATURE_HEADER } from "../../../shared/ingest-signature.js";
import { startEdgeMiniflare } from "../../local/miniflare.js";

const KEY = "server-key-hub-test";
const SECRET = "hub-test-secret";
/** The hub's MAX_UNREAD_BYTES (its module imports cloudflare:workers, which Node cannot load). */
const MAX_UNREAD_BYTES = 1024 * 1024;
let mf: Miniflare;
let url: URL;
let kv: Awaited<ReturnType<Miniflare["getKVNamespace"]>>;

const document = (version: number, payload?: string) =>
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
        variants: { on: { key: "on", ...(payload ? { payload } : {}) } },
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
  ({ mf, url } = await startEdgeMiniflare({ streamNotifySecret: SECRET }));
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

/** Hands the hub a document as the publisher does (signed, through the edge). */
async function notify(key: string, text: string): Promise<void> {
  const body = JSON.stringify({ updates: [{ key, document: text }] });
  const response = await fetch(new URL("/internal/flag-streams", url), {
    method: "POST",
    headers: { "content-type": "application/json", [SIGNATURE_HEADER]: await sign(SECRET, body) },
    body,
  });
  expect(response.status).toBe(204);
}

/** A stream whose reader takes its first bytes and then stops reading. */
async function stalledStream(key: string): Promise<Socket> {
  const socket = connect(Number(url.port), url.hostname);
  socket.write(`GET /sdk/stream/v1/flags HTTP/1.1\r\nHost: edge\r\nAuthorization: Api-Key ${key}\r\n\r\n`);
  await new Promise<void>((resolve) => socket.once("data", () => resolve(socket.pause() && undefined)));
  return socket;
}

/** Everything a stalled stream still delivers once read again, and whether the hub ended it. */
function drain(socket: Socket): Promise<{ bytes: number; ended: boolean }> {
  let bytes = 0;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ bytes, ended: false }), 20_000);
    const end = () => {
      clearTimeout(timer);
      resolve({ bytes, ended: true });
    };
    socket
      .on("data", (chunk) => (bytes += chunk.length))
      .on("end", end)
      .on("close", end)
      .on("error", end);
    socket.resume();
  });
}

describe("a server that stops reading its stream", () => {
  it("is dropped once it is too far behind, while a reading server gets every publish", async () => {
    const key = "server-key-slow-readers";
    const payload = "x".repeat(300_000); // each event ~300 KB, 40 of them: 12 MB per stream
    await kv.put(kvNameForApiKey(key), document(1, payload));
    const stalled = await Promise.all(Array.from({ length: 5 }, () => stalledStream(key)));

    const controller = new AbortController();
    const live = await fetch(new URL("/sdk/stream/v1/flags", url), {
      headers: { authorization: `Api-Key ${key}` },
      signal: controller.signal,
    });
    const versions: number[] = [];
    const reading = (async () => {
      const reader = live.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!versions.includes(41)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
        for (let end = text.indexOf("\n\n"); end >= 0; end = text.indexOf("\n\n")) {
          const data = text.slice(text.indexOf("data: ") + 6, end).trim();
          text = text.slice(end + 2);
          if (data)
            versions.push(
              ...(JSON.parse(data) as Array<{ metadata: { flagVersion: number } }>).map((f) => f.metadata.flagVersion),
            );
        }
      }
    })();

    for (let version = 2; version <= 41; version++) await notify(key, document(version, payload));
    await reading;
    controller.abort();
    expect(versions.at(-1)).toBe(41);

    for (const socket of stalled) {
      const { bytes, ended } = await drain(socket);
      expect(ended).toBe(true); // the hub closed it: the SDK reconnects
      expect(bytes).toBeLessThan(40 * 300_000 - MAX_UNREAD_BYTES); // and did not keep every publish for it
    }
  }, 60_000);
});
