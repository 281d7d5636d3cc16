/**
 * The stats service's HTTP API:
 * - `POST /ingest`: queue deliveries from the edge's consumer, HMAC-signed
 *   (shared/ingest-signature.ts); `{messages: [{id, body}]}` → counts.
 * - `GET /projects/{project}/experiments/{key}/report` (also
 *   `GET /experiments/{key}/report?project=`): the report, JSON, or CSV with
 *   `Accept: text/csv`. Admin tokens of the control plane (viewer role or more).
 */
import { Hono, type Context } from "hono";
import * as z from "zod"; // namespace import: lets the bundler drop the unused parts of zod
import { authorize, requireToken, type AuthEnv, type TokenLookup } from "../../shared/node/admin-tokens.js";
import { SIGNATURE_HEADER, verify } from "../../shared/ingest-signature.js";
import { bodyLimit } from "../../shared/http/body-limit.js";
import { ApiError, jsonErrors, jsonNotFound, parseOr400 } from "../../shared/http/errors.js";
import type { Catalog } from "./catalog.js";
import { ingest } from "./ingest/index.js";
import { buildReport, reportCsv } from "./report.js";
import type { StatsStore } from "./store.js";

const deliverySchema = z.object({
  messages: z.array(z.object({ id: z.string().min(1), body: z.unknown() })).max(1000),
  /** How long the oldest message waited in the queue, as the consumer saw it. */
  queueLagMs: z.number().nonnegative().optional(),
});

export interface StatsAppOptions {
  stats: StatsStore;
  catalog: Catalog;
  /** Admin tokens (the control plane's, read-only). */
  tokens: TokenLookup;
  ingestSecret: string;
}

export function createStatsApp({ stats, catalog, tokens, ingestSecret }: StatsAppOptions): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  app.onError(jsonErrors());
  app.notFound(jsonNotFound);
  app.get("/health", (c) => c.json({ status: "ok" }));

  // The edge's consumer sends at most ~6 MiB a delivery (edge/src/queue-consumer.ts).
  app.post("/ingest", bodyLimit(8 * 1024 * 1024), async (c) => {
    const raw = await c.req.text();
    const verdict = await verify(ingestSecret, c.req.header(SIGNATURE_HEADER), raw);
    if (verdict !== "ok") throw new ApiError(401, "unauthorized", `Delivery rejected: ${verdict}`);
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      throw new ApiError(400, "invalid_json", "Delivery is not JSON");
    }
    const { messages, queueLagMs } = parseOr400(deliverySchema, body, "delivery");
    return c.json(await ingest(messages, stats.db, catalog, queueLagMs === undefined ? {} : { queueLagMs }));
  });

  const report = async (c: Context<AuthEnv>, project: string, key: string) => {
    authorize(c.var.principal, "viewer", project);
    const flag = await catalog.experiment(project, key);
    if (!flag || flag.type !== "experiment") throw new ApiError(404, "not_found", `No experiment ${key} in project ${project}`);
    const [rows, quality] = await Promise.all([stats.aggregates(project, key), stats.quality(project, key)]);
    const built = buildReport(flag, rows, quality, Date.now());
    if (c.req.header("accept")?.includes("text/csv")) {
      return c.body(reportCsv(built), 200, { "Content-Type": "text/csv; charset=utf-8", "Content-Disposition": `attachment; filename="${key}-report.csv"` });
    }
    return c.json(built);
  };

  app.use("/projects/*", requireToken(tokens));
  app.use("/experiments/*", requireToken(tokens));
  app.get("/projects/:project/experiments/:key/report", (c) => report(c, c.req.param("project"), c.req.param("key")));
  app.get("/experiments/:key/report", (c) => {
    const project = c.req.query("project");
    if (!project) throw new ApiError(400, "bad_request", "Add ?project=<project key>");
    return report(c, project, c.req.param("key"));
  });
  return app;
}
