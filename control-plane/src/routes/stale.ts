/**
 * Stale flags: the edge's evaluation counts come in (`POST /internal/evaluation-counts`,
 * signed with the secret the control plane and the edge share), and each flag's staleness
 * goes out (`GET /projects/{p}/stale-flags`, filterable).
 */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import * as z from "zod"; // namespace import: lets the bundler drop the unused parts of zod
import { keySchema } from "../../../shared/authoring/schema.js";
import { ApiError, parseOr400 } from "../../../shared/http/errors.js";
import { SIGNATURE_HEADER, readSignedJson } from "../../../shared/ingest-signature.js";
import { requireRole, type AuthEnv } from "../../../shared/node/admin-tokens.js";
import type { FlagService } from "../services/flags.js";
import type { EvaluationCounts } from "../stale/evaluation-counts.js";
import { STALE_AFTER_DAYS } from "../stale/staleness.js";
import { errors, json, projectParams } from "./schemas.js";

const tags = ["Stale flags"];

export const stalenessSchema = z.object({
  flag: z.string(),
  stale: z.boolean(),
  reason: z.enum(["single_variant", "not_evaluated"]).optional(),
  days: z.number().int().optional().describe("How long: days serving that one variant, or since the last evaluation"),
  message: z.string().optional().describe('Why, and how long: "one variant to everyone for 34 days (on)"'),
  lastEvaluatedDay: z.string().optional(),
  variants: z.record(z.string(), z.number()).describe(`Evaluations by variant over the last ${STALE_AFTER_DAYS} days`),
});

/** What the edge flushes: per deployment, flag → variant → evaluations. */
export const countFlushSchema = z.object({
  batches: z
    .array(
      z.object({
        project: keySchema,
        deployment: keySchema,
        counts: z.record(keySchema, z.record(z.string().min(1).max(100), z.number().int().nonnegative())),
      }),
    )
    .max(1000),
});

export function staleRoutes(
  counts: EvaluationCounts,
  flags: Pick<FlagService, "list">,
  secret: string | undefined,
): OpenAPIHono<AuthEnv> {
  const app = new OpenAPIHono<AuthEnv>();

  app.post("/internal/evaluation-counts", async (c) => {
    if (!secret) throw new ApiError({ status: 404, message: "Evaluation counts are not taken here" });
    const parsed = await readSignedJson(secret, c.req.header(SIGNATURE_HEADER), await c.req.text(), "Count flush");
    const { batches } = parseOr400(countFlushSchema, parsed, "count flush");
    for (const batch of batches) await counts.add(batch);
    return c.body(null, 204);
  });

  app.openapi(
    createRoute({
      method: "get",
      path: "/projects/{project}/stale-flags",
      summary: `Each flag's staleness: one variant to everyone, or no evaluation, for ${STALE_AFTER_DAYS} days`,
      tags,
      middleware: [requireRole("viewer")] as const,
      request: {
        params: projectParams,
        query: z.object({ stale: z.enum(["true", "false"]).optional().describe("Only stale (or only live) flags") }),
      },
      responses: { 200: json(z.array(stalenessSchema), "Flags with their staleness"), ...errors },
    }),
    async (c) => {
      const { project } = c.req.valid("param");
      const { stale } = c.req.valid("query");
      const all = await counts.staleness(project, await flags.list(project));
      return c.json(stale === undefined ? all : all.filter((s) => s.stale === (stale === "true")), 200);
    },
  );

  return app;
}
