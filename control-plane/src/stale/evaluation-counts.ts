/**
 * The edge's evaluation counts, per project, flag, day and deployment (`EVALS#<p>`,
 * `<flag>#<day>#<deployment>`), one counter attribute per variant served (`v:<variant>`).
 * Each flush from the edge adds to the day's counters (ADD: concurrent flushes from many
 * isolates never lose a count); a redelivered flush counts twice, which staleness (one
 * variant or none for 30 days) does not notice. Items expire after 90 days (`ttl`).
 */
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { queryAll, type Db } from "../../../shared/node/dynamo.js";
import type { Flag } from "../../../shared/authoring/schema.js";
import { dayOf, staleness, type DailyCount, type Staleness } from "./staleness.js";

const pk = (project: string) => `EVALS#${project}`;
const VARIANT_PREFIX = "v:";
const KEEP_DAYS = 90;

export interface CountBatch {
  project: string;
  deployment: string;
  /** Flag key → variant key (or NO_VARIANT) → evaluations. */
  counts: Record<string, Record<string, number>>;
}

export function createEvaluationCounts(db: Db, now: () => number = Date.now) {
  return {
    /** Adds a flush's counts to the day it arrives on (the edge flushes within seconds of counting). */
    async add({ project, deployment, counts }: CountBatch): Promise<void> {
      const day = dayOf(now());
      const ttl = Math.floor(now() / 1000) + KEEP_DAYS * 86_400;
      for (const [flag, variants] of Object.entries(counts)) {
        const entries = Object.entries(variants).filter(([, n]) => n > 0);
        if (entries.length === 0) continue;
        const names: Record<string, string> = {};
        const values: Record<string, number> = { ":ttl": ttl };
        entries.forEach(([variant, n], i) => {
          names[`#v${i}`] = `${VARIANT_PREFIX}${variant}`;
          values[`:n${i}`] = n;
        });
        await db.client.send(
          new UpdateCommand({
            TableName: db.table,
            Key: { pk: pk(project), sk: `${flag}#${day}#${deployment}` },
            UpdateExpression: `SET #ttl = :ttl ADD ${entries.map((_, i) => `#v${i} :n${i}`).join(", ")}`,
            ExpressionAttributeNames: { ...names, "#ttl": "ttl" },
            ExpressionAttributeValues: values,
          }),
        );
      }
    },

    async daily(project: string): Promise<DailyCount[]> {
      const items = await queryAll(db, {
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": pk(project) },
      });
      return items.map((item) => {
        const [flag, day, deployment] = String(item["sk"]).split("#") as [string, string, string];
        const variants: Record<string, number> = {};
        for (const [name, value] of Object.entries(item))
          if (name.startsWith(VARIANT_PREFIX)) variants[name.slice(VARIANT_PREFIX.length)] = Number(value);
        return { flag, day, deployment, variants };
      });
    },

    /** Every flag's staleness now. */
    async staleness(project: string, flags: readonly Flag[]): Promise<Staleness[]> {
      const counts = await this.daily(project);
      const at = now();
      return flags.map((flag) => staleness(flag, counts, at));
    },
  };
}

export type EvaluationCounts = ReturnType<typeof createEvaluationCounts>;
