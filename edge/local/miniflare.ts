/**
 * The edge worker in Miniflare (real workerd, real KV and Queues), as `npm start`
 * and the tests run it. Extra workers (the queue consumer, a test sink) run beside it.
 */
import type { Readable } from "node:stream";
import { Miniflare, PeriodType, type WorkerOptions } from "miniflare";
import { DEFAULT_FLAG_CACHE_TTL_MS } from "../src/flag-store.js";
import { buildEdgeWorker, buildLocalEdgeWorker } from "./build.js";
import type { SpooledMessage } from "./ledger.js";

export const COMPATIBILITY_DATE = "2026-04-01";
export const EVENTS_QUEUE = "experiment-events";
/** As in wrangler.toml: 10,000 requests per deployment key per 10 s (per location on Cloudflare). */
export const DEFAULT_RATE_LIMIT_PER_10S = 10_000;

export interface EdgeMiniflareOptions {
  host?: string;
  port?: number;
  /**
   * Where KV and cache state persist between runs; in memory when absent. Miniflare keeps
   * queued messages in memory only, whatever the options: the local system drains the
   * queue before it stops (scripts/local-system.ts).
   */
  persistDir?: string;
  flagCacheTtlMs?: number;
  /** Requests per deployment key per 10 s before 429 (wrangler.toml sets the production budget). */
  rateLimitPer10s?: number;
  /** Extra vars for the edge worker (proxy mode: CDN_ORIGIN, CDN_DEPLOYMENT_KEY, …). */
  vars?: Record<string, string>;
  /** Make the edge worker the queue's consumer, delivering to the stats service. */
  consumer?: { ingestUrl: string; secret: string; maxBatchTimeoutSeconds?: number; maxRetries?: number };
  extraWorkers?: WorkerOptions[];
  /** Accept the publisher's flag-stream notifications signed with this secret. */
  streamNotifySecret?: string;
  /**
   * Run the local system's wrapper (edge/local/local-worker.ts): messages the consumer would
   * retry go to `spool` (which must have them on disk when it resolves), and the queue's
   * ledger answers requests carrying `ledgerToken`.
   */
  local?: { spool(messages: SpooledMessage[]): Promise<void>; ledgerToken: string };
  /** workerd's stdout and stderr (what the worker logs); Miniflare pipes them to this process's own when absent. */
  handleRuntimeStdio?: (stdout: Readable, stderr: Readable) => void;
  /** Opens workerd's V8 inspector on this port (bench/profile-edge.ts profiles through it). */
  inspectorPort?: number;
}

export async function startEdgeMiniflare(options: EdgeMiniflareOptions = {}): Promise<{ mf: Miniflare; url: URL }> {
  const local = options.local;
  const script = await (local ? buildLocalEdgeWorker() : buildEdgeWorker());
  const persist = options.persistDir;
  const mf = new Miniflare({
    host: options.host ?? "127.0.0.1",
    port: options.port ?? 0,
    cf: false,
    log: undefined,
    ...(options.handleRuntimeStdio ? { handleRuntimeStdio: options.handleRuntimeStdio } : {}),
    ...(options.inspectorPort === undefined ? {} : { inspectorPort: options.inspectorPort }),
    ...(persist
      ? { kvPersist: `${persist}/kv`, cachePersist: `${persist}/cache`, durableObjectsPersist: `${persist}/do` }
      : {}),
    workers: [
      {
        name: "edge",
        modules: true,
        script,
        compatibilityDate: COMPATIBILITY_DATE,
        kvNamespaces: { FLAGS: "flags" },
        durableObjects: { FLAG_STREAMS: "FlagStreamHub" },
        queueProducers: { EVENTS: { queueName: EVENTS_QUEUE } },
        ratelimits: {
          RATE_LIMITER: {
            simple: { limit: options.rateLimitPer10s ?? DEFAULT_RATE_LIMIT_PER_10S, period: PeriodType.TENSECONDS },
          },
        },
        bindings: {
          FLAG_CACHE_TTL_MS: String(options.flagCacheTtlMs ?? DEFAULT_FLAG_CACHE_TTL_MS),
          ...(options.consumer
            ? { STATS_INGEST_URL: options.consumer.ingestUrl, STATS_INGEST_SECRET: options.consumer.secret }
            : {}),
          ...(options.streamNotifySecret ? { STREAM_NOTIFY_SECRET: options.streamNotifySecret } : {}),
          ...(local ? { LOCAL_LEDGER_TOKEN: local.ledgerToken } : {}),
          ...options.vars,
        },
        ...(local
          ? {
              serviceBindings: {
                LOCAL_SPOOL: async (request: Request) => {
                  try {
                    await local.spool((await request.json()) as SpooledMessage[]);
                    return new Response(null, { status: 204 });
                  } catch (error) {
                    console.error("Local spool write failed", error);
                    return new Response(null, { status: 500 });
                  }
                },
              },
            }
          : {}),
        ...(options.consumer
          ? {
              queueConsumers: {
                [EVENTS_QUEUE]: {
                  maxBatchSize: 100,
                  maxBatchTimeout: options.consumer.maxBatchTimeoutSeconds ?? 1,
                  maxRetries: options.consumer.maxRetries ?? 10,
                  deadLetterQueue: `${EVENTS_QUEUE}-dlq`,
                },
              },
            }
          : {}),
      },
      ...(options.extraWorkers ?? []),
    ],
  });
  const url = await mf.ready;
  return { mf, url };
}
