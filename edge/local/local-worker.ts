/**
 * The edge worker as `npm start` runs it: the production worker (edge/src/index.ts),
 * wrapped so that stopping the local system loses nothing it accepted. Bundled for workerd
 * by edge/local/build.ts; never deployed.
 *
 * Miniflare keeps queued messages in memory only, retried ones included (a delivery that
 * failed waits there for its backoff, up to minutes). So, locally:
 * - a message the consumer would retry is written to the local system's spool on disk
 *   instead (the `LOCAL_SPOOL` binding, a Node function) and acknowledged to the queue; the
 *   spool delivers it to ingest from there, also after a restart;
 * - the isolate keeps a ledger (messages sent to the queue, acknowledged by ingest, spooled,
 *   sends still in flight) that the local system reads to know when every accepted message
 *   has been acknowledged;
 * - once told to stop, the worker answers 503 to new requests, so nothing is accepted that
 *   the drain would not wait for.
 * One isolate runs the worker locally, so module state is the ledger of the whole queue.
 */
import type { QueueMessage } from "../../shared/events.js";
import type { Env } from "../src/bindings.js";
import worker from "../src/index.js";
import { LEDGER_HEADER, LEDGER_PATH, type QueueLedger, type SpooledMessage } from "./ledger.js";

export { FlagStreamHub } from "../src/streaming/flag-stream-hub.js";

export interface LocalEnv extends Env {
  LOCAL_SPOOL: Fetcher;
  /** Requests to the ledger path must carry it (`x-local-ledger`). */
  LOCAL_LEDGER_TOKEN: string;
}

const ledger: QueueLedger = { sent: 0, acked: 0, spooled: 0, busy: 0, stopping: false };

function track<T>(promise: Promise<T>): Promise<T> {
  ledger.busy++;
  return promise.finally(() => ledger.busy--);
}

/** The producer binding, counting what the broker accepted. */
function countingQueue(queue: Queue<QueueMessage>): Queue<QueueMessage> {
  const counting: Queue<QueueMessage> = {
    send: async (body, options) => {
      const result = await queue.send(body, options);
      ledger.sent++;
      return result;
    },
    sendBatch: async (messages, options) => {
      const list = [...messages];
      const result = await queue.sendBatch(list, options);
      ledger.sent += list.length;
      return result;
    },
    metrics: () => queue.metrics(),
  };
  return counting;
}

function ledgerRequest(request: Request, env: LocalEnv): Response {
  if (request.headers.get(LEDGER_HEADER) !== env.LOCAL_LEDGER_TOKEN)
    return Response.json({ error: "forbidden", message: "Not the local system" }, { status: 403 });
  if (request.method === "POST") ledger.stopping = true;
  return Response.json(ledger);
}

/**
 * Runs the production consumer on a view of the batch whose `retry` marks the message for
 * the spool; the marked ones are then spooled and acknowledged together (retried in the
 * queue as before if the spool cannot take them).
 */
async function consume(batch: MessageBatch<QueueMessage>, env: LocalEnv): Promise<void> {
  const diverted = new Map<Message<QueueMessage>, number>();
  const view = (message: Message<QueueMessage>): Message<QueueMessage> => ({
    id: message.id,
    timestamp: message.timestamp,
    body: message.body,
    attempts: message.attempts,
    ack: () => {
      diverted.delete(message);
      message.ack();
      ledger.acked++;
    },
    retry: (options?: QueueRetryOptions) => void diverted.set(message, options?.delaySeconds ?? 0),
  });
  const messages = batch.messages.map(view);
  await worker.queue!(
    {
      queue: batch.queue,
      metadata: batch.metadata,
      messages,
      ackAll: () => {
        for (const message of messages) message.ack();
      },
      retryAll: (options?: QueueRetryOptions) => {
        for (const message of messages) message.retry(options);
      },
    },
    env,
  );
  if (diverted.size === 0) return;
  const entries: SpooledMessage[] = [...diverted].map(([message, delaySeconds]) => ({
    id: message.id,
    timestamp: message.timestamp.getTime(),
    attempts: message.attempts,
    body: message.body,
    notBefore: Date.now() + delaySeconds * 1000,
  }));
  const spooled = await env.LOCAL_SPOOL.fetch("http://spool/", { method: "POST", body: JSON.stringify(entries) }).then(
    (response) => response.ok,
    () => false,
  );
  for (const [message, delaySeconds] of diverted) {
    if (spooled) message.ack();
    else message.retry({ delaySeconds });
  }
  if (spooled) ledger.spooled += entries.length;
  else console.error(`The local spool refused ${entries.length} messages; left in the queue to retry`);
}

export default {
  fetch(request: Request, env: LocalEnv, ctx: ExecutionContext): Response | Promise<Response> {
    if (new URL(request.url).pathname === LEDGER_PATH) return ledgerRequest(request, env);
    if (ledger.stopping)
      return Response.json(
        { error: "unavailable", message: "The local system is stopping" },
        { status: 503, headers: { "retry-after": "5" } },
      );
    const counted: ExecutionContext = {
      waitUntil: (promise) => ctx.waitUntil(track(promise)),
      passThroughOnException: () => ctx.passThroughOnException(),
      props: ctx.props,
    } as ExecutionContext;
    return worker.fetch(request, { ...env, EVENTS: countingQueue(env.EVENTS) }, counted);
  },
  queue: (batch, env) => track(consume(batch, env)),
} satisfies ExportedHandler<LocalEnv, QueueMessage>;
