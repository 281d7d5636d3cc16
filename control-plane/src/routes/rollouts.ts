/** A release flag's progressive rollout plan: start, read, pause, resume, cancel. */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import * as z from "zod"; // namespace import: lets the bundler drop the unused parts of zod
import { requireRole, type AuthEnv } from "../../../shared/node/admin-tokens.js";
import { ROLLOUT_STATUSES, type RolloutService } from "../rollouts/plans.js";
import { body, errors, flagParams, json, writeErrors } from "./schemas.js";

const tags = ["Rollout plans"];

const stepSchema = z.strictObject({
  percent: z.number().gt(0).max(100).describe("The rollout at this step"),
  minutes: z
    .number()
    .min(0)
    .max(60 * 24 * 90)
    .describe("The least time the step is held before the next"),
});

const checkSchema = z.object({
  metric: z.string(),
  difference: z.number(),
  lift: z.number().nullable(),
  interval: z.tuple([z.number(), z.number()]).nullable(),
  pValue: z.number(),
  served: z.number(),
  heldBack: z.number(),
  tested: z.boolean(),
  harm: z.boolean(),
});

export const rolloutPlanSchema = z.object({
  id: z.string(),
  project: z.string(),
  flag: z.string(),
  steps: z.array(stepSchema),
  status: z.enum(ROLLOUT_STATUSES),
  step: z.number().describe("Index of the current step"),
  percent: z.number().describe("The rollout the plan has set (0 after a rollback)"),
  applied: z.boolean(),
  stepStartedAt: z.string(),
  heldMs: z.number(),
  alpha: z.number(),
  minimumDetectableEffect: z.number(),
  createdBy: z.string(),
  createdAt: z.string(),
  lastCheck: z.object({ at: z.string(), checks: z.array(checkSchema) }).optional(),
  rollback: z
    .object({
      at: z.string(),
      step: z.number(),
      percent: z.number(),
      check: checkSchema,
      version: z.number().optional(),
    })
    .optional()
    .describe("Why the plan rolled back: the guardrail, its effect and interval, the step"),
  log: z.array(z.object({ at: z.string(), what: z.string(), step: z.number(), percent: z.number(), by: z.string() })),
});

const planWriteSchema = z.strictObject({
  steps: z.array(stepSchema).min(1).max(20),
  alpha: z.number().gt(0).max(0.2).optional().describe("Guardrails' false-alarm rate over the whole plan (0.05)"),
  minimumDetectableEffect: z
    .number()
    .positive()
    .max(10)
    .optional()
    .describe("Relative harm the test is tuned to catch fastest (0.1 = 10%)"),
});

export function rolloutRoutes(rollouts: RolloutService): OpenAPIHono<AuthEnv> {
  const app = new OpenAPIHono<AuthEnv>();
  const path = "/projects/{project}/flags/{flag}/rollout-plan";

  app.openapi(
    createRoute({
      method: "put",
      path,
      summary: "Start a progressive rollout plan on a release flag",
      description:
        "Sets the first step's rollout now; the watcher advances each step after its minutes, checking the flag's " +
        "guardrail metrics at every tick, and rolls back to 0% on harm.",
      tags,
      middleware: [requireRole("editor")] as const,
      request: {
        params: flagParams,
        ...body(planWriteSchema, {
          steps: [
            { percent: 1, minutes: 60 },
            { percent: 5, minutes: 60 },
            { percent: 25, minutes: 120 },
            { percent: 50, minutes: 240 },
            { percent: 100, minutes: 0.1 },
          ],
        }),
      },
      responses: { 201: json(rolloutPlanSchema, "Started"), ...writeErrors },
    }),
    async (c) => {
      const { project, flag } = c.req.valid("param");
      return c.json(await rollouts.start(project, flag, c.req.valid("json"), c.var.principal.name), 201);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path,
      summary: "The flag's rollout plan: step, guardrail checks, log",
      tags,
      middleware: [requireRole("viewer")] as const,
      request: { params: flagParams },
      responses: { 200: json(rolloutPlanSchema, "The plan"), ...errors },
    }),
    async (c) => {
      const { project, flag } = c.req.valid("param");
      return c.json(await rollouts.get(project, flag), 200);
    },
  );

  for (const action of ["pause", "resume", "cancel"] as const) {
    app.openapi(
      createRoute({
        method: "post",
        path: `${path}/${action}`,
        summary: `${action[0]!.toUpperCase()}${action.slice(1)} the rollout plan`,
        tags,
        middleware: [requireRole("editor")] as const,
        request: { params: flagParams },
        responses: { 200: json(rolloutPlanSchema, "The plan"), ...writeErrors },
      }),
      async (c) => {
        const { project, flag } = c.req.valid("param");
        return c.json(await rollouts[action](project, flag, c.var.principal.name), 200);
      },
    );
  }

  return app;
}
