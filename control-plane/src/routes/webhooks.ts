/** A project's webhooks: create (the signing secret shown once), list, delete, send a test, the delivery log. */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import * as z from "zod"; // namespace import: lets the bundler drop the unused parts of zod
import { ApiError } from "../../../shared/http/errors.js";
import { requireRole, type AuthEnv } from "../../../shared/node/admin-tokens.js";
import { EVENT_TYPES } from "../notifications/events.js";
import type { Notifier } from "../notifications/notifier.js";
import { summary } from "../notifications/bodies.js";
import { body, errors, json, projectParams, writeErrors } from "./schemas.js";

const tags = ["Webhooks"];

const webhookFields = {
  id: z.string(),
  project: z.string(),
  url: z.string(),
  format: z.enum(["json", "slack"]),
  events: z.array(z.enum(EVENT_TYPES)),
  description: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
};
export const webhookSchema = z.object(webhookFields);
const createdSchema = z.object({
  ...webhookFields,
  secret: z.string().describe("The HMAC-SHA256 key deliveries are signed with: shown this once"),
});

const webhookWriteSchema = z.object({
  url: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .describe("Where deliveries are POSTed (http or https)"),
  format: z
    .enum(["json", "slack"])
    .default("json")
    .describe("`json`: the event; `slack`: a Slack-compatible `{text}` message"),
  events: z.array(z.enum(EVENT_TYPES)).max(EVENT_TYPES.length).default([]).describe("Event types; empty: all"),
  description: z.string().max(500).default(""),
});

export const deliverySchema = z.object({
  eventId: z.string(),
  type: z.string(),
  seq: z.number(),
  attempt: z.number(),
  at: z.string(),
  ok: z.boolean(),
  status: z.number().optional(),
  error: z.string().optional(),
  ms: z.number(),
});

export const notificationSchema = z.object({
  id: z.string(),
  seq: z.number(),
  type: z.enum(EVENT_TYPES),
  project: z.string(),
  at: z.string(),
  data: z.record(z.string(), z.unknown()),
  summary: z.string().describe("The line a person reads (the Slack body's text)"),
});

const webhookParams = projectParams.extend({ webhook: z.string().min(1).max(40) });

export function webhookRoutes(
  notifier: Notifier,
  projectExists: (project: string) => Promise<boolean>,
): OpenAPIHono<AuthEnv> {
  const app = new OpenAPIHono<AuthEnv>();
  const { webhooks } = notifier;
  const inProject = async (project: string) => {
    if (!(await projectExists(project))) throw new ApiError({ status: 404, message: `No project ${project}` });
  };

  app.openapi(
    createRoute({
      method: "get",
      path: "/projects/{project}/notifications",
      summary: "The project's notification feed, newest first",
      description: "Every event webhooks are sent (flag changes, schedules, rollouts, experiments), with a summary.",
      tags,
      middleware: [requireRole("viewer")] as const,
      request: {
        params: projectParams,
        query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }),
      },
      responses: { 200: json(z.array(notificationSchema), "The newest events"), ...errors },
    }),
    async (c) => {
      const { project } = c.req.valid("param");
      await inProject(project);
      const events = await notifier.events.latest(project, c.req.valid("query").limit);
      return c.json(
        events.map((event) => ({
          ...event,
          type: event.type as (typeof EVENT_TYPES)[number],
          summary: summary(event),
        })),
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/projects/{project}/webhooks",
      summary: "Add a webhook (its signing secret is in this answer only)",
      tags,
      middleware: [requireRole("admin")] as const,
      description:
        "Deliveries are POSTs signed with HMAC-SHA256 over `<Webhook-Timestamp>.<body>` (header " +
        "`Webhook-Signature: v1=<hex>`), retried with backoff until the receiver answers 2xx, in order, each with " +
        "its event id in `Webhook-Id`.",
      request: {
        params: projectParams,
        ...body(webhookWriteSchema, { url: "https://hooks.example.com/flags", format: "json" }),
      },
      responses: { 201: json(createdSchema, "Created"), ...writeErrors },
    }),
    async (c) => {
      const { project } = c.req.valid("param");
      await inProject(project);
      return c.json(await webhooks.create(project, c.req.valid("json"), c.var.principal.name), 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/projects/{project}/webhooks",
      summary: "List the project's webhooks",
      tags,
      middleware: [requireRole("viewer")] as const,
      request: { params: projectParams },
      responses: { 200: json(z.array(webhookSchema), "Webhooks (secrets never shown again)"), ...errors },
    }),
    async (c) => {
      const { project } = c.req.valid("param");
      await inProject(project);
      return c.json(await webhooks.list(project), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/projects/{project}/webhooks/{webhook}",
      summary: "Remove a webhook",
      tags,
      middleware: [requireRole("admin")] as const,
      request: { params: webhookParams },
      responses: { 200: json(webhookSchema, "Removed"), ...errors },
    }),
    async (c) => {
      const { project, webhook } = c.req.valid("param");
      return c.json(await webhooks.remove(project, webhook), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/projects/{project}/webhooks/{webhook}/test",
      summary: "Send a test notification to this webhook",
      tags,
      middleware: [requireRole("admin")] as const,
      request: { params: webhookParams },
      responses: {
        202: json(z.object({ eventId: z.string() }), "Queued: the delivery log shows how it went"),
        ...errors,
      },
    }),
    async (c) => {
      const { project, webhook } = c.req.valid("param");
      await webhooks.get(project, webhook);
      const eventId = `test-${crypto.randomUUID()}`;
      await notifier.emit(project, { id: eventId, type: "webhook.test", only: webhook, data: { webhook } });
      return c.json({ eventId }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/projects/{project}/webhooks/{webhook}/deliveries",
      summary: "The webhook's latest delivery attempts, newest first",
      tags,
      middleware: [requireRole("viewer")] as const,
      request: { params: webhookParams },
      responses: { 200: json(z.array(deliverySchema), "Attempts: event, status, error, duration"), ...errors },
    }),
    async (c) => {
      const { project, webhook } = c.req.valid("param");
      return c.json(await webhooks.deliveries(project, webhook), 200);
    },
  );

  return app;
}
