/**
 * Tells the edge's flag-stream hubs about a publish (`POST {edge}/internal/flag-streams`,
 * HMAC-signed like the edge's deliveries to the stats service), carrying the documents
 * themselves: KV reads elsewhere can lag, a connected server should not. Best effort: a
 * failed notification is logged, and the hubs reread KV every 30 s anyway.
 */
import { sign, SIGNATURE_HEADER } from "../../../shared/ingest-signature.js";

export interface StreamUpdate {
  key: string;
  /** The key's new document, or null: the key no longer works (rotated, deleted). */
  document: string | null;
}

export type StreamNotifier = (updates: StreamUpdate[]) => Promise<void>;

export function streamNotifier({
  edgeUrl,
  secret,
}: {
  edgeUrl: string;
  secret: string | (() => Promise<string>);
}): StreamNotifier {
  return async (updates) => {
    if (updates.length === 0) return;
    const body = JSON.stringify({ updates });
    const response = await fetch(new URL("/internal/flag-streams", edgeUrl), {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        [SIGNATURE_HEADER]: await sign(typeof secret === "string" ? secret : await secret(), body),
      },
      body,
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok)
      throw new Error(`Flag-stream notification answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
  };
}
