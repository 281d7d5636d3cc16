/**
 * The whole system on one machine, composed once for `npm start` and the end-to-end
 * tests: dynalite, the stats service, the edge in workerd consuming its own queue into
 * the stats service (signed), and the control plane publishing into the edge's KV.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { startDynalite } from "../shared/node/local-dynalite.js";
import { kvNamespaceWriter, type KvWriter } from "../control-plane/src/publish/kv-writer.js";
import { startControlPlane, type ControlPlaneServer } from "../control-plane/src/server.js";
import { startEdgeMiniflare } from "../edge/local/miniflare.js";
import { startStatsService, type StatsServer } from "../stats-lambda/src/server.js";

export interface LocalSystemOptions {
  ingestSecret: string;
  /**
   * A DynamoDB-compatible endpoint (DynamoDB Local, AWS, a latency or fault proxy) to use
   * instead of starting dynalite; the services create their tables there when missing.
   */
  dynamoEndpoint?: string;
  /** Persist DynamoDB and KV under this folder; in memory when absent (queued events are drained at close). */
  dataDir?: string;
  ports?: { edge?: number; controlPlane?: number; stats?: number };
  flagCacheTtlMs: number;
  /** The first admin token of a new install (random when absent). */
  bootstrapToken?: string;
  reconcileEveryMs?: number;
  queueBatchTimeoutSeconds?: number;
}

export interface LocalSystem {
  dynamoEndpoint: string;
  edgeUrl: string;
  statsUrl: string;
  controlPlane: ControlPlaneServer;
  /** What the control plane signs flag-stream notifications to the edge with. */
  streamNotifySecret: string;
  /**
   * The CDN middleware in proxy mode in front of `origin`, for one deployment key: a
   * second edge worker with its own KV, which the control plane then publishes to as well.
   */
  startCdn(options: { origin: string; deploymentKey: string; port?: number }): Promise<string>;
  close(): Promise<void>;
}

export async function startLocalSystem(options: LocalSystemOptions): Promise<LocalSystem> {
  const dynamo = options.dynamoEndpoint
    ? { endpoint: options.dynamoEndpoint, close: async () => {} }
    : await startDynalite(options.dataDir ? { path: join(options.dataDir, "dynamo") } : {});
  const stats = await startStatsService({
    dynamoEndpoint: dynamo.endpoint,
    ingestSecret: options.ingestSecret,
    ...(options.ports?.stats ? { port: options.ports.stats } : {}),
    ...(options.dataDir ? { eventStoreRoot: join(options.dataDir, "events") } : {}), // docs/event-store.md
  });
  // The publisher hands each publish to the edge's flag streams, signed with this.
  const streamNotifySecret = randomBytes(24).toString("base64url");
  const edge = await startEdgeMiniflare({
    streamNotifySecret,
    ...(options.ports?.edge ? { port: options.ports.edge } : {}),
    ...(options.dataDir ? { persistDir: join(options.dataDir, "miniflare") } : {}),
    flagCacheTtlMs: options.flagCacheTtlMs,
    consumer: {
      ingestUrl: `${stats.url}/ingest`,
      secret: options.ingestSecret,
      ...(options.queueBatchTimeoutSeconds ? { maxBatchTimeoutSeconds: options.queueBatchTimeoutSeconds } : {}),
    },
  });
  // Every edge worker's KV gets every published document (the CDN proxy's joins later).
  const kvTargets: KvWriter[] = [kvNamespaceWriter(await edge.mf.getKVNamespace("FLAGS", "edge"))];
  const kv: KvWriter = {
    put: async (entries) => void (await Promise.all(kvTargets.map((target) => target.put(entries)))),
    delete: async (keys) => void (await Promise.all(kvTargets.map((target) => target.delete(keys)))),
    get: (key) => kvTargets[0]!.get(key),
  };
  const controlPlane = await startControlPlane({
    dynamoEndpoint: dynamo.endpoint,
    kv,
    statsUrl: stats.url,
    streamNotify: { edgeUrl: edge.url.href, secret: streamNotifySecret },
    ...(options.ports?.controlPlane ? { port: options.ports.controlPlane } : {}),
    ...(options.bootstrapToken ? { bootstrapToken: options.bootstrapToken } : {}),
    ...(options.reconcileEveryMs ? { reconcileEveryMs: options.reconcileEveryMs } : {}),
  });
  let cdn: Awaited<ReturnType<typeof startEdgeMiniflare>> | undefined;
  return {
    dynamoEndpoint: dynamo.endpoint,
    streamNotifySecret,
    edgeUrl: edge.url.href.replace(/\/$/, ""),
    statsUrl: stats.url,
    controlPlane,
    async startCdn({ origin, deploymentKey, port }) {
      cdn = await startEdgeMiniflare({
        ...(port ? { port } : {}),
        ...(options.dataDir ? { persistDir: join(options.dataDir, "miniflare-cdn") } : {}),
        flagCacheTtlMs: options.flagCacheTtlMs,
        vars: { CDN_ORIGIN: origin, CDN_DEPLOYMENT_KEY: deploymentKey, CDN_INJECT_HTML: "true" },
        consumer: {
          ingestUrl: `${stats.url}/ingest`,
          secret: options.ingestSecret,
          ...(options.queueBatchTimeoutSeconds ? { maxBatchTimeoutSeconds: options.queueBatchTimeoutSeconds } : {}),
        },
      });
      kvTargets.push(kvNamespaceWriter(await cdn.mf.getKVNamespace("FLAGS", "edge")));
      // Bring its KV up to date: publish every deployment again (versions only grow).
      for (const project of await controlPlane.store.listProjects()) {
        for (const deployment of await controlPlane.store.listDeployments(project.key))
          await controlPlane.publisher.publish(project.key, deployment.key);
      }
      return cdn.url.href.replace(/\/$/, "");
    },
    async close() {
      await drainQueue(stats, options.queueBatchTimeoutSeconds ?? 1);
      await controlPlane.close();
      await cdn?.mf.dispose();
      await edge.mf.dispose();
      await stats.close();
      await dynamo.close();
    },
  };
}

/**
 * Miniflare keeps queued messages in memory only, so an event accepted (202) just before
 * Ctrl-C would be lost with the process. Before stopping, wait until deliveries to the
 * stats service have been quiet for longer than the queue's batch timeout (anything
 * accepted has then been delivered), at most 15 s.
 */
async function drainQueue(stats: StatsServer, batchTimeoutSeconds: number): Promise<void> {
  const quietMs = batchTimeoutSeconds * 1000 + 1500;
  const started = Date.now();
  while (Date.now() - started < 15_000 && Date.now() - Math.max(stats.lastDeliveryAt(), started) < quietMs) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
