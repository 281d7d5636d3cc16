/** The control plane's public API as the CLI calls it: bearer token, JSON in and out, errors as `ApiRequestError`. */

export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** A failure the user can act on (no login, a bad file): printed as it is, exit code 2. */
export class CliError extends Error {}

export interface ApiClient {
  readonly url: string;
  request<T = unknown>(
    method: string,
    path: string,
    options?: { body?: unknown; ifMatch?: number; notFound?: "undefined" },
  ): Promise<T>;
}

export function apiClient(url: string, token: string, fetchImpl: typeof fetch = fetch): ApiClient {
  const base = url.replace(/\/+$/, "");
  return {
    url: base,
    async request(method, path, options = {}) {
      let response: Response;
      try {
        response = await fetchImpl(`${base}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            accept: "application/json",
            ...(options.body === undefined ? {} : { "content-type": "application/json" }),
            ...(options.ifMatch === undefined ? {} : { "if-match": `"${options.ifMatch}"` }),
          },
          ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        });
      } catch (error) {
        throw new CliError(`Cannot reach the control plane at ${base}: ${(error as Error).message}`);
      }
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        throw new ApiRequestError(
          response.status,
          "not_json",
          `${method} ${path}: answered ${response.status}, not JSON`,
        );
      }
      if (response.ok) return parsed as never;
      if (response.status === 404 && options.notFound === "undefined") return undefined as never;
      const error = (parsed as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
      throw new ApiRequestError(
        response.status,
        error?.code ?? String(response.status),
        error?.message ?? `${method} ${path}: ${response.status}`,
        error?.details,
      );
    },
  };
}
