import type { QueueMessage } from "../../shared/events.js";
import type { LoadedDeployment } from "./flag-store.js";

/** The worker's bindings, as declared in wrangler.toml. */
export interface Env {
  /** Published deployment documents, one per API key. */
  FLAGS: KVNamespace;
  /** Exposures and metric events, consumed by the stats service. */
  EVENTS: Queue<QueueMessage>;
  /** How long an isolate serves its copy of a deployment before revalidating (ms). */
  FLAG_CACHE_TTL_MS?: string;
}

export type EdgeEnv = { Bindings: Env; Variables: { deployment: LoadedDeployment } };
