/**
 * The edge worker as the queue's consumer, in workerd, delivering to a local HTTP
 * server that checks the stats service's contract (signed, at most 8 MiB a body) and
 * can be told to fail: deliveries split to fit, failures retried, then dead-lettered.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kvNameForApiKey } from "../../shared/deployment-document.js";
import { unpack, type QueueMessage } from "../../shared/events.js";
import { SIGNATURE_HEADER, verify } from "../../shared/ingest-signature.js";
import { EVENTS_QUEUE, startEdgeMiniflare, type EdgeMiniflareOptions } from "../local/miniflare.js";
import { DELIVERY_WORK } from "./queue-consumer.js";

const SECRET = "consumer-test-secret";
const KEY = "server-key-consumer";
const STATS_BODY_LIMIT = 8 * 1024 * 1024;

interface Delivery {
  bytes: number;
  verdict: string;
  eventTypes: string[];
  accepted: boolean;
}

/** A stand-in for the stats ingest: records deliveries; `refuse` decides which to answer 503. */
async function startIngest(refuse: (eventTypes: string[], delivery: number) => boolean = () => false) {
  const deliveries: Delivery[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const raw = Buffer.concat(chunks);
      void verify(SECRET, request.headers[SIGNATURE_HEADER] as string | undefined, raw.toString("utf8")).then(
        (verdict) => {
          const { messages } = JSON.parse(raw.toString("utf8")) as { messages: Array<{ body: QueueMessage }> };
          const eventTypes = messages
            .flatMap((m) => unpack(m.body))
            .flatMap((m) => (m.type === "events" ? m.events.map((e) => e.event_type) : []));
          const accepted = verdict === "ok" && raw.length <= STATS_BODY_LIMIT && !refuse(eventTypes, deliveries.length);
          deliveries.push({ bytes: raw.length, verdict, eventTypes, accepted });
          response.writeHead(accepted ? 200 : raw.length > STATS_BODY_LIMIT ? 413 : 503).end();
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`;
  const close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  return { url, deliveries, delivered: () => deliveries.filter((d) => d.accepted).flatMap((d) => d.eventTypes), close };
}

async function startConsumingEdge(
  ingestUrl: string,
  consumer: Partial<NonNullable<EdgeMiniflareOptions["consumer"]>>,
  extra: Partial<EdgeMiniflareOptions> = {},
) {
  const { mf, url } = await startEdgeMiniflare({ consumer: { ingestUrl, secret: SECRET, ...consumer }, ...extra });
  const flags = await mf.getKVNamespace("FLAGS", "edge");
  await flags.put(
    kvNameForApiKey(KEY),
    JSON.stringify({
      schemaVersion: 1,
      deployment: "d",
      keyType: "server",
      version: 1,
      publishedAt: new Date().toISOString(),
      trackExposures: false,
      flags: [],
    }),
  );
  const track = async (eventType: string, properties: Record<string, unknown> = {}) => {
    const response = await fetch(`${url.href}track`, {
      method: "POST",
      headers: { authorization: `Api-Key ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ events: [{ user_id: "u", event_type: eventType, event_properties: properties }] }),
    });
    expect(response.status).toBe(202);
  };
  return { mf, url: url.href, track };
}

describe("deliveries within the ingest limit", () => {
  let ingest: Awaited<ReturnType<typeof startIngest>>;
  let edge: Awaited<ReturnType<typeof startConsumingEdge>>;

  beforeAll(async () => {
    ingest = await startIngest();
    // A long batch timeout: the 100 events below reach the consumer as one full batch.
    edge = await startConsumingEdge(ingest.url, { maxBatchTimeoutSeconds: 30 });
  });
  afterAll(async () => {
    await edge?.mf.dispose();
    await ingest?.close();
  });

  it("splits a batch too large for one delivery into signed deliveries within the limit, losing nothing", async () => {
    // 100 events of 47,000 three-byte characters: ~14 MB of JSON in one queue batch.
    const blob = "€".repeat(47_000);
    for (let i = 0; i < 100; i++) await edge.track(`e${i}`, { blob });
    await expect.poll(() => ingest.delivered().length, { timeout: 20_000, interval: 100 }).toBe(100);
    expect(new Set(ingest.delivered()).size).toBe(100);
    expect(ingest.deliveries.length).toBeGreaterThan(1);
    for (const delivery of ingest.deliveries) {
      expect(delivery.verdict).toBe("ok");
      expect(delivery.bytes).toBeLessThanOrEqual(STATS_BODY_LIMIT);
    }
  }, 40_000);
});

describe("deliveries within the ingest's work limit", () => {
  let ingest: Awaited<ReturnType<typeof startIngest>>;
  let edge: Awaited<ReturnType<typeof startConsumingEdge>>;

  beforeAll(async () => {
    ingest = await startIngest();
    // A short batch timeout: the test waits on deliveries, never on a batch filling up.
    edge = await startConsumingEdge(ingest.url, { maxBatchTimeoutSeconds: 1 });
  });
  afterAll(async () => {
    await edge?.mf.dispose();
    await ingest?.close();
  });

  it("splits a batch by the work it carries too: no delivery has more than 5,000 events", async () => {
    // Sent at once, so that the consumer is likely to get them as one batch of 12,000 events.
    const send = () =>
      fetch(`${edge.url}track`, {
        method: "POST",
        headers: { authorization: `Api-Key ${KEY}`, "content-type": "application/json" },
        body: JSON.stringify({
          events: Array.from({ length: 1000 }, (_, i) => ({ user_id: `w${i}`, event_type: "work" })),
        }),
      });
    const responses = await Promise.all(Array.from({ length: 12 }, send));
    expect(responses.map((r) => r.status)).toEqual(Array(12).fill(202));
    const work = () => ingest.deliveries.map((d) => d.eventTypes.filter((t) => t === "work").length);
    await expect.poll(() => work().reduce((a, b) => a + b, 0), { timeout: 20_000, interval: 100 }).toBe(12_000);
    expect(Math.max(...work())).toBeLessThanOrEqual(DELIVERY_WORK);
  }, 40_000);
});

describe("failed deliveries", () => {
  const DEAD_SINK = `export default {
    async queue(batch, env) { for (const m of batch.messages) await env.DEAD.put("m:" + m.id, JSON.stringify(m.body)); }
  };`;
  let ingest: Awaited<ReturnType<typeof startIngest>>;
  let edge: Awaited<ReturnType<typeof startConsumingEdge>>;

  beforeAll(async () => {
    // "flaky" fails on its first delivery only; "poison" always fails.
    const attempts = new Map<string, number>();
    ingest = await startIngest((types) =>
      types.some((type) => {
        const n = (attempts.get(type) ?? 0) + 1;
        attempts.set(type, n);
        return type === "poison" || (type === "flaky" && n === 1);
      }),
    );
    edge = await startConsumingEdge(
      ingest.url,
      { maxBatchTimeoutSeconds: 0.1, maxRetries: 2 },
      {
        extraWorkers: [
          {
            name: "dead-letters",
            modules: true,
            script: DEAD_SINK,
            compatibilityDate: "2026-04-01",
            kvNamespaces: ["DEAD"],
            queueConsumers: { [`${EVENTS_QUEUE}-dlq`]: { maxBatchTimeout: 0.1 } },
          },
        ],
      },
    );
  });
  afterAll(async () => {
    await edge?.mf.dispose();
    await ingest?.close();
  });

  it("retries a failed delivery with backoff, then sends what still fails to the dead-letter queue", async () => {
    await edge.track("flaky");
    await expect.poll(() => ingest.delivered(), { timeout: 15_000, interval: 100 }).toEqual(["flaky"]);
    expect(ingest.deliveries.filter((d) => d.eventTypes.includes("flaky")).map((d) => d.accepted)).toEqual([
      false,
      true,
    ]);

    await edge.track("poison");
    const dead = await edge.mf.getKVNamespace("DEAD", "dead-letters");
    const deadLetters = async () => {
      const { keys } = await dead.list();
      const bodies = await Promise.all(
        keys.map(async ({ name }) => JSON.parse((await dead.get(name))!) as QueueMessage),
      );
      return bodies.flatMap(unpack).flatMap((m) => (m.type === "events" ? m.events.map((e) => e.event_type) : []));
    };
    await expect.poll(deadLetters, { timeout: 20_000, interval: 200 }).toEqual(["poison"]);
    // The first try and two retries, none accepted; nothing else was lost or repeated.
    expect(ingest.deliveries.filter((d) => d.eventTypes.includes("poison")).map((d) => d.accepted)).toEqual([
      false,
      false,
      false,
    ]);
    expect(ingest.delivered()).toEqual(["flaky"]);
  }, 40_000);
});
