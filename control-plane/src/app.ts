/**
 * The control-plane API: one Hono app for both runtimes (Lambda via `lambda.ts`, Node
 * via `server.ts`). Requests are validated by the zod schemas that also produce the
 * OpenAPI document (`GET /openapi.json`, browsable at `GET /docs`).
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "../../shared/http/body-limit.js";
import { errorResponse, jsonErrors, jsonNotFound, validationError } from "../../shared/http/errors.js";
import { requireToken, type AuthEnv } from "../../shared/node/admin-tokens.js";
import { docsRoutes } from "../../shared/node/api-docs.js";
import { isUnavailable, type Db } from "../../shared/node/dynamo.js";
import type { Store } from "./db/store.js";
import { createNotifier, type Notifier, type NotifierOptions } from "./notifications/notifier.js";
import type { KvWriter } from "./publish/kv-writer.js";
import type { Publisher } from "./publish/publisher.js";
import { auditRoutes } from "./routes/audit.js";
import { createChangeRequestService } from "./change-requests/change-requests.js";
import { dependentReviewGate, reviewGate } from "./change-requests/gate.js";
import { changeRequestRoutes } from "./routes/change-requests.js";
import { consoleRoutes, type ConsoleOptions } from "./routes/console.js";
import { staleRoutes } from "./routes/stale.js";
import { createEvaluationCounts } from "./stale/evaluation-counts.js";
import { flagRoutes } from "./routes/flags.js";
import { groupRoutes } from "./routes/groups.js";
import { createGroupService } from "./services/groups.js";
import { jsonBody } from "./routes/json-body.js";
import { metricRoutes } from "./routes/metrics.js";
import { projectRoutes } from "./routes/projects.js";
import { rolloutRoutes } from "./routes/rollouts.js";
import { scheduleRoutes } from "./routes/schedules.js";
import { segmentRoutes } from "./segments/routes.js";
import { createSegmentService } from "./segments/segments.js";
import { webhookRoutes } from "./routes/webhooks.js";
import { createExperimentWatch, type ExperimentWatch, type ReportSource } from "./rollouts/experiment-watch.js";
import { createRolloutService, type GuardrailSource, type RolloutService } from "./rollouts/plans.js";
import { createScheduleService, type ScheduleService } from "./schedules/schedules.js";
import { droppedFields, unknownFieldsError } from "./routes/strict-fields.js";
import { tokenRoutes } from "./routes/tokens.js";
import { createAuditService } from "./services/audit.js";
import { createDeploymentService } from "./services/deployments.js";
import { createFlagService } from "./services/flags.js";
import { createMetricService } from "./services/metrics.js";

export interface ControlPlaneOptions {
  store: Store;
  publisher: Publisher;
  kv: KvWriter;
  /**
   * Publish right after a change (local runs). In the cloud the DynamoDB stream's
   * replicator publishes instead, so the API answers without waiting for KV.
   */
  publishOnChange: boolean;
  /** The admin console at `/` (absent: the API only). */
  console?: ConsoleOptions;
  /** The secret the edge signs its evaluation-count flushes with (stale flags); absent: none are taken. */
  evaluationCountsSecret?: string | undefined;
  /** Scheduled changes and webhooks (docs/releases.md), on the same table as the store. */
  releases?: ReleasesOptions;
}

export interface ReleasesOptions extends Omit<NotifierOptions, "db"> {
  db: Db;
  /** How long a schedule's claim holds before another watcher may take it over. */
  scheduleClaimMs?: number;
  /** Where rollout plans read their guardrails' statistics (absent: plans advance on time alone). */
  guardrails?: GuardrailSource;
  /** Where the watcher reads running experiments' reports (absent: experiments are not watched). */
  reports?: ReportSource;
  /** How often experiments' reports are read (60 s when absent). */
  experimentsEveryMs?: number;
}

export interface ControlPlane {
  app: OpenAPIHono<AuthEnv>;
  schedules: ScheduleService | undefined;
  notifier: Notifier | undefined;
  rollouts: RolloutService | undefined;
  experiments: ExperimentWatch | undefined;
}

export function createControlPlaneApp(options: ControlPlaneOptions): OpenAPIHono<AuthEnv> {
  return createControlPlane(options).app;
}

/** The app, and the release services a timer or watcher drives (schedules, webhook deliveries). */
export function createControlPlane({
  store,
  publisher,
  kv,
  publishOnChange,
  console: consoleOptions,
  releases,
  evaluationCountsSecret,
}: ControlPlaneOptions): ControlPlane {
  const onChange = async (project: string, deployments: string[]) => {
    if (publishOnChange) await Promise.all(deployments.map((d) => publisher.publish(project, d)));
  };
  const deployments = createDeploymentService({ store, publisher, kv });
  const metrics = createMetricService({ store });
  const notifier = releases && createNotifier(releases);
  const flags = createFlagService({
    store,
    onChange,
    metrics,
    ...(notifier ? { onCommitted: notifier.flagChanged } : {}),
  });
  const schedules =
    releases &&
    createScheduleService({
      db: releases.db,
      flags,
      listProjects: () => store.listProjects(),
      ...(releases.now ? { now: releases.now } : {}),
      ...(releases.scheduleClaimMs ? { claimMs: releases.scheduleClaimMs } : {}),
      ...(notifier ? { notify: notifier.emit } : {}),
    });
  const rollouts =
    releases &&
    createRolloutService({
      db: releases.db,
      flags,
      listProjects: () => store.listProjects(),
      guardrails: releases.guardrails,
      ...(releases.now ? { now: releases.now } : {}),
      ...(notifier ? { notify: notifier.emit } : {}),
    });

  const experiments =
    releases?.reports && notifier
      ? createExperimentWatch({
          db: releases.db,
          listProjects: () => store.listProjects(),
          listFlags: (project) => flags.list(project),
          reports: releases.reports,
          notify: notifier.emit,
          ...(releases.now ? { now: releases.now } : {}),
          ...(releases.experimentsEveryMs === undefined ? {} : { everyMs: releases.experimentsEveryMs }),
        })
      : undefined;

  const segments = createSegmentService({ store, onChange });
  const groups = createGroupService({ store, onChange });
  // Review of flag changes (docs/control-plane.md#change-requests): its records live on the same table as the releases'.
  const requests =
    releases &&
    createChangeRequestService({
      db: releases.db,
      flags,
      segments,
      groups,
      deploymentKeys: async (project) => (await store.listDeployments(project)).map((d) => d.key),
      ...(releases.now ? { now: releases.now } : {}),
      ...(notifier ? { notify: notifier.emit } : {}),
    });

  const app = new OpenAPIHono<AuthEnv>({
    defaultHook: async (result, c) => {
      if (!result.success) return errorResponse(c, validationError(result.error, "request"));
      if (result.target !== "json") return undefined;
      const dropped = droppedFields(await c.req.json(), result.data);
      return dropped.length === 0 ? undefined : errorResponse(c, unknownFieldsError(dropped));
    },
  });
  app.onError(jsonErrors(undefined, isUnavailable));
  app.notFound(jsonNotFound);

  // Far above any valid request (a flag is at most 128 KiB of JSON), far below what would hurt.
  app.use("*", bodyLimit(1024 * 1024));
  app.use("*", jsonBody);
  app.get("/health", (c) => c.json({ status: "ok" }));
  app.doc("/openapi.json", {
    openapi: "3.0.3",
    info: {
      title: "Experimentation control plane",
      version: "1.0.0",
      description:
        "Flags, experiments, deployments and admin tokens. Authenticate with `Authorization: Bearer <admin token>`.",
    },
  });
  app.route("/", docsRoutes("Control-plane API"));
  if (consoleOptions) app.route("/", consoleRoutes(consoleOptions));

  app.openAPIRegistry.registerComponent("securitySchemes", "adminToken", { type: "http", scheme: "bearer" });
  app.use("/projects", requireToken(store));
  app.use("/projects/*", requireToken(store));
  app.use("/me", requireToken(store));
  app.use("/tokens", requireToken(store));
  app.use("/tokens/*", requireToken(store));

  app.route("/", projectRoutes(deployments));
  // The review gate before every route under …/flags: a schedule or a rollout plan changes the flag later too.
  if (requests) {
    const gate = reviewGate(requests, (p, f) => flags.get(p, f).catch(() => undefined));
    app.use("/projects/:project/flags", gate);
    app.use("/projects/:project/flags/*", gate);
    app.use("/projects/:project/segments/*", dependentReviewGate(requests, "segment"));
    app.use("/projects/:project/groups/*", dependentReviewGate(requests, "group"));
  }
  // Before the flag routes: `POST …/flags/{f}/schedules` would otherwise read as the lifecycle action "schedules".
  if (schedules) app.route("/", scheduleRoutes(schedules));
  if (rollouts) app.route("/", rolloutRoutes(rollouts));

  if (requests) {
    app.route(
      "/",
      changeRequestRoutes(requests, async (p) => (await store.getProject(p)) !== undefined),
    );
  }
  if (releases) {
    const counts = createEvaluationCounts(releases.db, releases.now);
    app.route("/", staleRoutes(counts, flags, evaluationCountsSecret));
  }
  app.route("/", flagRoutes(flags));
  app.route("/", metricRoutes(metrics));
  app.route("/", groupRoutes(groups, deployments));
  app.route("/", segmentRoutes(segments));
  app.route(
    "/",
    auditRoutes(createAuditService(store), async (p) => (await store.getProject(p)) !== undefined),
  );
  app.route("/", tokenRoutes(store));
  if (notifier)
    app.route(
      "/",
      webhookRoutes(notifier, async (p) => (await store.getProject(p)) !== undefined),
    );
  return { app, schedules, notifier, rollouts, experiments };
}
