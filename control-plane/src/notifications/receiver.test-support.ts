/**
 * A webhook receiver for tests: records every delivery and verifies it with the recipe of
 * docs/releases.md#verifying-a-delivery, as a receiver would write it.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

export function verifyDelivery(
  secret: string,
  headers: IncomingMessage["headers"],
  rawBody: string,
  nowSeconds: number,
): boolean {
  const timestamp = Number(headers["webhook-timestamp"]);
  if (!Number.isFinite(timestamp) || Math.abs(nowSeconds - timestamp) > 300) return false; // replayed or stale
  const expected = `v1=${createHmac("sha256", secret).update(`${timestamp}.${rawBody}`).digest("hex")}`;
  const given = String(headers["webhook-signature"] ?? "");
  return given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

export interface Delivery {
  headers: IncomingMessage["headers"];
  body: string;
  json: { id: string; type: string; project: string; at: string; data: Record<string, unknown> };
  /** When it arrived (Date.now of the test process). */
  receivedAt: number;
}

export async function startReceiver() {
  const received: Delivery[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8");
    });
    req.on("end", () => {
      received.push({ headers: req.headers, body, json: JSON.parse(body) as Delivery["json"], receivedAt: Date.now() });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    /** Deliveries of one event type. */
    of: (type: string) => received.filter((d) => d.json.type === type),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
export type Receiver = Awaited<ReturnType<typeof startReceiver>>;
