/**
 * One error shape for every API of the product:
 * `{ "error": { "code", "message", "details"? } }` with the matching HTTP status.
 * Routes throw `ApiError`; `jsonErrors()` turns anything thrown into that shape, so no
 * input can surface as an HTML error page or an uncaught exception.
 */
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import * as z from "zod"; // namespace import: lets the bundler drop the unused parts of zod

export type ErrorCode =
  | "bad_request"
  | "invalid_json"
  | "validation_failed"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "conflict"
  | "precondition_required"
  | "payload_too_large"
  | "rate_limited"
  | "unavailable"
  | "internal";

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export const badRequest = (message: string, details?: unknown) => new ApiError(400, "bad_request", message, details);

/** zod issues as `details`: the path of each problem and what is wrong with it. */
export function validationError(error: z.ZodError, what = "request"): ApiError {
  const details = error.issues.map((issue) => ({ path: issue.path.map(String), message: issue.message }));
  const first = details[0];
  const where = first?.path.length ? ` at ${first.path.join(".")}` : "";
  return new ApiError(400, "validation_failed", `Invalid ${what}${where}: ${first?.message ?? "invalid"}`, details);
}

/** Parses with a zod schema or throws a 400 naming the failing path. */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, what?: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(result.error, what);
  return result.data;
}

export function errorResponse(c: Context, error: ApiError): Response {
  const body = {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
    },
  };
  return c.json(body, error.status, error.headers);
}

const STATUS_CODES: Partial<Record<number, ErrorCode>> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  413: "payload_too_large",
  428: "precondition_required",
  429: "rate_limited",
  503: "unavailable",
};

/**
 * `app.onError(jsonErrors())`: maps ApiError, Hono's HTTPException and anything else.
 * `unavailable` recognises a dependency that is down (Node services pass DynamoDB's): 503
 * with Retry-After instead of 500, so clients retry (writes are safe to retry).
 */
export const jsonErrors =
  (
    log: (error: unknown) => void = (error) => console.error(error),
    unavailable: (error: unknown) => boolean = () => false,
  ): ErrorHandler =>
  (error, c) => {
    if (error instanceof ApiError) return errorResponse(c, error);
    if (unavailable(error)) {
      log(error);
      return errorResponse(
        c,
        new ApiError(503, "unavailable", "The database is unavailable; retry shortly", undefined, {
          "Retry-After": "2",
        }),
      );
    }
    if (error instanceof HTTPException) {
      const status = error.status as ContentfulStatusCode;
      return errorResponse(
        c,
        new ApiError(status, STATUS_CODES[status] ?? "bad_request", error.message || "Request failed"),
      );
    }
    if (error instanceof z.ZodError) return errorResponse(c, validationError(error));
    log(error);
    return errorResponse(c, new ApiError(500, "internal", "Internal error"));
  };

export const jsonNotFound: NotFoundHandler = (c) =>
  errorResponse(c, new ApiError(404, "not_found", `No route for ${c.req.method} ${new URL(c.req.url).pathname}`));

/** Reads a JSON body or throws a 400 that says why it is not JSON. */
export async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (!text.trim()) throw new ApiError(400, "invalid_json", "Request body is empty; expected JSON");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, "invalid_json", `Request body is not valid JSON: ${(error as Error).message}`);
  }
}
