/**
 * Hono's `bodyLimit` with our 413 error, and one thing it does not do: read what is
 * left of a rejected body before answering (see discard-body.ts), so a client still
 * writing gets the JSON 413 rather than ECONNRESET.
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit as honoBodyLimit } from "hono/body-limit";
import { DEFAULT_DISCARD_BYTES, discardUnreadBody } from "./discard-body.js";
import { ApiError } from "./errors.js";

const KIB = 1024;

export const bodyLimit = (maxBytes: number, drainBytes = DEFAULT_DISCARD_BYTES): MiddlewareHandler =>
  honoBodyLimit({
    maxSize: maxBytes,
    onError: async (c) => {
      await discardUnreadBody(c.req.raw, drainBytes);
      throw new ApiError({ status: 413, message: `Request body is larger than ${maxBytes / KIB} KiB` });
    },
  });
