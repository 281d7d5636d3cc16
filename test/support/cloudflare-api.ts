/**
 * A local HTTP server that speaks the part of Cloudflare's KV REST API the publisher
 * uses and checks the contract of every request: path, method, bearer token, JSON body
 * shape. It can be told to fail, to test retries and visible errors.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeCloudflare {
  baseUrl: string;
  values: Map<string, string>;
  requests: Array<{ method: string; path: string; body: unknown }>;
  /** Fail this many upcoming requests with HTTP 500. */
  failNext(count: number): void;
  close(): Promise<void>;
}

const read = (request: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let text = "";
    request.on("data", (chunk) => (text += chunk));
    request.on("end", () => resolve(text));
  });

export async function startFakeCloudflare(expected: {
  accountId: string;
  namespaceId: string;
  token: string;
}): Promise<FakeCloudflare> {
  const values = new Map<string, string>();
  const requests: FakeCloudflare["requests"] = [];
  let failures = 0;
  const prefix = `/client/v4/accounts/${expected.accountId}/storage/kv/namespaces/${expected.namespaceId}`;

  const server = createServer(async (request, response) => {
    const text = await read(request);
    const reply = (status: number, body: object) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    const fail = (status: number, message: string) =>
      reply(status, { success: false, errors: [{ code: 10000 + status, message }], messages: [], result: null });
    const path = request.url ?? "";
    // Reading a value: the raw value, 404 when absent (no JSON body, no content type).
    if (request.method === "GET" && path.startsWith(`${prefix}/values/`)) {
      requests.push({ method: "GET", path, body: undefined });
      if (request.headers.authorization !== `Bearer ${expected.token}`) return fail(403, "bad token");
      const value = values.get(decodeURIComponent(path.slice(`${prefix}/values/`.length)));
      if (value === undefined) return fail(404, "key not found");
      response.writeHead(200, { "content-type": "application/octet-stream" });
      return void response.end(value);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return fail(400, "body is not JSON");
    }
    requests.push({ method: request.method ?? "", path, body });
    if (request.headers.authorization !== `Bearer ${expected.token}`) return fail(403, "bad token");
    if (request.headers["content-type"] !== "application/json")
      return fail(400, "content-type must be application/json");
    if (failures > 0) {
      failures--;
      return fail(500, "injected failure");
    }
    if (request.method === "PUT" && path === `${prefix}/bulk`) {
      if (!Array.isArray(body) || !body.every((e) => typeof e?.key === "string" && typeof e?.value === "string"))
        return fail(400, "expected [{key, value}]");
      for (const { key, value } of body as Array<{ key: string; value: string }>) values.set(key, value);
      return reply(200, {
        success: true,
        errors: [],
        messages: [],
        result: { successful_key_count: body.length, unsuccessful_keys: [] },
      });
    }
    if (request.method === "POST" && path === `${prefix}/bulk/delete`) {
      if (!Array.isArray(body) || !body.every((k) => typeof k === "string")) return fail(400, "expected [key]");
      for (const key of body as string[]) values.delete(key);
      return reply(200, {
        success: true,
        errors: [],
        messages: [],
        result: { successful_key_count: body.length, unsuccessful_keys: [] },
      });
    }
    return fail(404, `no route ${request.method} ${path}`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/client/v4`,
    values,
    requests,
    failNext: (count) => void (failures = count),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
