/**
 * Cloudflare's KV REST API (client/v4): bulk write is `PUT …/bulk` with
 * `[{key, value}]` (≤ 10,000 pairs, ≤ 100 MB), bulk delete `POST …/bulk/delete` with
 * `[key]`, read `GET …/values/{key}` (the raw value). Success is `{"success": true}`;
 * anything else is thrown with Cloudflare's error messages so the publisher records and
 * retries it.
 */
import type { KvEntry, KvWriter } from "./kv-writer.js";

export interface CloudflareKvOptions {
  accountId: string;
  namespaceId: string;
  /** The token, or how to get it (from Secrets Manager in Lambda). */
  apiToken: string | (() => Promise<string>);
  /** Overridable for tests; defaults to Cloudflare's API. */
  baseUrl?: string;
  fetch?: typeof fetch;
}

const BULK_LIMIT = 10_000;

export function cloudflareKvWriter(options: CloudflareKvOptions): KvWriter {
  const api = options.baseUrl ?? "https://api.cloudflare.com/client/v4";
  const [account, namespace] = [options.accountId, options.namespaceId].map(encodeURIComponent);
  const base = `${api}/accounts/${account}/storage/kv/namespaces/${namespace}`;
  const send = options.fetch ?? fetch;

  async function call(method: string, path: string, body: unknown): Promise<void> {
    const response = await send(`${base}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${typeof options.apiToken === "string" ? options.apiToken : await options.apiToken()}`,
        "Content-Type": "application/json",
      },
      body: JSON.stringify(body),
    });
    const result = (await response.json().catch(() => undefined)) as
      | { success?: boolean; errors?: Array<{ code?: number; message?: string }> }
      | undefined;
    if (!response.ok || result?.success !== true) {
      const errors = result?.errors?.map((e) => `${e.code ?? ""} ${e.message ?? ""}`.trim()).join("; ");
      throw new Error(`Cloudflare KV ${method} ${path} failed: HTTP ${response.status}${errors ? ` (${errors})` : ""}`);
    }
  }

  const chunks = <T>(items: T[]): T[][] =>
    Array.from({ length: Math.ceil(items.length / BULK_LIMIT) }, (_, i) =>
      items.slice(i * BULK_LIMIT, (i + 1) * BULK_LIMIT),
    );

  return {
    async put(entries: KvEntry[]) {
      for (const chunk of chunks(entries)) await call("PUT", "/bulk", chunk);
    },
    async delete(keys: string[]) {
      for (const chunk of chunks(keys)) await call("POST", "/bulk/delete", chunk);
    },
    /** `GET …/values/{key}`: the raw value, 404 when absent. */
    async get(key: string) {
      const response = await send(`${base}/values/${encodeURIComponent(key)}`, {
        headers: {
          Authorization: `Bearer ${typeof options.apiToken === "string" ? options.apiToken : await options.apiToken()}`,
        },
      });
      if (response.status === 404) return null;
      if (!response.ok) throw new Error(`Cloudflare KV GET /values failed: HTTP ${response.status}`);
      return response.text();
    },
  };
}
