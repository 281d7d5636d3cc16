/**
 * The tiny website `npm start` puts behind the CDN proxy when no CDN_ORIGIN is given, so
 * a newcomer sees variants injected into a page in the browser: it prints the assignments
 * header the proxy sent it (what an origin server renders with) and, in the browser, the
 * initial variants the proxy injected into <head> (what the browser SDK starts with).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

const escapeHtml = (text: string) =>
  text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

function page(path: string, assignments: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Demo shop</title>
<style>body{font:16px system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}code{background:#f3f3f3;padding:.1rem .3rem}</style></head>
<body>
<h1>Demo shop</h1>
<p>You are on <code>${escapeHtml(path)}</code>. Reload: your variants stay (a first-party cookie); a private window gets new ones.</p>
<h2>What the origin received</h2>
<p>Header <code>x-experiment-variants</code>: <code id="header">${escapeHtml(assignments || "(none)")}</code></p>
<h2>What the browser received</h2>
<pre id="initial"></pre>
<script>document.getElementById("initial").textContent = JSON.stringify(window.__AMPLITUDE_EXPERIMENT_INITIAL_VARIANTS__ ?? null, null, 2);</script>
<p><a href="/">Home</a> · <a href="/checkout">Checkout</a></p>
</body></html>`;
}

export async function startDemoSite(port = 0): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    const assignments = String(request.headers["x-experiment-variants"] ?? "");
    response.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "public, max-age=60" });
    response.end(page(request.url ?? "/", assignments));
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${actual}`,
    server,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
