/**
 * The console's only way to the server: the public control-plane API (same origin) and the
 * stats service's report API (its URL comes from the page). The admin token lives in
 * session storage (gone with the tab, never in a URL) and goes out as a bearer token.
 */
const TOKEN_KEY = "experiments-console-token";

interface PageConfig {
  statsUrl: string | null;
  /** The edge's base URL, for the SDK quick start; null when the control plane was not told. */
  edgeUrl?: string | null;
}
export const pageConfig: PageConfig = JSON.parse(document.getElementById("console-config")?.textContent ?? "{}");

export const session = {
  token: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  signIn: (token: string) => sessionStorage.setItem(TOKEN_KEY, token),
  signOut: () => {
    sessionStorage.removeItem(TOKEN_KEY);
    window.dispatchEvent(new Event("console:signed-out"));
  },
};

/** An API error as the server sent it: `{error: {code, message, details}}`, with the status. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

interface RequestOptions {
  body?: unknown;
  /** The version the change is based on, sent as If-Match. */
  ifMatch?: number;
  accept?: string;
}

async function request(base: string, method: string, path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: options.accept ?? "application/json" };
  const token = session.token();
  if (token) headers["Authorization"] = `Bearer ${token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (options.ifMatch !== undefined) headers["If-Match"] = `"${options.ifMatch}"`;
  let response: Response;
  try {
    response = await fetch(base + path, {
      method,
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
  } catch {
    throw new ApiFailure(0, "network", `Cannot reach ${base || "the control plane"}: is it running?`);
  }
  if (response.ok) return response;
  const payload = await response.json().catch(() => undefined);
  const error = (payload as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
  if (response.status === 401 && path !== "/me") session.signOut();
  throw new ApiFailure(
    response.status,
    error?.code ?? `http_${response.status}`,
    error?.message ?? `${method} ${path} answered ${response.status}`,
    error?.details,
  );
}

async function json<T>(base: string, method: string, path: string, options?: RequestOptions): Promise<T> {
  const response = await request(base, method, path, options);
  return response.status === 204 ? (undefined as T) : ((await response.json()) as T);
}

/** The control-plane API. */
export const api = {
  get: <T>(path: string) => json<T>("", "GET", path),
  post: <T>(path: string, body?: unknown, ifMatch?: number) =>
    json<T>("", "POST", path, { body: body ?? {}, ...(ifMatch === undefined ? {} : { ifMatch }) }),
  put: <T>(path: string, body: unknown, ifMatch?: number) =>
    json<T>("", "PUT", path, { body, ...(ifMatch === undefined ? {} : { ifMatch }) }),
  delete: (path: string, ifMatch?: number) =>
    json<void>("", "DELETE", path, ifMatch === undefined ? undefined : { ifMatch }),
};

function statsBase(): string {
  if (!pageConfig.statsUrl)
    throw new ApiFailure(
      0,
      "no_stats",
      "This control plane was started without a stats service URL, so reports are unavailable",
    );
  return pageConfig.statsUrl.replace(/\/$/, "");
}

/** The stats service's report API. */
export const statsApi = {
  get: <T>(path: string) => json<T>(statsBase(), "GET", path),
  post: <T>(path: string, body: unknown) => json<T>(statsBase(), "POST", path, { body }),
  text: async (path: string, accept: string) => (await request(statsBase(), "GET", path, { accept })).text(),
};

export const describeError = (error: unknown): string => (error instanceof Error ? error.message : String(error));
