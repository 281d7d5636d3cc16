/**
 * The admin console: a single-page app served at `/` (its routes live after `#`, so no API
 * path is ever shadowed), with its script and stylesheet under `/console/`. It talks to this
 * API and to the stats service's report API like any other client; the page only tells it
 * where the stats service is. Assets come from a loader: an in-memory esbuild bundle when
 * the Node server runs locally, files beside the bundle in Lambda.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Hono } from "hono";

/** File name (`app.js`, `app.css`) → content. */
export type ConsoleAssets = Map<string, string>;
export const CONSOLE_FILES = ["app.js", "app.css"] as const;

export interface ConsoleOptions {
  /** Called once, on the first request that needs the assets. */
  load: () => Promise<ConsoleAssets>;
  /** The stats service's base URL, for experiment reports; results are unavailable without it. */
  statsUrl?: string | undefined;
  /** The edge the SDKs talk to, for the console's quick-start snippets (a placeholder without it). */
  edgeUrl?: string | undefined;
}

const TYPES: Record<string, string> = {
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
};

/** Reads a built console from a folder (the Lambda bundle's `console/`), or undefined when absent. */
export function readConsoleAssets(directory: string): ConsoleAssets | undefined {
  if (!CONSOLE_FILES.every((file) => existsSync(join(directory, file)))) return undefined;
  return new Map(CONSOLE_FILES.map((file) => [file, readFileSync(join(directory, file), "utf8")]));
}

const escapeJsonForHtml = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c");

function page(versions: Map<string, string>, statsUrl: string | undefined, edgeUrl: string | undefined): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Experiments console</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/app.css?v=${versions.get("app.css")}">
<script type="application/json" id="console-config">${escapeJsonForHtml({ statsUrl: statsUrl ?? null, edgeUrl: edgeUrl ?? null })}</script>
</head><body><div id="app"></div>
<script type="module" src="/console/app.js?v=${versions.get("app.js")}"></script>
</body></html>`;
}

export function consoleRoutes({ load, statsUrl, edgeUrl }: ConsoleOptions): Hono {
  const app = new Hono();
  let loaded: Promise<{ assets: ConsoleAssets; versions: Map<string, string> }> | undefined;
  const assets = () =>
    (loaded ??= load().then((files) => ({
      assets: files,
      versions: new Map(
        [...files].map(([name, body]) => [name, createHash("sha256").update(body).digest("hex").slice(0, 12)]),
      ),
    })));
  // Reset on failure, so a broken first build is retried rather than cached.
  const get = () =>
    assets().catch((error: unknown) => {
      loaded = undefined;
      throw error;
    });

  const connect = ["'self'", ...(statsUrl ? [new URL(statsUrl).origin] : [])].join(" ");
  const security = {
    "Content-Security-Policy": [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data:",
      `connect-src ${connect}`,
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'none'",
    ].join("; "),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
  };

  app.get("/", async (c) => {
    const { versions } = await get();
    return c.html(page(versions, statsUrl, edgeUrl), 200, { ...security, "Cache-Control": "no-cache" });
  });
  app.get("/console/:file", async (c) => {
    const file = c.req.param("file");
    const { assets: files, versions } = await get();
    const body = files.get(file);
    if (body === undefined) return c.notFound();
    // Versioned URLs (?v=<hash>) never change content: cache them for a year.
    const immutable = c.req.query("v") === versions.get(file);
    return c.body(body, 200, {
      ...security,
      "Content-Type": TYPES[file] ?? "application/octet-stream",
      "Cache-Control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
    });
  });
  return app;
}
