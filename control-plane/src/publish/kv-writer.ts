/**
 * Where published deployment documents go. Two implementations: the KV namespace of
 * the local Miniflare (npm start, tests) and Cloudflare's KV REST API (the cloud).
 */
export interface KvEntry {
  key: string;
  value: string;
}

export interface KvWriter {
  put(entries: KvEntry[]): Promise<void>;
  delete(keys: string[]): Promise<void>;
  /** What KV holds (reconcile compares it with what should be published); null when absent. */
  get(key: string): Promise<string | null>;
}

/** The part of a Workers KV binding the writer uses (Miniflare's `getKVNamespace` gives one). */
export interface KvNamespaceLike {
  put(key: string, value: string): Promise<unknown>;
  delete(key: string): Promise<unknown>;
  get(key: string): Promise<string | null>;
}

export function kvNamespaceWriter(namespace: KvNamespaceLike): KvWriter {
  return {
    async put(entries) {
      for (const { key, value } of entries) await namespace.put(key, value);
    },
    async delete(keys) {
      for (const key of keys) await namespace.delete(key);
    },
    get: (key) => namespace.get(key),
  };
}
