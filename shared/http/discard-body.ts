/**
 * Reads and drops what is left of a request body before an early answer. A server that
 * answers and closes a socket with unread bytes in it makes the kernel send a reset, so an
 * HTTP/1.1 client that is still writing sees ECONNRESET instead of the JSON error (workerd
 * does this on a kept-alive connection: 3 of 50 refused 900 KB POSTs in one CI run).
 * Bounded: past `maxBytes` the connection may reset after all.
 */
const MIB = 1024 * 1024;
export const DEFAULT_DISCARD_BYTES = 8 * MIB;

export async function discardUnreadBody(request: Request, maxBytes = DEFAULT_DISCARD_BYTES): Promise<void> {
  // A body a handler or middleware already reads (or read) is not ours to touch.
  if (!request.body || request.bodyUsed || request.body.locked) return;
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
