/**
 * A small origin web server for CDN tests and benchmarks: records what it receives
 * (path, headers) and answers HTML on `*.html` paths, JSON elsewhere (with its own CORS
 * headers), with a public cache header so tests can see the middleware make it private.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface Origin {
  url: string;
  received: Array<{ method: string; path: string; headers: Record<string, string | string[] | undefined> }>;
  close(): Promise<void>;
}

export async function startOrigin(): Promise<Origin> {
  const received: Origin["received"] = [];
  const server = createServer((request, response) => {
    received.push({ method: request.method ?? "", path: request.url ?? "", headers: request.headers });
    request.resume();
    if (request.url?.split("?")[0]?.endsWith(".html")) {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "public, max-age=600" });
      response.end(`<!doctype html><html><head><title>Shop</title></head><body><h1>Hello</h1></body></html>`);
      return;
    }
    // The origin's own CORS policy, which the proxy must leave alone.
    response.writeHead(200, {
      "content-type": "application/json",
      "cache-control": "public, max-age=600, s-maxage=600",
      "access-control-allow-origin": "https://shop.example",
      "access-control-allow-credentials": "true",
    });
    response.end(JSON.stringify({ path: request.url }));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
