/**
 * A proxy in front of a DynamoDB endpoint (dynalite) for simulating the cloud: it counts
 * requests by operation, adds latency to each, and can cut connections (an outage).
 * Point a service's DYNAMODB_ENDPOINT (or `dynamoEndpoint`) at `endpoint`.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface DynamoProxy {
  endpoint: string;
  /** Requests forwarded, by operation (`PutItem`, `BatchGetItem`, …). */
  counts: Map<string, number>;
  total(): number;
  reset(): void;
  /** Milliseconds added before each request is forwarded. */
  latencyMs: number;
  /** While true, new requests have their connection destroyed without an answer. */
  down: boolean;
  /** Fails (destroys) requests of this operation for which `when` is true. */
  failWhen: ((operation: string, body: string) => boolean) | undefined;
  /**
   * Forwards requests for which `when` is true, then destroys the connection instead of answering: the write lands,
   * its reply is lost (the caller's SDK retries it).
   */
  dropReplyWhen: ((operation: string, body: string) => boolean) | undefined;
  /** While true, new requests are accepted and never answered (a DynamoDB that hangs). */
  hang: boolean;
  close(): Promise<void>;
}

export async function startDynamoProxy(target: string, options: { latencyMs?: number } = {}): Promise<DynamoProxy> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  const proxy: DynamoProxy = {
    endpoint: "",
    counts: new Map(),
    total: () => [...proxy.counts.values()].reduce((a, b) => a + b, 0),
    reset: () => proxy.counts.clear(),
    latencyMs: options.latencyMs ?? 0,
    down: false,
    failWhen: undefined,
    dropReplyWhen: undefined,
    hang: false,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const forward = (incoming: IncomingMessage, answer: ServerResponse, body: Buffer, dropReply = false) => {
    const outgoing = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: incoming.url,
        method: incoming.method,
        headers: incoming.headers,
      },
      (response) => {
        if (dropReply) {
          response.resume();
          return void response.on("end", () => incoming.socket.destroy());
        }
        answer.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(answer);
      },
    );
    outgoing.on("error", () => answer.destroy());
    outgoing.end(body);
  };
  const server = createServer((incoming, answer) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => {
      const body = Buffer.concat(chunks);
      const operation = String(incoming.headers["x-amz-target"] ?? "").split(".")[1] ?? "unknown";
      if (proxy.down || proxy.failWhen?.(operation, body.toString("utf8"))) return void incoming.socket.destroy();
      proxy.counts.set(operation, (proxy.counts.get(operation) ?? 0) + 1);
      if (proxy.hang) return; // the connection stays open, unanswered, until the caller gives up or close()
      const dropReply = proxy.dropReplyWhen?.(operation, body.toString("utf8")) ?? false;
      if (proxy.latencyMs > 0) setTimeout(() => forward(incoming, answer, body, dropReply), proxy.latencyMs);
      else forward(incoming, answer, body, dropReply);
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
