/**
 * Flag configs streamed to servers (`@amplitude/experiment-node-server` with
 * `streamUpdates: true`): one Durable Object per server key holds every open stream of that
 * key and writes each publish to all of them at once.
 *
 * The wire format is the SDK's (read from its transport/stream.js and stream-flag-api.js):
 * server-sent events on `GET /sdk/stream/v1/flags`, each `data:` a JSON array of every flag
 * config, the full set first on connect; a keep-alive whose data is a single space at least
 * every 17 s (the SDK's timeout), sent here every 15 s. The SDK reconnects every 12–18
 * minutes by itself, and falls back to polling `/sdk/v2/flags` when the stream fails.
 *
 * The publisher notifies the hub with the document it just wrote to KV (KV reads elsewhere
 * can lag a minute; the notification carries the content). A hub also rereads KV every
 * `RECHECK_MS` while it has streams, and whenever a stream opens (a notification may have
 * been lost while nobody was connected), so a lost notification delays an update, never
 * loses it. The cost of that read is in docs/scaling.md.
 */
import { DurableObject } from "cloudflare:workers";
import { kvNameForApiKey } from "../../../shared/deployment-document.js";
import type { Env } from "../bindings.js";
import { loadDeployment, type LoadedDeployment } from "../deployment-loader.js";

const KEEP_ALIVE_MS = 15_000;
/**
 * What a stream may hold that its reader has not taken yet (beyond one event, however large):
 * a server that stops reading is dropped past it, not buffered for (5 such streams held 59 MB
 * after 40 publishes). The SDK reconnects and starts from the full current set, so a dropped
 * reader loses nothing; each event is the whole flag set, so one pending is all a reader needs.
 */
export const MAX_UNREAD_BYTES = 1024 * 1024;
const RECHECK_MS = 30_000;
const encoder = new TextEncoder();
/** SSE strips one space after "data:", so the SDK's keep-alive (data " ") needs two. */
const KEEP_ALIVE = encoder.encode("data:  \n\n");
const event = (data: string) => encoder.encode(`data: ${data}\n\n`);

export class FlagStreamHub extends DurableObject<Env> {
  /** Each open stream, with the bytes written to it that its reader has not taken yet. */
  private readonly streams = new Map<WritableStreamDefaultWriter<Uint8Array>, { unread: number }>();
  private current: LoadedDeployment | undefined;
  /** The text `current` was loaded from: a recheck that reads the same text parses nothing. */
  private currentText: string | undefined;
  private apiKey: string | undefined;
  private keepAlive: ReturnType<typeof setInterval> | undefined;

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    this.apiKey = request.headers.get("x-api-key") ?? this.apiKey;
    if (url.pathname === "/notify") {
      // The key's new document, or none: the key was rotated away or its deployment deleted.
      const text = await request.text();
      if (text === "") this.closeAll();
      else await this.publish(text);
      return new Response(null, { status: 204 });
    }
    return this.open();
  }

  override async alarm(): Promise<void> {
    if (this.streams.size === 0) return;
    await this.recheck();
    if (this.streams.size > 0) await this.ctx.storage.setAlarm(Date.now() + RECHECK_MS);
  }

  /** The key's document in KV, if newer than the one held, goes to every stream; no document closes them. */
  private async recheck(): Promise<void> {
    if (!this.apiKey) return;
    const text = await this.env.FLAGS.get(kvNameForApiKey(this.apiKey), "text");
    if (text === null) this.closeAll();
    else await this.publish(text);
  }

  /** A new stream: the current flags at once, then every publish and keep-alives. */
  private async open(): Promise<Response> {
    await this.recheck();
    if (!this.current)
      return new Response(JSON.stringify({ error: { code: "unauthorized", message: "Unknown deployment key" } }), {
        status: 401,
        headers: { "Content-Type": "application/json" },
      });
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    this.streams.set(writer, { unread: 0 });
    void this.write(writer, event(JSON.stringify(this.current.compiled.validFlags)));
    this.keepAlive ??= setInterval(() => this.broadcast(KEEP_ALIVE), KEEP_ALIVE_MS);
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + RECHECK_MS);
    return new Response(readable, {
      headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no" },
    });
  }

  /** A document newer than the one streamed goes to every stream; older or equal ones change nothing. */
  private async publish(text: string): Promise<void> {
    if (text === this.currentText) return;
    let next: LoadedDeployment;
    try {
      next = loadDeployment(text, this.current);
    } catch (error) {
      console.error("Flag stream: ignoring an invalid deployment document", error);
      return;
    }
    if (next === this.current) return;
    this.current = next;
    this.currentText = text;
    this.broadcast(event(JSON.stringify(next.compiled.validFlags)));
  }

  private broadcast(chunk: Uint8Array): void {
    for (const writer of this.streams.keys()) void this.write(writer, chunk);
  }

  /**
   * Writes to one stream (a write settles when the reader takes it); a stream whose reader has
   * gone, or is more than `MAX_UNREAD_BYTES` behind, is dropped.
   */
  private async write(writer: WritableStreamDefaultWriter<Uint8Array>, chunk: Uint8Array): Promise<void> {
    const stream = this.streams.get(writer);
    if (!stream) return;
    if (stream.unread > 0 && stream.unread + chunk.byteLength > MAX_UNREAD_BYTES) {
      this.drop(writer);
      // Abort, not close: close would wait for the reader to take what is queued; abort frees it.
      void writer.abort(new Error("Flag stream reader too slow")).catch(() => undefined);
      return;
    }
    stream.unread += chunk.byteLength;
    try {
      await writer.write(chunk);
      stream.unread -= chunk.byteLength;
    } catch {
      this.drop(writer);
    }
  }

  private drop(writer: WritableStreamDefaultWriter<Uint8Array>): void {
    this.streams.delete(writer);
    if (this.streams.size === 0) this.stopKeepAlive();
  }

  /** The key is gone (rotated away, deployment deleted): every stream ends and none opens until KV has it again. */
  private closeAll(): void {
    this.current = this.currentText = undefined;
    for (const writer of this.streams.keys()) void writer.close().catch(() => undefined);
    this.streams.clear();
    this.stopKeepAlive();
  }

  private stopKeepAlive(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = undefined;
  }
}
