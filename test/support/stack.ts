/**
 * The whole local system for tests: dynalite, the edge in workerd (with a queue sink),
 * and the control plane publishing into the edge's KV. Everything on loopback ports,
 * in memory, stopped by `dispose`.
 */
import { startDynalite } from "../../shared/node/local-dynalite.js";
import { kvNamespaceWriter, type KvWriter } from "../../control-plane/src/publish/kv-writer.js";
import { startControlPlane, type ControlPlaneServer } from "../../control-plane/src/server.js";
import { startLocalSystem } from "../../scripts/local-system.js";
import { type AdminApi, adminApi } from "./admin-api.js";
import { startDynamoProxy, type DynamoProxy } from "./dynamo-proxy.js";
import { startEdge, type EdgeHarness } from "./edge-harness.js";

export interface Stack {
  edge: EdgeHarness;
  /** With `dynamoProxy`: what the control plane reaches DynamoDB through (to cut it). */
  proxy: DynamoProxy | undefined;
  controlPlane: ControlPlaneServer;
  adminToken: string;
  dynamoEndpoint: string;
  /** Calls the control plane with the admin token (or another); JSON in and out. */
  api: AdminApi;
  dispose(): Promise<void>;
}

export async function startStack(
  options: {
    kv?: (edgeKv: KvWriter) => KvWriter;
    retryDelaysMs?: number[];
    dynamoProxy?: boolean;
    reconcileEveryMs?: number;
    dynamoRequestTimeoutMs?: number;
  } = {},
): Promise<Stack> {
  const dynamo = await startDynalite();
  const proxy = options.dynamoProxy ? await startDynamoProxy(dynamo.endpoint) : undefined;
  const edge = await startEdge();
  const edgeKv = kvNamespaceWriter(await edge.mf.getKVNamespace("FLAGS", "edge"));
  const controlPlane = await startControlPlane({
    dynamoEndpoint: proxy?.endpoint ?? dynamo.endpoint,
    kv: options.kv ? options.kv(edgeKv) : edgeKv,
    reconcileEveryMs: options.reconcileEveryMs ?? 60_000,
    retryDelaysMs: options.retryDelaysMs ?? [100, 200, 400],
    ...(options.dynamoRequestTimeoutMs ? { dynamoRequestTimeoutMs: options.dynamoRequestTimeoutMs } : {}),
  });
  const adminToken = controlPlane.bootstrapToken!;
  return {
    edge,
    proxy,
    controlPlane,
    adminToken,
    dynamoEndpoint: dynamo.endpoint,
    api: adminApi(controlPlane.url, adminToken),
    async dispose() {
      if (proxy) proxy.down = false; // let the control plane's last writes finish
      await controlPlane.close();
      await edge.dispose();
      await proxy?.close();
      await dynamo.close();
    },
  };
}

/**
 * The whole pipeline as `npm start` runs it: dynalite, the control plane, the stats
 * service, and the edge consuming its own queue and delivering signed batches to stats.
 */
export interface FullStack extends Omit<Stack, "edge" | "dynamoEndpoint" | "proxy"> {
  edgeUrl: string;
  statsUrl: string;
  /** GET a report from the stats service. */
  report(project: string, experiment: string): Promise<any>;
}

export async function startFullStack(): Promise<FullStack> {
  const system = await startLocalSystem({
    ingestSecret: "e2e-ingest-secret",
    flagCacheTtlMs: 50,
    reconcileEveryMs: 60_000,
    queueBatchTimeoutSeconds: 0.2,
  });
  const { controlPlane, edgeUrl, statsUrl } = system;
  const adminToken = controlPlane.bootstrapToken!;
  const stats = adminApi(statsUrl, adminToken);
  return {
    edgeUrl,
    statsUrl,
    controlPlane,
    adminToken,
    api: adminApi(controlPlane.url, adminToken),
    report: async (project, experiment) =>
      (await stats("GET", `/projects/${project}/experiments/${experiment}/report`)).body,
    dispose: () => system.close(),
  };
}
