import type { Context } from "hono";
import { ApiError } from "./errors.js";

/** Reads a JSON body or throws a 400 that says why it is not JSON. */
export async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (!text.trim())
    throw new ApiError({ status: 400, code: "invalid_json", message: "Request body is empty; expected JSON" });
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ApiError({
      status: 400,
      code: "invalid_json",
      message: `Request body is not valid JSON: ${(error as Error).message}`,
    });
  }
}
