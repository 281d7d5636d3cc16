/**
 * The isolate's copy of each deployment: the KV document, parsed, validated and
 * compiled once, then served from memory. After `ttlMs` a request still gets the
 * cached copy while one background read (ctx.waitUntil) revalidates it
 * (stale-while-revalidate); after `maxStaleMs` (an isolate that was idle) the request
 * reads KV first, so an idle isolate never answers from a copy older than that. A
 * failed or invalid read keeps the last good copy, so a KV outage or a bad publish
 * never takes evaluation down, and counts as a check, so an outage costs one KV
 * attempt per `ttlMs`, not one per request.
 *
 * No promise is shared between requests: workerd forbids I/O objects crossing request
 * contexts, so each cold request reads KV itself and a flag stops concurrent refreshes.
 */
import { kvNameForApiKey } from "../../shared/deployment-document.js";
import { ApiError } from "../../shared/http/errors.js";
import { loadDeployment, type LoadedDeployment } from "./deployment-loader.js";

export type { LoadedDeployment } from "./deployment-loader.js";

interface Entry {
  value: LoadedDeployment;
  /** The document's text, when at most UNCHANGED_TEXT_CHARS: a revalidation that reads it again skips parsing. */
  text: string | undefined;
  checkedAt: number;
  refreshing: boolean;
}

/**
 * Revalidation reads the document again every `ttlMs`, and nearly always finds it unchanged:
 * comparing the text (a memcmp) instead of parsing it keeps a JSON.parse of the whole
 * document (0.3 ms at 50 flags, 25 ms at 1,000) off the isolate between requests, where
 * it stalled whichever requests arrived meanwhile. Texts up to this many characters are
 * kept for that; a larger one is parsed and compared by version (loadDeployment).
 */
const UNCHANGED_TEXT_CHARS = 4 * 1024 * 1024;

export interface FlagStoreOptions {
  ttlMs: number;
  /** Past this age a copy is revalidated before it is served; 10 × `ttlMs` by default. */
  maxStaleMs?: number;
  /** How long an unknown key is remembered as unknown. */
  unknownTtlMs?: number;
  /**
   * Deployments kept, and separately unknown keys remembered (so that a flood of made-up keys cannot evict real
   * deployments).
   */
  maxEntries?: number;
  now?: () => number;
  log?: (message: string, error?: unknown) => void;
}

/** How long a copy is served before it is revalidated, unless `FLAG_CACHE_TTL_MS` says otherwise. */
export const DEFAULT_FLAG_CACHE_TTL_MS = 1000;

export type WaitUntil = (promise: Promise<unknown>) => void;

export class FlagStore {
  private readonly known = new Map<string, Entry>();
  /** Keys KV does not have, with when it said so. */
  private readonly unknown = new Map<string, number>();
  private readonly now: () => number;
  private readonly log: (message: string, error?: unknown) => void;

  constructor(private readonly options: FlagStoreOptions) {
    this.now = options.now ?? Date.now;
    this.log = options.log ?? ((message, error) => console.error(message, error ?? ""));
  }

  /** Whether this isolate holds a copy of the key's deployment (so serving it needs no KV read). */
  holds(apiKey: string): boolean {
    return this.known.has(apiKey);
  }

  /**
   * The key's deployment when this isolate holds a copy younger than `ttlMs`: what `get` would
   * answer at once, with nothing to revalidate (the routing fast path asks this first).
   */
  fresh(apiKey: string): LoadedDeployment | undefined {
    const entry = this.known.get(apiKey);
    return entry !== undefined && this.now() - entry.checkedAt < this.options.ttlMs ? entry.value : undefined;
  }

  async get(kv: KVNamespace, apiKey: string, waitUntil: WaitUntil): Promise<LoadedDeployment | undefined> {
    const entry = this.known.get(apiKey);
    if (entry) {
      const age = this.now() - entry.checkedAt;
      if (age < this.options.ttlMs) return entry.value;
      if (age < (this.options.maxStaleMs ?? 10 * this.options.ttlMs)) {
        if (!entry.refreshing) {
          entry.refreshing = true;
          waitUntil(this.refresh(kv, apiKey, entry).finally(() => (entry.refreshing = false)));
        }
        return entry.value;
      }
    } else {
      const unknownSince = this.unknown.get(apiKey);
      if (unknownSince !== undefined && this.now() - unknownSince < (this.options.unknownTtlMs ?? this.options.ttlMs))
        return undefined;
    }
    await this.refresh(kv, apiKey, entry);
    return this.known.get(apiKey)?.value;
  }

  /** Reads KV for `apiKey` into `entry` (or a new one); keeps the last good value on any failure. */
  private async refresh(kv: KVNamespace, apiKey: string, entry: Entry | undefined): Promise<void> {
    let text: string | null;
    try {
      text = await kv.get(kvNameForApiKey(apiKey), "text");
    } catch (error) {
      this.log(`KV read failed for a deployment key; serving ${entry ? "the last good copy" : "nothing"}`, error);
      if (entry) {
        entry.checkedAt = this.now();
        return;
      }
      throw new ApiError({
        status: 503,
        message: "Flag configuration is temporarily unavailable",
        headers: {
          "Retry-After": "1",
        },
      });
    }
    if (text !== null && entry !== undefined && text === entry.text) {
      entry.checkedAt = this.now();
      return;
    }
    const loaded = text === null ? undefined : this.load(text, entry?.value);
    const kept = text !== null && text.length <= UNCHANGED_TEXT_CHARS ? text : undefined;
    if (!loaded) {
      // Gone from KV (a rotated or deleted key), or never valid: unknown from now on.
      this.known.delete(apiKey);
      remember(this.unknown, apiKey, this.now(), this.options.maxEntries);
    } else if (entry) {
      entry.value = loaded;
      // Whatever this text loaded to (a new version, or the last good copy kept over an invalid or older one)
      // it loads to again, so the next identical read can skip it.
      entry.text = kept;
      entry.checkedAt = this.now();
    } else {
      this.unknown.delete(apiKey);
      remember(
        this.known,
        apiKey,
        { value: loaded, text: kept, checkedAt: this.now(), refreshing: false },
        this.options.maxEntries,
      );
    }
  }

  private load(text: string, previous: LoadedDeployment | undefined): LoadedDeployment | undefined {
    try {
      return loadDeployment(text, previous, this.log);
    } catch (error) {
      this.log("Ignoring an invalid deployment document; keeping the last good copy", error);
      return previous;
    }
  }
}

/** Adds to a map that drops its oldest entry past `max`. */
function remember<V>(map: Map<string, V>, key: string, value: V, max = 1000): void {
  map.delete(key);
  if (map.size >= max) map.delete(map.keys().next().value!);
  map.set(key, value);
}
