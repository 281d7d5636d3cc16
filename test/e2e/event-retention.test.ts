/**
 * A project's event retention, set through the control plane's API and applied by the stats
 * service's upkeep to the event store (docs/event-store.md, Retention): the two services share
 * only the project record, so this test runs both on one dynalite.
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DEFAULT_RETENTION_DAYS } from "../../shared/event-retention.js";
import { attachEventStore } from "../../stats-lambda/src/event-store/reader.js";
import { localSink } from "../../stats-lambda/src/event-store/sink.js";
import { createEventStoreWriter } from "../../stats-lambda/src/event-store/writer.js";
import { startStatsService, type StatsServer } from "../../stats-lambda/src/server.js";
import { startStack, type Stack } from "../support/stack.js";

const DAY = 86_400_000;
let stack: Stack;
let stats: StatsServer;
let root: string;
let duckdb: DuckDBInstance;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "event-retention-"));
  duckdb = await DuckDBInstance.create(":memory:");
  stack = await startStack();
  // Upkeep by hand: its timer never fires during the test.
  stats = await startStatsService({
    dynamoEndpoint: stack.dynamoEndpoint,
    ingestSecret: "retention",
    eventStoreRoot: root,
    eventStoreUpkeepEveryMs: 3_600_000,
  });
  for (const key of ["brief", "long"])
    expect((await stack.api("POST", "/projects", { key, name: key })).status).toBe(201);
});
afterAll(async () => {
  await stats?.close();
  await stack?.dispose();
  duckdb?.closeSync();
  await rm(root, { recursive: true, force: true });
});

/** One event `daysAgo` days old in each project. */
async function eventsAged(daysAgo: number) {
  const writer = createEventStoreWriter({ sink: localSink(root), duckdb });
  const row = (project: string) => ({
    project,
    exposures: [],
    events: [
      {
        id: `${project}-${daysAgo}`,
        deployment: "web",
        event_type: "search",
        user_id: "u",
        device_id: null,
        groups: null,
        time: Date.now() - daysAgo * DAY,
        event_properties: null,
      },
    ],
  });
  await writer.append([`aged-${daysAgo}`], [row("brief"), row("long")]);
}

async function count(project: string) {
  const connection = await duckdb.connect();
  await attachEventStore(connection, { root, project });
  const rows = (await connection.runAndReadAll("SELECT count(*) AS n FROM events")).getRowObjectsJson();
  connection.closeSync();
  return Number(rows[0]!["n"]);
}

it("takes 1 to the default days from an admin, and null for the default", async () => {
  const put = (days: unknown, headers?: Record<string, string>) =>
    stack.api("PUT", "/projects/brief/event-retention", { days }, headers);
  for (const bad of [0, 2.5, DEFAULT_RETENTION_DAYS + 1, "30", undefined])
    expect((await put(bad)).status, `days ${String(bad)}`).toBe(400);
  expect((await stack.api("PUT", "/projects/nowhere/event-retention", { days: 5 })).status).toBe(404);
  const viewer = (await stack.api("POST", "/tokens", { name: "v", role: "viewer", project: "brief" })).body;
  expect((await put(5, { authorization: `Bearer ${viewer.token}` })).status).toBe(403);

  expect((await put(DEFAULT_RETENTION_DAYS)).body.eventRetentionDays).toBe(DEFAULT_RETENTION_DAYS);
  expect((await put(null)).body).not.toHaveProperty("eventRetentionDays");
  const openapi = (await stack.api("GET", "/openapi.json")).body;
  expect(openapi.paths["/projects/{project}/event-retention"]?.["put"]?.summary).toMatch(/keeps the project's events/);
});

it("the stats service's upkeep deletes the days past the retention the API set, in that project only", async () => {
  await eventsAged(20);
  await eventsAged(5);
  expect([await count("brief"), await count("long")]).toEqual([2, 2]);

  const set = await stack.api("PUT", "/projects/brief/event-retention", { days: 10 });
  expect(set.status).toBe(200);
  expect(set.body).toMatchObject({ key: "brief", eventRetentionDays: 10 });
  expect((await stack.api("GET", "/projects/brief")).body.eventRetentionDays).toBe(10);
  await stats.upkeep();
  expect([await count("brief"), await count("long")]).toEqual([1, 2]); // brief's 20-day-old day is gone

  // Another write to the project record keeps the retention (it is one field of the record).
  expect((await stack.api("PUT", "/projects/brief/breakdown-properties", { properties: ["plan"] })).status).toBe(200);
  expect((await stack.api("GET", "/projects/brief")).body.eventRetentionDays).toBe(10);
});
