/**
 * One error shape for every API of the product:
 * `{ "error": { "code", "message", "details"? } }` with the matching HTTP status.
 * Routes throw `ApiError`; `jsonErrors()` turns anything thrown into that shape, so no
 * input can surface as an HTML error page or an uncaught exception.
 */
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import * as z from "zod";

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

/** The code each status means when a route does not say otherwise. */
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
  500: "internal",
  503: "unavailable",
};

export interface ApiErrorOptions {
  status: ContentfulStatusCode;
  /** Defaults to the status's own code (409 → `conflict`); needed where one status has several (400). */
  code?: ErrorCode;
  message: string;
  details?: unknown;
  headers?: Record<string, string>;
  /** Fields a protocol wants beside `error` in the body (OFREP's `errorCode`, `errorDetails`). */
  protocolFields?: Record<string, unknown>;
}

export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: ErrorCode;
  readonly details: unknown;
  readonly headers: Record<string, string> | undefined;
  readonly protocolFields: Record<string, unknown> | undefined;

  constructor({ status, code, message, details, headers, protocolFields }: ApiErrorOptions) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code ?? STATUS_CODES[status] ?? "bad_request";
    this.details = details;
    this.headers = headers;
    this.protocolFields = protocolFields;
  }
}

/** zod issues as `details`: the path of each problem and what is wrong with it. */
export function validationError(error: z.ZodError, what = "request"): ApiError {
  const details = error.issues.map((issue) => ({ path: issue.path.map(String), message: issue.message }));
  const first = details[0];
  const where = first?.path.length ? ` at ${first.path.join(".")}` : "";
  return new ApiError({
    status: 400,
    code: "validation_failed",
    message: `Invalid ${what}${where}: ${first?.message ?? "invalid"}`,
    details,
  });
}

/** Parses with a zod schema or throws a 400 naming the failing path. */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, what?: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(result.error, what);
  return result.data;
}

export function errorResponse(c: Context, error: ApiError): Response {
  const body = {
    ...error.protocolFields,
    error: {
      code: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
    },
  };
  return c.json(body, error.status, error.headers);
}

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
        new ApiError({
          status: 503,
          message: "The database is unavailable; retry shortly",
          headers: {
            "Retry-After": "2",
          },
        }),
      );
    }
    if (error instanceof HTTPException) {
      const status = error.status as ContentfulStatusCode;
      return errorResponse(c, new ApiError({ status, message: error.message || "Request failed" }));
    }
    if (error instanceof z.ZodError) return errorResponse(c, validationError(error));
    log(error);
    return errorResponse(c, new ApiError({ status: 500, message: "Internal error" }));
  };

export const jsonNotFound: NotFoundHandler = (c) =>
  errorResponse(
    c,
    new ApiError({ status: 404, message: `No route for ${c.req.method} ${new URL(c.req.url).pathname}` }),
  );
