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
import { compile, type CompiledFlagSet } from "../../shared/evaluation/index.js";
import { deploymentDocumentSchema, kvNameForApiKey, type KeyType } from "../../shared/deployment-document.js";
import { ApiError } from "../../shared/http/errors.js";

export interface LoadedDeployment {
  readonly project: string | undefined;
  readonly deployment: string;
  readonly keyType: KeyType;
  readonly version: number;
  readonly trackExposures: boolean;
  readonly compiled: CompiledFlagSet;
}

interface Entry {
  value: LoadedDeployment | undefined; // undefined: the key is unknown
  checkedAt: number;
  refreshing: boolean;
}

export interface FlagStoreOptions {
  ttlMs: number;
  /** Past this age a copy is revalidated before it is served; 10 × `ttlMs` by default. */
  maxStaleMs?: number;
  /** How long an unknown key is remembered as unknown. */
  unknownTtlMs?: number;
  maxEntries?: number;
  now?: () => number;
  log?: (message: string, error?: unknown) => void;
}

export type WaitUntil = (promise: Promise<unknown>) => void;

export class FlagStore {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly log: (message: string, error?: unknown) => void;

  constructor(private readonly options: FlagStoreOptions) {
    this.now = options.now ?? Date.now;
    this.log = options.log ?? ((message, error) => console.error(message, error ?? ""));
  }

  async get(kv: KVNamespace, apiKey: string, waitUntil: WaitUntil): Promise<LoadedDeployment | undefined> {
    const entry = this.entries.get(apiKey);
    if (entry) {
      const age = this.now() - entry.checkedAt;
      const ttl = entry.value ? this.options.ttlMs : (this.options.unknownTtlMs ?? this.options.ttlMs);
      if (age < ttl) return entry.value;
      if (entry.value && age < (this.options.maxStaleMs ?? 10 * this.options.ttlMs)) {
        if (!entry.refreshing) {
          entry.refreshing = true;
          waitUntil(this.refresh(kv, apiKey, entry).finally(() => (entry.refreshing = false)));
        }
        return entry.value;
      }
    }
    const fresh: Entry = entry ?? { value: undefined, checkedAt: 0, refreshing: false };
    await this.refresh(kv, apiKey, fresh, !entry);
    return fresh.value;
  }

  /** Reads KV into `entry`; keeps the last good value on any failure. */
  private async refresh(kv: KVNamespace, apiKey: string, entry: Entry, isNew = false): Promise<void> {
    let text: string | null;
    try {
      text = await kv.get(kvNameForApiKey(apiKey), "text");
    } catch (error) {
      this.log(`KV read failed for a deployment key; serving ${entry.value ? "the last good copy" : "nothing"}`, error);
      if (entry.value) {
        entry.checkedAt = this.now();
        return;
      }
      throw new ApiError(503, "unavailable", "Flag configuration is temporarily unavailable", undefined, { "Retry-After": "1" });
    }
    entry.checkedAt = this.now();
    if (text === null) {
      entry.value = undefined;
    } else {
      const loaded = this.load(text, entry.value);
      if (loaded) entry.value = loaded;
    }
    if (isNew) this.remember(apiKey, entry);
  }

  private load(text: string, previous: LoadedDeployment | undefined): LoadedDeployment | undefined {
    try {
      const raw: unknown = JSON.parse(text);
      const version = (raw as { version?: unknown })?.version;
      if (previous && version === previous.version) return previous; // unchanged: keep the compiled copy
      const document = deploymentDocumentSchema.parse(raw);
      if (previous && document.version < previous.version) return previous; // never step back
      return {
        project: document.project,
        deployment: document.deployment,
        keyType: document.keyType,
        version: document.version,
        trackExposures: document.trackExposures,
        compiled: compile(document.flags),
      };
    } catch (error) {
      this.log("Ignoring an invalid deployment document; keeping the last good copy", error);
      return previous;
    }
  }

  private remember(apiKey: string, entry: Entry): void {
    const max = this.options.maxEntries ?? 1000;
    if (this.entries.size >= max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(apiKey, entry);
  }
}
