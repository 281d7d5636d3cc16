/**
 * What every JSON request body goes through before validation:
 * - an empty body is no body: a lifecycle call (start, stop, …) sent with `Content-Type: application/json` and
 *   nothing else is read as `{}` (the version then comes from If-Match), not refused as malformed JSON;
 * - nesting is bounded: the checks after validation walk bodies recursively, and a payload nested a few thousand
 *   levels deep overflowed the stack (a 500). No valid request comes near the limit.
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../../shared/http/errors.js";

export const MAX_JSON_DEPTH = 64;
const JSON_MEDIA = /^application\/([\w.-]+\+)?json$/i;

/** How deep `value` nests (a scalar is 0), counted without recursion; stops counting past `limit`. */
export function jsonDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop()!;
    if (item === null || typeof item !== "object") continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > limit) return deepest;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return deepest;
}

export const jsonBody: MiddlewareHandler = async (c, next) => {
  const mediaType = c.req.header("content-type")?.split(";")[0]?.trim() ?? "";
  if (!JSON_MEDIA.test(mediaType) || !["POST", "PUT", "PATCH", "DELETE"].includes(c.req.method)) return next();
  const text = await c.req.text();
  if (text.trim() === "") {
    // The validators read the body through this cache (of promises, whatever its type says): empty reads as `{}`.
    (c.req.bodyCache as Record<string, unknown>)["text"] = Promise.resolve("{}");
    return next();
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return next(); // the validator answers malformed JSON with its own 400
  }
  if (jsonDepth(parsed, MAX_JSON_DEPTH) > MAX_JSON_DEPTH)
    throw new ApiError({
      status: 400,
      code: "invalid_json",
      message: `The JSON body nests deeper than ${MAX_JSON_DEPTH} levels`,
    });
  return next();
};
