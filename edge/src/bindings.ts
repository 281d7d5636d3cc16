import type { QueueMessage } from "../../shared/events.js";
import type { LoadedDeployment } from "./flag-store.js";

/** The worker's bindings, as declared in wrangler.toml. */
export interface Env {
  /** Published deployment documents, one per API key. */
  FLAGS: KVNamespace;
  /** Exposures and metric events, consumed by the stats service. */
  EVENTS: Queue<QueueMessage>;
  /** Requests per deployment key and location (the Workers Rate Limiting binding); optional. */
  RATE_LIMITER?: RateLimit;
  /** How long an isolate serves its copy of a deployment before revalidating (ms). */
  FLAG_CACHE_TTL_MS?: string;
  /** Proxy mode (CDN middleware in front of a site): the origin and the deployment whose flags apply. */
  CDN_ORIGIN?: string;
  CDN_DEPLOYMENT_KEY?: string;
  CDN_COOKIE_NAME?: string;
  CDN_HEADER_NAME?: string;
  CDN_USER_ID_COOKIE?: string;
  CDN_USER_ID_HEADER?: string;
  /** Where the queue consumer delivers batches, and the HMAC secret it signs them with. */
  STATS_INGEST_URL?: string;
  STATS_INGEST_SECRET?: string;
  /** "true" to inject the assignments into HTML <head> for the browser SDK. */
  CDN_INJECT_HTML?: string;
  /** Flag-config streams to servers, one Durable Object (FlagStreamHub) per server key. */
  FLAG_STREAMS?: DurableObjectNamespace;
  /** The HMAC secret the publisher signs stream notifications with (`POST /internal/flag-streams`). */
  STREAM_NOTIFY_SECRET?: string;
  /** The control plane's `/internal/evaluation-counts` (stale flags), signed with STREAM_NOTIFY_SECRET; optional. */
  EVALUATION_COUNTS_URL?: string;
  /** How often an isolate flushes its evaluation counts at most, in ms (10000 unless set; tests set 0). */
  EVALUATION_COUNTS_FLUSH_MS?: string;
}

/** Set by deployment-auth: the caller's deployment and the key it came with. */
export type EdgeEnv = { Bindings: Env; Variables: { deployment: LoadedDeployment; apiKey: string } };
