/**
 * Webhook signatures: HMAC-SHA256 with the webhook's secret over `<timestamp>.<body>`,
 * sent as `Webhook-Signature: v1=<hex>` beside `Webhook-Timestamp` (Unix seconds). The
 * timestamp inside the signed text lets a receiver refuse replays of old deliveries; the
 * recipe to verify is in docs/releases.md ("Verifying a delivery").
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const newWebhookSecret = (): string => `whsec_${randomBytes(24).toString("base64url")}`;

export const signature = (secret: string, timestamp: number, body: string): string =>
  `v1=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;

/** Whether `header` signs `body` at `timestamp` with `secret` (constant-time). */
export function verifySignature(secret: string, timestamp: number, body: string, header: string): boolean {
  const expected = Buffer.from(signature(secret, timestamp, body));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
