/**
 * Writes control-plane records (experiments, tokens) straight into its table, for tests
 * and benchmarks of the stats service, which only reads them.
 */
import { createStore } from "../../control-plane/src/db/store.js";
import { flagInputSchema, type Flag } from "../../shared/authoring/schema.js";
import { generateToken, hashToken, type Role } from "../../shared/node/admin-tokens.js";
import { createDb, ensureTable } from "../../shared/node/dynamo.js";

export async function controlPlaneRecords(endpoint: string, table = "experiments") {
  const db = createDb({ table, endpoint, region: "local" });
  await ensureTable(db);
  const store = createStore(db);
  return {
    db,
    async project(key: string) {
      if (!(await store.getProject(key)))
        await store.createProject({ key, name: key, createdAt: new Date().toISOString() });
    },
    /** Writes (or overwrites) an experiment. */
    async experiment(project: string, flag: Flag) {
      const current = await store.getFlag(project, flag.key);
      await store.putFlag(project, { ...flag, version: (current?.version ?? 0) + 1 }, current?.version);
    },
    async token(role: Role, project: string): Promise<string> {
      const token = generateToken();
      await store.putToken(hashToken(token), {
        id: hashToken(token).slice(0, 16),
        name: role,
        role,
        project,
        createdAt: new Date().toISOString(),
      });
      return token;
    },
  };
}

/** A running two-arm experiment with the four metric types on `purchase` and `pageview` events. */
export function runningExperiment(key: string, extra: Partial<Flag> & Record<string, unknown> = {}): Flag {
  const input = flagInputSchema.parse({
    key,
    name: key,
    type: "experiment",
    variants: [{ key: "control" }, { key: "treatment" }],
    primaryMetric: { key: "purchase", type: "unique_conversions", eventType: "purchase" },
    secondaryMetrics: [
      { key: "pageviews", type: "event_totals", eventType: "pageview" },
      { key: "revenue", type: "property_sum", eventType: "purchase", property: "amount" },
      { key: "basket", type: "property_average", eventType: "purchase", property: "amount" },
    ],
  });
  const now = new Date().toISOString();
  return {
    ...input,
    status: "running",
    version: 1,
    createdAt: now,
    updatedAt: now,
    lastChange: { actor: "test", at: now, action: "create" },
    ...extra,
  } as Flag;
}
