/**
 * The control plane as a Node HTTP server (local runs): the app, the publisher writing
 * to the given KV, the bootstrap token and a periodic reconcile pass.
 */
import { serve, type ServerType } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { createControlPlane, type ReleasesOptions } from "./app.js";
import { ensureBootstrapToken } from "./bootstrap-token.js";
import { createStore, type Store } from "./db/store.js";
import { answerAfterBody } from "../../shared/node/answer-after-body.js";
import { createDb, ensureTable } from "../../shared/node/dynamo.js";
import type { KvWriter } from "./publish/kv-writer.js";
import { createPublisher, type Publisher } from "./publish/publisher.js";
import { reconcile } from "./publish/reconcile.js";
import { streamNotifier } from "./publish/stream-notifier.js";
import type { Notifier } from "./notifications/notifier.js";
import type { RolloutService } from "./rollouts/plans.js";
import type { ScheduleService } from "./schedules/schedules.js";
import { startTicker } from "./schedules/ticker.js";
import { httpReportSource } from "./rollouts/experiment-watch.js";
import { httpGuardrailSource } from "./rollouts/guardrail-source.js";
import { createWatcherToken } from "./rollouts/watcher-token.js";

export interface ControlPlaneServerOptions {
  dynamoEndpoint: string;
  table?: string;
  kv: KvWriter;
  port?: number;
  host?: string;
  /** Used as the first admin token on a new install; random when absent. */
  bootstrapToken?: string;
  reconcileEveryMs?: number;
  retryDelaysMs?: number[];
  /** The stats service, whose report API the console's results pages read. */
  statsUrl?: string;
  /** The edge to notify of each publish, for servers streaming flag configs, and the secret to sign with. */
  streamNotify?: { edgeUrl: string; secret: string };
  /** How long one DynamoDB request may go unanswered (shared/node/dynamo.ts's default when absent). */
  dynamoRequestTimeoutMs?: number;
  /** The clock schedules and webhook retries go by (tests move it by hand). */
  now?: () => number;
  /** How often the release watcher runs due schedules and owed webhook deliveries (1 s when absent). */
  releasesEveryMs?: number;
  /** Webhook delivery: retry waits, attempt timeout, how long a missing event number is waited for. */
  webhooks?: Pick<ReleasesOptions, "retryDelaysMs" | "timeoutMs" | "gapWaitMs">;
  /** How long a schedule's claim holds before another watcher may take it over. */
  scheduleClaimMs?: number;
  /** Where rollout plans read their guardrails' statistics; with `statsUrl` and none given, the stats service's API. */
  guardrails?: ReleasesOptions["guardrails"];
  /** Where the watcher reads experiments' reports; with `statsUrl` and none given, the stats service's API. */
  reports?: ReleasesOptions["reports"];
  /** How often running experiments' reports are read (60 s when absent). */
  experimentsEveryMs?: number;

  /** The secret evaluation-count flushes are signed with (default: the flag streams' secret, as the edge uses). */
  evaluationCountsSecret?: string;
}

export interface ControlPlaneServer {
  url: string;
  store: Store;
  publisher: Publisher;
  kv: KvWriter;
  /** Set only when this start created the first admin token. */
  bootstrapToken: string | undefined;
  schedules: ScheduleService;
  notifier: Notifier;
  rollouts: RolloutService;
  /** Runs the release watcher once now (due schedules, owed deliveries). */
  tick(): Promise<void>;
  close(): Promise<void>;
}

export async function startControlPlane(options: ControlPlaneServerOptions): Promise<ControlPlaneServer> {
  const db = createDb({
    table: options.table ?? "experiments",
    endpoint: options.dynamoEndpoint,
    region: process.env["AWS_REGION"] ?? "local",
    ...(options.dynamoRequestTimeoutMs ? { requestTimeoutMs: options.dynamoRequestTimeoutMs } : {}),
  });
  await ensureTable(db);
  const store = createStore(db);
  const publisher = createPublisher({
    store,
    kv: options.kv,
    ...(options.retryDelaysMs ? { retryDelaysMs: options.retryDelaysMs } : {}),
    ...(options.streamNotify ? { notify: streamNotifier(options.streamNotify) } : {}),
  });
  const bootstrapToken = await ensureBootstrapToken(store, options.bootstrapToken);
  const watcherToken =
    !options.statsUrl || (options.reports && options.guardrails) ? undefined : await createWatcherToken(store);
  const reports =
    options.reports ??
    (options.statsUrl && watcherToken ? httpReportSource(options.statsUrl, watcherToken.token) : undefined);
  const guardrails =
    options.guardrails ??
    (options.statsUrl && watcherToken ? httpGuardrailSource(options.statsUrl, watcherToken.token) : undefined);
  const { app, schedules, notifier, rollouts, experiments } = createControlPlane({
    store,
    publisher,
    kv: options.kv,
    publishOnChange: true,
    // The edge signs its evaluation counts (stale flags) with the secret it shares for flag streams.
    evaluationCountsSecret: options.evaluationCountsSecret ?? options.streamNotify?.secret,
    // The console is bundled on its first request (esbuild, in memory): starts that never serve it pay nothing.
    console: {
      load: async () => (await import("../console/build.js")).buildConsole(),
      statsUrl: options.statsUrl,
      edgeUrl: options.streamNotify?.edgeUrl,
    },
    releases: {
      db,
      deliverNow: true,
      ...(options.now ? { now: options.now } : {}),
      ...(options.scheduleClaimMs ? { scheduleClaimMs: options.scheduleClaimMs } : {}),
      ...(guardrails ? { guardrails } : {}),
      ...(reports ? { reports } : {}),
      ...(options.experimentsEveryMs === undefined ? {} : { experimentsEveryMs: options.experimentsEveryMs }),
      ...options.webhooks,
    },
  });
  const ticker = startTicker(
    {
      schedules: schedules!,
      dispatcher: notifier!.dispatcher,
      listProjects: () => store.listProjects(),
      rollouts,
      experiments,
    },
    options.releasesEveryMs ?? 1000,
  );

  await reconcile(store, publisher, options.kv).catch((error: unknown) => console.error("Reconcile failed", error));
  const timer = setInterval(
    () =>
      void reconcile(store, publisher, options.kv).catch((error: unknown) => console.error("Reconcile failed", error)),
    options.reconcileEveryMs ?? 30_000,
  );
  timer.unref();

  const server: ServerType = await new Promise((resolve) => {
    const started = serve(
      { fetch: answerAfterBody(app.fetch), port: options.port ?? 0, hostname: options.host ?? "127.0.0.1" },
      () => resolve(started),
    );
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    store,
    publisher,
    kv: options.kv,
    bootstrapToken,
    schedules: schedules!,
    notifier: notifier!,
    rollouts: rollouts!,
    tick: () => ticker.tick(),
    async close() {
      clearInterval(timer);
      await ticker.stop();
      if (watcherToken) await store.deleteToken(watcherToken.hash).catch(() => undefined);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await publisher.idle();
    },
  };
}
