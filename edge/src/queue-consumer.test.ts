/**
 * The edge worker as the queue's consumer, in workerd, delivering to a local HTTP
 * server that checks the stats service's contract: signed, and at most 8 MiB a body.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Miniflare } from "miniflare";
import { kvNameForApiKey } from "../../shared/deployment-document.js";
import { unpack, type QueueMessage } from "../../shared/events.js";
import { SIGNATURE_HEADER, verify } from "../../shared/ingest-signature.js";
import { startEdgeMiniflare } from "../local/miniflare.js";

const SECRET = "consumer-test-secret";
const KEY = "server-key-consumer";
const STATS_BODY_LIMIT = 8 * 1024 * 1024;

const deliveries: Array<{ bytes: number; verdict: string; eventTypes: string[] }> = [];
const ingest = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const raw = Buffer.concat(chunks);
    void verify(SECRET, request.headers[SIGNATURE_HEADER] as string | undefined, raw.toString("utf8")).then((verdict) => {
      const ok = verdict === "ok" && raw.length <= STATS_BODY_LIMIT;
      const { messages } = JSON.parse(raw.toString("utf8")) as { messages: Array<{ body: QueueMessage }> };
      const eventTypes = messages.flatMap((m) => unpack(m.body)).flatMap((m) => (m.type === "events" ? m.events.map((e) => e.event_type) : []));
      deliveries.push({ bytes: raw.length, verdict, eventTypes: ok ? eventTypes : [] });
      response.writeHead(ok ? 200 : 413).end();
    });
  });
});

let mf: Miniflare;
let edgeUrl: string;

beforeAll(async () => {
  await new Promise<void>((resolve) => ingest.listen(0, "127.0.0.1", resolve));
  const { port } = ingest.address() as AddressInfo;
  // A long batch timeout: the 100 events below reach the consumer as one full batch.
  ({ mf, url: { href: edgeUrl } } = await startEdgeMiniflare({ consumer: { ingestUrl: `http://127.0.0.1:${port}/ingest`, secret: SECRET, maxBatchTimeoutSeconds: 30 } }));
  const flags = await mf.getKVNamespace("FLAGS", "edge");
  await flags.put(kvNameForApiKey(KEY), JSON.stringify({ schemaVersion: 1, deployment: "d", keyType: "server", version: 1, publishedAt: new Date().toISOString(), trackExposures: false, flags: [] }));
});
afterAll(async () => {
  await mf?.dispose();
  ingest.closeAllConnections();
  await new Promise((resolve) => ingest.close(resolve));
});

it("splits a batch too large for one delivery into signed deliveries within the ingest limit, losing nothing", async () => {
  // 100 events of 47,000 three-byte characters: ~14 MB of JSON in one queue batch.
  const blob = "€".repeat(47_000);
  for (let i = 0; i < 100; i++) {
    const response = await fetch(`${edgeUrl}track`, {
      method: "POST",
      headers: { authorization: `Api-Key ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ events: [{ user_id: `u${i}`, event_type: `e${i}`, event_properties: { blob } }] }),
    });
    expect(response.status).toBe(202);
  }
  await expect.poll(() => deliveries.flatMap((d) => d.eventTypes).length, { timeout: 20_000, interval: 100 }).toBe(100);
  expect(new Set(deliveries.flatMap((d) => d.eventTypes)).size).toBe(100);
  expect(deliveries.length).toBeGreaterThan(1);
  for (const delivery of deliveries) {
    expect(delivery.verdict).toBe("ok");
    expect(delivery.bytes).toBeLessThanOrEqual(STATS_BODY_LIMIT);
  }
}, 40_000);
