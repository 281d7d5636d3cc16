/**
 * Signing of the queue consumer's deliveries to the stats service (and of the publisher's
 * flag-stream notifications to the edge):
 * `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
 * Unsigned, wrongly signed, or stale (more than 5 minutes off) deliveries are rejected,
 * so a captured request cannot be replayed later. WebCrypto, so the Worker that signs and
 * the Node service that verifies share this code.
 */
import { ApiError } from "./http/errors.js";

export const SIGNATURE_HEADER = "x-signature";
export const MAX_SKEW_SECONDS = 300;

const encoder = new TextEncoder();

async function hmacHex(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const signature = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(message)));
  return Array.from(signature, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sign(secret: string, body: string, nowSeconds = Math.floor(Date.now() / 1000)): Promise<string> {
  return `t=${nowSeconds},v1=${await hmacHex(secret, `${nowSeconds}.${body}`)}`;
}

/** Constant-time comparison of two hex strings. */
function equal(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

export type SignatureCheck = "ok" | "unsigned" | "malformed" | "stale" | "bad-signature";

export async function verify(
  secret: string,
  header: string | null | undefined,
  body: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<SignatureCheck> {
  if (!header) return "unsigned";
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header.trim());
  if (!match) return "malformed";
  const timestamp = Number(match[1]);
  if (Math.abs(nowSeconds - timestamp) > MAX_SKEW_SECONDS) return "stale";
  return equal(await hmacHex(secret, `${timestamp}.${body}`), match[2]!) ? "ok" : "bad-signature";
}

/** A signed request's body as JSON: 401 naming the verdict unless the signature holds, 400 unless it parses. */
export async function readSignedJson(
  secret: string,
  header: string | null | undefined,
  body: string,
  what: string,
): Promise<unknown> {
  const verdict = await verify(secret, header, body);
  if (verdict !== "ok") throw new ApiError({ status: 401, message: `${what} rejected: ${verdict}` });
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new ApiError({ status: 400, code: "invalid_json", message: `${what} is not JSON` });
  }
}
