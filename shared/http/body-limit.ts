/**
 * Hono's `bodyLimit` with our 413 error, and one thing it does not do: read what is
 * left of a rejected body before answering. A server that answers early and closes a
 * socket with unread bytes in it makes the kernel send a reset, so an HTTP/1.1 client
 * that is still writing sees ECONNRESET instead of the JSON 413 (workerd and Node both
 * do this). Draining is bounded: past `drainBytes` the connection may reset after all.
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit as honoBodyLimit } from "hono/body-limit";
import { ApiError } from "./errors.js";

const KIB = 1024;
const DEFAULT_DRAIN_BYTES = 8 * KIB * KIB;

async function discard(request: Request, maxBytes: number): Promise<void> {
  // A streamed (chunked) body is already being read by Hono's middleware: nothing to do.
  if (!request.body || request.body.locked) return;
  const reader = request.body.getReader();
  try {
    for (let read = 0; read <= maxBytes; ) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // The client went away: there is nobody left to answer.
  }
}

export const bodyLimit = (maxBytes: number, drainBytes = DEFAULT_DRAIN_BYTES): MiddlewareHandler =>
  honoBodyLimit({
    maxSize: maxBytes,
    onError: async (c) => {
      await discard(c.req.raw, drainBytes);
      throw new ApiError({ status: 413, message: `Request body is larger than ${maxBytes / KIB} KiB` });
    },
  });
