/**
 * The stats service's HTTP API:
 * - `POST /ingest`: queue deliveries from the edge's consumer, HMAC-signed
 *   (shared/ingest-signature.ts); `{messages: [{id, body}]}` → counts.
 * - `GET /projects/{project}/experiments/{key}/report` (also
 *   `GET /experiments/{key}/report?project=`): the report, JSON, or CSV with
 *   `Accept: text/csv`; `?period=<n>` for an earlier analysis period (default: the latest).
 * - `POST /projects/{project}/sample-plan`: units and days an experiment needs, from a
 *   baseline entered by hand (the report carries the same from its running data).
 * - `GET /projects/{project}/event-types?days=30` and `POST /projects/{project}/metrics/preview`:
 *   for the console's metric editor, from the event store (metric-engine/; 503 without one).
 * - `GET /projects/{project}/releases/{key}/guardrails?since=<ISO time>`: a guarded release's
 *   guardrail statistics, units served against units held back (releases/guardrails.ts).
 * Admin tokens of the control plane (viewer role or more). The report API answers any origin
 * (CORS): the console is served by the control plane, elsewhere, and bearer tokens are not
 * ambient credentials a hostile page could borrow.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { cors } from "hono/cors";
import * as z from "zod";
import { authorize, requireToken, type AuthEnv, type TokenLookup } from "../../shared/node/admin-tokens.js";
import { isUnavailable } from "../../shared/node/dynamo.js";
import { keySchema } from "../../shared/authoring/schema.js";
import { readSignedJson, SIGNATURE_HEADER } from "../../shared/ingest-signature.js";
import { bodyLimit } from "../../shared/http/body-limit.js";
import { readJson } from "../../shared/http/read-json.js";
import { ApiError, jsonErrors, jsonNotFound, parseOr400 } from "../../shared/http/errors.js";
import type { Catalog } from "./catalog.js";
import type { EventStoreWriter } from "./event-store/writer.js";
import { ingest } from "./ingest/index.js";
import { impossibleTreatmentRate, samplePlan } from "../../shared/stats/index.js";
import { docsRoutes } from "../../shared/node/api-docs.js";
import { dynamoSource, reportCsv, reportFrom } from "./report.js";
import { engineSource } from "./report/engine-source.js";
import { reportWithBreakdown } from "./report/breakdown-report.js";
import { breakdownCsv } from "./report/breakdowns.js";
import { reportSchema, samplePlanSchema } from "../../shared/report-schema.js";
import type { StatsStore } from "./store.js";
import { METRIC_TYPES, metricDefinitionSchema } from "../../shared/metrics/definition.js";
import type { MetricEngine } from "./metric-engine/index.js";
import { releaseGuardrails } from "./releases/guardrails.js";

const deliverySchema = z.object({
  messages: z.array(z.object({ id: z.string().min(1), body: z.unknown() })).max(1000),
  /** How long the oldest message waited in the queue, as the consumer saw it. */
  queueLagMs: z.number().nonnegative().optional(),
});

const planSchema = z.strictObject({
  /** The control's per-unit mean (a conversion rate for conversion metrics). */
  baselineMean: z.number().finite(),
  /** Its per-unit variance; for conversion metrics p(1 − p) when absent. */
  baselineVariance: z.number().positive().finite().optional(),
  // The metrics a per-unit mean and variance describe; a ratio, funnel or retention has no single baseline.
  metricType: z
    .enum(METRIC_TYPES)
    .extract(["unique_conversions", "event_totals", "property_sum", "property_average"])
    .default("unique_conversions"),
  minimumDetectableEffect: z.number().positive().max(10),
  weights: z.array(z.number().positive().max(100)).min(2).max(20).default([50, 50]),
  unitsPerDay: z.number().positive().finite().optional(),
  confidenceLevel: z.number().gt(0.5).lt(1).default(0.95),
  power: z.number().gt(0.5).lt(1).default(0.8),
});
const periodQuery = z.coerce.number().int().positive().optional();
/** `?read=early`: a t-test's verdict before its planned sample, marked as an early read. */
const readQuery = z.enum(["early"]).optional();
/** `?breakdown=country`: every metric per value of a user property recorded with the exposures (report/breakdowns.ts). */
const breakdownQuery = z
  .string()
  .regex(/^[A-Za-z0-9_.$-]{1,100}$/, "a user property name: 1–100 letters, digits, '_', '.', '$' or '-'")
  .optional();
const DAY_MS = 86_400_000;
/** `?since=<ISO time>`: a guarded release's units first exposed from then on (its rollout plan's start). */
const sinceQuery = z.iso.datetime({ offset: true });
const eventTypesQuery = z.coerce.number().int().min(1).max(90).default(30);
const previewSchema = z.strictObject({
  metric: metricDefinitionSchema,
  /** The last this many days, up to now (default 7). */
  days: z.number().int().min(1).max(90).default(7),
});
const previewResultSchema = z.object({
  days: z.number(),
  units: z.number(),
  mean: z.number().nullable(),
});
const eventTypesSchema = z.object({
  eventTypes: z.array(
    z.object({
      eventType: z.string(),
      count: z.number(),
      properties: z.array(z.object({ name: z.string(), count: z.number() })),
    }),
  ),
});

export interface StatsAppOptions {
  stats: StatsStore;
  catalog: Catalog;
  /** Admin tokens (the control plane's, read-only). */
  tokens: TokenLookup;
  ingestSecret: string;
  /** Where ingest appends every accepted exposure and event (docs/event-store.md). */
  eventStore?: EventStoreWriter;
  /** With a store, also keep ingest's per-unit DynamoDB aggregates (ingest/index.ts; the parity tests). */
  unitAggregates?: boolean;
  /** The event store's metric engine (metric-engine/index.ts); without it the metric editor's endpoints answer 503. */
  metricEngine?: Pick<MetricEngine, "aggregates" | "eventTypes" | "preview"> | undefined;
}

export function createStatsApp({
  stats,
  catalog,
  tokens,
  ingestSecret,
  eventStore,
  unitAggregates,
  metricEngine,
}: StatsAppOptions): OpenAPIHono<AuthEnv> {
  const app = new OpenAPIHono<AuthEnv>();
  documentRoutes(app);
  app.onError(jsonErrors(undefined, isUnavailable));
  app.notFound(jsonNotFound);
  app.get("/health", (c) => c.json({ status: "ok" }));

  // The edge's consumer sends at most ~6 MiB a delivery (edge/src/queue-consumer.ts).
  app.post("/ingest", bodyLimit(8 * 1024 * 1024), async (c) => {
    const body = await readSignedJson(ingestSecret, c.req.header(SIGNATURE_HEADER), await c.req.text(), "Delivery");
    const { messages, queueLagMs } = parseOr400(deliverySchema, body, "delivery");
    return c.json(
      await ingest(messages, stats.db, catalog, {
        ...(queueLagMs === undefined ? {} : { queueLagMs }),
        ...(eventStore ? { eventStore } : {}),
        ...(unitAggregates ? { unitAggregates } : {}),
      }),
    );
  });

  const report = async (c: Context<AuthEnv>, project: string, key: string) => {
    authorize(c.var.principal, "viewer", project);
    // No key longer than a flag key can name one, and DynamoDB refuses long ones with a 500-worthy error.
    if (!keySchema.safeParse(project).success || !keySchema.safeParse(key).success)
      throw new ApiError({
        status: 404,
        message: `No experiment ${key.slice(0, 100)} in project ${project.slice(0, 100)}`,
      });
    const flag = await catalog.experiment(project, key);
    if (flag?.type !== "experiment")
      throw new ApiError({ status: 404, message: `No experiment ${key} in project ${project}` });
    const periods = flag.analysisPeriods?.length ?? 0;
    const period = parseOr400(periodQuery, c.req.query("period"), "period");
    if (period !== undefined && period > Math.max(1, periods))
      throw new ApiError({ status: 404, message: `Experiment ${key} has ${periods} analysis period(s)` });
    const source = metricEngine ? engineSource(metricEngine, stats) : dynamoSource(stats);
    const read = parseOr400(readQuery, c.req.query("read"), "read");
    const breakdown = parseOr400(breakdownQuery, c.req.query("breakdown"), "breakdown");
    if (breakdown !== undefined) {
      if (!metricEngine)
        throw new ApiError({
          status: 503,
          message: "Breakdowns need the event store, and this stats service has none",
        });
      const withBreakdown = await reportWithBreakdown(
        metricEngine,
        stats,
        project,
        flag,
        Date.now(),
        period,
        read ? { read } : {},
        breakdown,
      );
      if (c.req.header("accept")?.includes("text/csv"))
        return c.body(breakdownCsv(withBreakdown.breakdown), 200, {
          "Content-Type": "text/csv; charset=utf-8",
          "Content-Disposition": `attachment; filename="${key}-breakdown-${breakdown}.csv"`,
        });
      return c.json(withBreakdown);
    }
    const built = await reportFrom(source, project, flag, Date.now(), period, read ? { read } : {});
    if (c.req.header("accept")?.includes("text/csv")) {
      return c.body(reportCsv(built), 200, {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": `attachment; filename="${key}-report.csv"`,
      });
    }
    return c.json(built);
  };

  const reportCors = cors({
    origin: "*",
    allowHeaders: ["Authorization", "Content-Type", "Accept"],
    allowMethods: ["GET", "POST"],
    exposeHeaders: ["Content-Disposition"],
    maxAge: 86400,
  });
  app.use("/projects/*", reportCors);
  app.use("/experiments/*", reportCors);
  app.use("/projects/*", requireToken(tokens));
  app.use("/experiments/*", requireToken(tokens));
  app.get("/projects/:project/experiments/:key/report", (c) => report(c, c.req.param("project"), c.req.param("key")));
  app.post("/projects/:project/sample-plan", bodyLimit(16 * 1024), async (c) => {
    const project = c.req.param("project");
    authorize(c.var.principal, "viewer", project);
    const body = await readJson(c);
    const input = parseOr400(planSchema, body, "body");
    const binary = input.metricType === "unique_conversions";
    if (binary && !(input.baselineMean > 0 && input.baselineMean < 1))
      throw new ApiError({
        status: 400,
        message: "A conversion rate is between 0 and 1",
        details: { path: ["baselineMean"] },
      });
    const baselineVariance =
      input.baselineVariance ?? (binary ? input.baselineMean * (1 - input.baselineMean) : undefined);
    if (baselineVariance === undefined)
      throw new ApiError({
        status: 400,
        message: "baselineVariance is required for this metric type",
        details: {
          path: ["baselineVariance"],
        },
      });
    const rate = impossibleTreatmentRate({ ...input, binary });
    if (rate !== undefined)
      throw new ApiError({
        status: 400,
        message: `Impossible: a conversion rate of ${input.baselineMean} raised by ${input.minimumDetectableEffect} would be ${rate}, and a rate is below 1`,
        details: { path: ["minimumDetectableEffect"] },
      });
    const plan = samplePlan({ ...input, baselineVariance, alpha: 1 - input.confidenceLevel, binary });
    if (!plan)
      throw new ApiError({
        status: 400,
        message: "No plan: the effect (minimumDetectableEffect × baselineMean) must be non-zero",
      });
    return c.json(plan);
  });
  const engine = () => {
    if (!metricEngine)
      throw new ApiError({
        status: 503,
        message: "The stats service has no event store configured: event types and metric previews need one",
      });
    return metricEngine;
  };
  // `since` rounded down to the minute: a console polling the list hits the engine's cache.
  const since = (days: number) => Math.floor((Date.now() - days * DAY_MS) / 60_000) * 60_000;
  app.get("/projects/:project/event-types", async (c) => {
    const project = c.req.param("project");
    authorize(c.var.principal, "viewer", project);
    const days = parseOr400(eventTypesQuery, c.req.query("days"), "days");
    return c.json({ eventTypes: await engine().eventTypes(project, since(days)) });
  });
  app.post("/projects/:project/metrics/preview", bodyLimit(64 * 1024), async (c) => {
    const project = c.req.param("project");
    authorize(c.var.principal, "viewer", project);
    const body = await readJson(c);
    const { metric, days } = parseOr400(previewSchema, body, "body");
    const found = engine();
    const now = Date.now();
    return c.json({ days, ...(await found.preview(project, metric, since(days), now)) });
  });
  // A guarded release's arms for its rollout plan's monitor (releases/guardrails.ts; docs/releases.md).
  app.get("/projects/:project/releases/:key/guardrails", async (c) => {
    const project = c.req.param("project");
    const key = c.req.param("key");
    authorize(c.var.principal, "viewer", project);
    const since = Date.parse(parseOr400(sinceQuery, c.req.query("since"), "since"));
    const flag =
      keySchema.safeParse(project).success && keySchema.safeParse(key).success
        ? await catalog.experiment(project, key)
        : undefined;
    if (flag?.type !== "release")
      throw new ApiError({
        status: 404,
        message: `No release flag ${key.slice(0, 100)} in project ${project.slice(0, 100)}`,
      });
    return c.json({ guardrails: await releaseGuardrails(engine(), project, flag, since) });
  });
  app.get("/experiments/:key/report", (c) => {
    const project = c.req.query("project");
    if (!project) throw new ApiError({ status: 400, message: "Add ?project=<project key>" });
    return report(c, project, c.req.param("key"));
  });
  return app;
}

/**
 * The report API's OpenAPI document (`GET /openapi.json`, browsable at `GET /docs`), from the
 * same zod schemas the handlers and the report use. `/ingest` is internal (the edge's
 * signed deliveries) and left out.
 */
function documentRoutes(app: OpenAPIHono<AuthEnv>): void {
  const error = {
    description: "Error",
    content: {
      "application/json": {
        schema: z.object({
          error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
        }),
      },
    },
  };
  const errors = { 400: error, 401: error, 403: error, 404: error, 503: error };
  app.openAPIRegistry.registerComponent("securitySchemes", "adminToken", { type: "http", scheme: "bearer" });
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/projects/{project}/experiments/{key}/report",
    summary: "An experiment's report (JSON, or CSV with Accept: text/csv)",
    description: "Read docs/statistics.md for how to read it. Admin token, viewer role or more.",
    tags: ["Reports"],
    security: [{ adminToken: [] }],
    request: {
      params: z.object({ project: z.string(), key: z.string() }),
      query: z.object({
        period: periodQuery.describe("An earlier analysis period (default: the latest)"),
        read: readQuery.describe("`early`: a t-test's verdict before its planned sample, marked as an early read"),
        breakdown: breakdownQuery.describe(
          "A user property (country, platform, os, app_version, or one in the exposures' user properties): every metric per value, top 10 + other, exploratory; CSV: one line per segment",
        ),
      }),
    },
    responses: {
      200: {
        description: "The report",
        content: { "application/json": { schema: reportSchema }, "text/csv": { schema: z.string() } },
      },
      ...errors,
    },
  });
  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/projects/{project}/sample-plan",
    summary: "Units and days an experiment needs, from a baseline entered by hand",
    tags: ["Reports"],
    security: [{ adminToken: [] }],
    request: {
      params: z.object({ project: z.string() }),
      body: {
        required: true,
        content: {
          "application/json": {
            schema: planSchema,
            example: { baselineMean: 0.1, minimumDetectableEffect: 0.05, weights: [50, 50], unitsPerDay: 10_000 },
          },
        },
      },
    },
    responses: {
      200: {
        description: "Fixed-horizon and sequential sample sizes",
        content: { "application/json": { schema: samplePlanSchema } },
      },
      ...errors,
    },
  });
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/projects/{project}/event-types",
    summary: "Event types seen in the last days, with counts and property names (from the event store)",
    description: "Read docs/metrics.md. Admin token, viewer role or more. 503 without an event store.",
    tags: ["Metrics"],
    security: [{ adminToken: [] }],
    request: {
      params: z.object({ project: z.string() }),
      query: z.object({ days: eventTypesQuery.describe("How many days back (1–90, default 30)") }),
    },
    responses: {
      200: { description: "Most frequent first", content: { "application/json": { schema: eventTypesSchema } } },
      ...errors,
    },
  });
  const arm = z.object({ n: z.number(), mean: z.number(), m2: z.number().describe("Σ(x − mean)²") });
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/projects/{project}/releases/{key}/guardrails",
    summary: "A guarded release's guardrails: units served the variant against units held back",
    description:
      "Per guardrail metric of a release flag part-way rolled out, the sufficient statistics of each arm, each unit in " +
      "the arm of its first exposure since `since` (what a rollout plan's monitor reads). Read docs/releases.md. " +
      "Admin token, viewer role or more. 503 without an event store.",
    tags: ["Releases"],
    security: [{ adminToken: [] }],
    request: {
      params: z.object({ project: z.string(), key: z.string() }),
      query: z.object({ since: sinceQuery }),
    },
    responses: {
      200: {
        description: "One entry per guardrail metric",
        content: {
          "application/json": {
            schema: z.object({
              guardrails: z.array(
                z.object({
                  metric: z.string(),
                  direction: z.enum(["increase", "decrease"]),
                  served: arm,
                  heldBack: arm,
                }),
              ),
            }),
          },
        },
      },
      ...errors,
    },
  });
  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/projects/{project}/metrics/preview",
    summary: "A metric's value over the units exposed to any of the project's experiments in the last days",
    description:
      "Units: every trusted exposure of the project in the window, by user (else device) id. " +
      "mean: per unit (a ratio: Σ numerator / Σ denominator; an average: over units with events). Read docs/metrics.md.",
    tags: ["Metrics"],
    security: [{ adminToken: [] }],
    request: {
      params: z.object({ project: z.string() }),
      body: {
        required: true,
        content: {
          "application/json": {
            schema: previewSchema,
            example: { metric: { key: "purchases", type: "unique_conversions", eventType: "purchase" }, days: 7 },
          },
        },
      },
    },
    responses: {
      200: { description: "Units and mean", content: { "application/json": { schema: previewResultSchema } } },
      ...errors,
    },
  });
  app.doc("/openapi.json", {
    openapi: "3.0.3",
    info: {
      title: "Experiment reports",
      version: "1.0.0",
      description:
        "Experiment reports and sample plans. " +
        "Authenticate with `Authorization: Bearer <admin token>` of the control plane.",
    },
  });
  app.route("/", docsRoutes("Experiment reports API"));
}
