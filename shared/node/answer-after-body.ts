/**
 * Every answer reaches the client, refusals included. A handler that answers before reading
 * the body (401, 403, 429 on a POST) leaves the client still sending; the server then closes
 * a connection with unread bytes in it, the kernel answers them with a reset, and the client
 * gets ECONNRESET instead of the JSON error (2–5 resets in 5 tries for a 900 KB body), so an
 * SDK cannot tell "back off" from "network down". This reads (and drops) what is left of the
 * body before the answer is sent, bounded in bytes and time; past the bound the answer says
 * `Connection: close`, so at least the next request opens a new connection.
 */

export interface BodyDrainLimits {
  /** Bytes to read and drop at most (a body limit's refusal reads no more than this). */
  maxBytes: number;
  /** How long to keep reading a slow body at most. */
  maxMs: number;
}

export const DEFAULT_DRAIN_LIMITS: BodyDrainLimits = { maxBytes: 64 * 1024 * 1024, maxMs: 10_000 };

/** Reads the rest of `body` and drops it; false when the bound passed first. */
async function drain(body: ReadableStream<Uint8Array>, limits: BodyDrainLimits): Promise<boolean> {
  const reader = body.getReader();
  const deadline = Date.now() + limits.maxMs;
  let bytes = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), limits.maxMs);
  });
  try {
    while (Date.now() < deadline) {
      const chunk = await Promise.race([reader.read(), timeout]);
      if (chunk === "timeout") return false;
      if (chunk.done) return true;
      bytes += chunk.value.byteLength;
      if (bytes > limits.maxBytes) return false;
    }
    return false;
  } catch {
    return false; // the client went away: nothing to answer
  } finally {
    clearTimeout(timer);
    reader.cancel().catch(() => {});
  }
}

/** Wraps a fetch handler so its answer is sent only after the request body has been read (bounded). */
export function answerAfterBody<Rest extends unknown[]>(
  fetch: (request: Request, ...rest: Rest) => Response | Promise<Response>,
  limits: BodyDrainLimits = DEFAULT_DRAIN_LIMITS,
): (request: Request, ...rest: Rest) => Promise<Response> {
  return async (request, ...rest) => {
    const response = await fetch(request, ...rest);
    if (!request.body || request.bodyUsed) return response;
    if (await drain(request.body, limits)) return response;
    const headers = new Headers(response.headers);
    headers.set("connection", "close");
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  };
}
