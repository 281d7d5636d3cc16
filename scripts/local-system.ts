/**
 * The whole system on one machine, composed once for `npm start` and the end-to-end
 * tests: dynalite, the stats service, the edge in workerd consuming its own queue into
 * the stats service (signed), and the control plane publishing into the edge's KV.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDynalite } from "../shared/node/local-dynalite.js";
import { kvNamespaceWriter, type KvWriter } from "../control-plane/src/publish/kv-writer.js";
import { startControlPlane, type ControlPlaneServer } from "../control-plane/src/server.js";
import { startEdgeMiniflare } from "../edge/local/miniflare.js";
import { startStatsService } from "../stats-lambda/src/server.js";
import { drainQueues, type DrainReport, type LedgerReader } from "./local-drain.js";
import { openSpool } from "./local-spool.js";

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
  /** How long stopping waits for ingest to acknowledge what was accepted (15 s when absent). */
  drainTimeoutMs?: number;
  /** Where stopping reports its progress (the console when absent). */
  log?: (line: string) => void;
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
  /** Stops taking requests, drains the queues into ingest (bounded, the rest to the spool), stops everything. */
  stop(): Promise<DrainReport>;
  /** `stop`, for callers that need no report. */
  close(): Promise<void>;
}

export async function startLocalSystem(options: LocalSystemOptions): Promise<LocalSystem> {
  // Stopped in reverse order if a later part fails to start: nothing outlives a failed start.
  const started: Array<() => Promise<unknown>> = [];
  const stopStarted = async () => {
    for (const stop of started.reverse()) await stop().catch(() => {});
  };
  try {
    return await compose(options, started);
  } catch (error) {
    await stopStarted();
    throw error;
  }
}

async function compose(options: LocalSystemOptions, started: Array<() => Promise<unknown>>): Promise<LocalSystem> {
  const dynamo = options.dynamoEndpoint
    ? { endpoint: options.dynamoEndpoint, close: async () => {} }
    : await startDynalite(options.dataDir ? { path: join(options.dataDir, "dynamo") } : {});
  started.push(() => dynamo.close());
  // Reports are computed from the event store (docs/event-store.md): under the data folder, or in a
  // temporary folder of this run's own, removed when it stops.
  const eventStoreRoot = options.dataDir ? join(options.dataDir, "events") : mkdtempSync(join(tmpdir(), "events-"));
  const removeTemporaryStore = () => {
    if (!options.dataDir) rmSync(eventStoreRoot, { recursive: true, force: true });
  };
  started.push(async () => removeTemporaryStore());
  const stats = await startStatsService({
    dynamoEndpoint: dynamo.endpoint,
    ingestSecret: options.ingestSecret,
    ...(options.ports?.stats ? { port: options.ports.stats } : {}),
    eventStoreRoot,
  });
  started.push(() => stats.close());
  // Undeliverable messages wait on disk (in a temporary folder without a data folder); a
  // previous run's are delivered from now on.
  const spool = await openSpool({
    dir: options.dataDir ? join(options.dataDir, "spool") : mkdtempSync(join(tmpdir(), "local-spool-")),
    ingestUrl: `${stats.url}/ingest`,
    secret: options.ingestSecret,
  });
  started.push(() => spool.close());
  if (spool.pending() > 0) {
    (options.log ?? console.log)(`Delivering ${spool.pending()} queue messages kept in ${spool.dir} by the last stop`);
    void spool.deliverDue(true).catch((error: unknown) => console.error("Spool delivery failed", error));
  }
  const ledgerToken = randomBytes(16).toString("base64url");
  const consumer = {
    ingestUrl: `${stats.url}/ingest`,
    secret: options.ingestSecret,
    ...(options.queueBatchTimeoutSeconds ? { maxBatchTimeoutSeconds: options.queueBatchTimeoutSeconds } : {}),
  };
  const local = { spool: spool.add, ledgerToken };
  // The publisher hands each publish to the edge's flag streams, signed with this.
  const streamNotifySecret = randomBytes(24).toString("base64url");
  const edge = await startEdgeMiniflare({
    streamNotifySecret,
    ...(options.ports?.edge ? { port: options.ports.edge } : {}),
    ...(options.dataDir ? { persistDir: join(options.dataDir, "miniflare") } : {}),
    flagCacheTtlMs: options.flagCacheTtlMs,
    consumer,
    local,
    // Evaluation counts for stale flags go to the control plane, signed as stream notifications are (its port must
    // be known before it starts: `npm start` fixes it).
    ...(options.ports?.controlPlane
      ? { vars: { EVALUATION_COUNTS_URL: `http://127.0.0.1:${options.ports.controlPlane}/internal/evaluation-counts` } }
      : {}),
  });
  started.push(() => edge.mf.dispose());
  const ledgers: LedgerReader[] = [{ name: "edge", mf: edge.mf, token: ledgerToken }];
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
  started.push(() => controlPlane.close());
  let cdn: Awaited<ReturnType<typeof startEdgeMiniflare>> | undefined;
  let closing: Promise<DrainReport> | undefined;
  const system: LocalSystem = {
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
        consumer,
        local,
      });
      ledgers.push({ name: "CDN proxy", mf: cdn.mf, token: ledgerToken });
      kvTargets.push(kvNamespaceWriter(await cdn.mf.getKVNamespace("FLAGS", "edge")));
      // Bring its KV up to date: publish every deployment again (versions only grow).
      for (const project of await controlPlane.store.listProjects()) {
        for (const deployment of await controlPlane.store.listDeployments(project.key))
          await controlPlane.publisher.publish(project.key, deployment.key);
      }
      return cdn.url.href.replace(/\/$/, "");
    },
    async close() {
      await system.stop();
    },
    stop() {
      closing ??= (async () => {
        const log = options.log ?? ((line: string) => console.log(line));
        // A drain that cannot even read a ledger (workerd gone) must not keep the rest running.
        const report = await drainQueues(ledgers, spool, { timeoutMs: options.drainTimeoutMs ?? 15_000, log }).catch(
          (error: unknown): DrainReport => {
            log(`Could not drain the queues: ${String(error)}`);
            return { drained: false, accepted: 0, spooled: spool.pending(), lost: 0, ms: 0 };
          },
        );
        await spool.close();
        await controlPlane.close();
        await cdn?.mf.dispose();
        await edge.mf.dispose();
        await stats.close();
        await dynamo.close();
        removeTemporaryStore();
        return report;
      })();
      return closing;
    },
  };
  return system;
}
