/**
 * `GET /docs`: Swagger UI for a service's OpenAPI document (`/openapi.json`), served entirely
 * by us (no CDN), so the docs work offline and behind strict networks. The two assets come
 * from the `swagger-ui-dist` package: from node_modules locally, from a copy beside the
 * bundle in Lambda (infra/stack.ts copies them at bundling).
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";

const ASSETS = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
} as const;
type Asset = keyof typeof ASSETS;

function assetDirectory(): string {
  const beside = join(dirname(fileURLToPath(import.meta.url)), "swagger-ui");
  if (existsSync(beside)) return beside;
  return dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
}

const page = (title: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="swagger"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body></html>`;

/** Served as a file, not inline, so the policy below can refuse every inline script. */
const INIT_SCRIPT = `window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger" });\n`;

/**
 * The docs page runs a large third-party bundle next to a form that sends the admin token: it may load scripts and
 * styles from us only, call only us (the OpenAPI document, "Try it out"), and never be framed (clickjacking).
 * Swagger UI sets inline style attributes and draws its icons as data: URIs, hence those two allowances.
 */
export const DOCS_SECURITY_HEADERS = {
  "Content-Security-Policy": [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; "),
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
} as const;

export function docsRoutes(title: string): Hono {
  const app = new Hono();
  const cache = new Map<Asset, string>();
  app.use("/docs", async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(DOCS_SECURITY_HEADERS)) c.header(name, value);
  });
  app.use("/docs/*", async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(DOCS_SECURITY_HEADERS)) c.header(name, value);
  });
  app.get("/docs", (c) => c.html(page(title)));
  app.get("/docs/init.js", (c) =>
    c.body(INIT_SCRIPT, 200, { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache" }),
  );
  app.get("/docs/:asset", (c) => {
    const asset = c.req.param("asset") as Asset;
    if (!(asset in ASSETS)) return c.notFound();
    let body = cache.get(asset);
    if (body === undefined) cache.set(asset, (body = readFileSync(join(assetDirectory(), asset), "utf8")));
    return c.body(body, 200, { "Content-Type": ASSETS[asset], "Cache-Control": "public, max-age=86400" });
  });
  return app;
}
