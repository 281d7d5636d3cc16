/**
 * Starts the edge worker in real workerd (Miniflare) on a loopback port, with a sink
 * worker consuming the events queue into a KV namespace so tests can read what the
 * edge sent. `publish` writes deployment documents into the KV the edge reads.
 */
import type { Miniflare } from "miniflare";
import type { DeploymentDocument } from "../../shared/deployment-document.js";
import { kvNameForApiKey } from "../../shared/deployment-document.js";
import type { EvaluationFlag } from "../../shared/evaluation/index.js";
import { unpack, type QueueMessage, type SingleMessage } from "../../shared/events.js";
import { EVENTS_QUEUE, startEdgeMiniflare } from "../../edge/local/miniflare.js";

const SINK = `
export default {
  async queue(batch, env) {
    for (const message of batch.messages) await env.RECEIVED.put("m:" + message.id, JSON.stringify(message.body));
  },
};`;

export interface EdgeHarness {
  url: string;
  mf: Miniflare;
  publish(apiKey: string, document: Partial<DeploymentDocument> & { flags: EvaluationFlag[] }): Promise<void>;
  /** Messages the edge sent to the queue so far, batches unpacked (waits up to `ms` for at least `atLeast`). */
  received(atLeast?: number, ms?: number): Promise<SingleMessage[]>;
  /** Messages the edge sent so far, without waiting for more. */
  receivedSoFar(): Promise<SingleMessage[]>;
  clearReceived(): Promise<void>;
  /** Everything the worker wrote to stderr so far (console.error); it is also passed on to this process's. */
  stderr(): string;
  dispose(): Promise<void>;
}

export async function startEdge(
  options: { flagCacheTtlMs?: number; vars?: Record<string, string>; rateLimitPer10s?: number } = {},
): Promise<EdgeHarness> {
  let log = "";
  const { mf, url } = await startEdgeMiniflare({
    handleRuntimeStdio(stdout, stderr) {
      stdout.pipe(process.stdout);
      stderr.on("data", (chunk: Buffer) => {
        log += chunk.toString("utf8");
        process.stderr.write(chunk);
      });
    },
    flagCacheTtlMs: options.flagCacheTtlMs ?? 20,
    ...(options.vars ? { vars: options.vars } : {}),
    ...(options.rateLimitPer10s ? { rateLimitPer10s: options.rateLimitPer10s } : {}),
    extraWorkers: [
      {
        name: "sink",
        modules: true,
        script: SINK,
        compatibilityDate: "2026-04-01",
        kvNamespaces: ["RECEIVED"],
        queueConsumers: { [EVENTS_QUEUE]: { maxBatchSize: 100, maxBatchTimeout: 0.05 } },
      },
    ],
  });
  const flagsKv = await mf.getKVNamespace("FLAGS", "edge");
  const receivedKv = await mf.getKVNamespace("RECEIVED", "sink");
  let version = 0;

  const readAll = async (): Promise<SingleMessage[]> => {
    const { keys } = await receivedKv.list({ prefix: "m:" });
    const messages = await Promise.all(
      keys.map(async ({ name }) => JSON.parse((await receivedKv.get(name))!) as QueueMessage),
    );
    return messages.flatMap(unpack);
  };

  return {
    url: url.href.replace(/\/$/, ""),
    mf,
    async publish(apiKey, document) {
      const full: DeploymentDocument = {
        schemaVersion: 1,
        deployment: "test",
        keyType: "server",
        publishedAt: new Date().toISOString(),
        trackExposures: true,
        ...document,
        version: document.version ?? ++version,
      };
      await flagsKv.put(kvNameForApiKey(apiKey), JSON.stringify(full));
    },
    async received(atLeast = 0, ms = 3000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const messages = await readAll();
        if (messages.length >= atLeast && (atLeast > 0 || Date.now() >= deadline)) return messages;
        if (Date.now() >= deadline) return messages;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    receivedSoFar: readAll,
    async clearReceived() {
      const { keys } = await receivedKv.list({ prefix: "m:" });
      await Promise.all(keys.map(({ name }) => receivedKv.delete(name)));
    },
    stderr: () => log,
    dispose: () => mf.dispose(),
  };
}
