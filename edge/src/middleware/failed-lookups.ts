/**
 * Made-up deployment keys: each unknown key costs a KV read (the negative cache only helps when
 * the same key comes again), so a client sending a new made-up key per request could make
 * every request a KV read. Failed lookups are counted per client IP (`CF-Connecting-IP`, which
 * Cloudflare sets and a client cannot) in fixed 10 s windows, per isolate; past the budget that
 * client gets 429 with `Retry-After` for the rest of the window without a KV read, except for
 * keys the isolate already holds (a real app behind the same address keeps working).
 */
import { ApiError } from "../../../shared/http/errors.js";

export const FAILED_LOOKUPS_PER_WINDOW = 20;
const WINDOW_MS = 10_000;

interface Window {
  start: number;
  failures: number;
}

export interface FailedLookupsOptions {
  limit?: number;
  /** Clients remembered (the oldest window is dropped past this). */
  maxClients?: number;
  now?: () => number;
}

/** The client a request comes from, as Cloudflare says (one shared bucket where nothing says). */
export const clientOf = (headers: Headers): string => headers.get("cf-connecting-ip") ?? "unknown";

export class FailedLookups {
  private readonly windows = new Map<string, Window>();
  private readonly now: () => number;

  constructor(private readonly options: FailedLookupsOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  /** Throws 429 when this client has spent its failed lookups for the current window. */
  check(client: string): void {
    const window = this.current(client);
    if (!window || window.failures < (this.options.limit ?? FAILED_LOOKUPS_PER_WINDOW)) return;
    const seconds = Math.max(1, Math.ceil((window.start + WINDOW_MS - this.now()) / 1000));
    throw new ApiError({
      status: 429,
      message: "Too many requests with unknown deployment keys from this address; retry later",
      headers: { "Retry-After": String(seconds) },
    });
  }

  record(client: string): void {
    const window = this.current(client);
    if (window) {
      window.failures++;
      return;
    }
    if (this.windows.size >= (this.options.maxClients ?? 10_000))
      this.windows.delete(this.windows.keys().next().value!);
    this.windows.set(client, { start: this.now(), failures: 1 });
  }

  private current(client: string): Window | undefined {
    const window = this.windows.get(client);
    if (window && this.now() - window.start >= WINDOW_MS) {
      this.windows.delete(client);
      return undefined;
    }
    return window;
  }
}
