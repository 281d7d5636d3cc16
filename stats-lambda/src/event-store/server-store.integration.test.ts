/** The stats server with an event store: rows visible when ingest answers, and its upkeep. */
import { DuckDBInstance } from "@duckdb/node-api";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sign } from "../../../shared/ingest-signature.js";
import { keys } from "../../../shared/node/control-plane-table.js";
import { startDynalite, type LocalDynamo } from "../../../shared/node/local-dynalite.js";
import { controlPlaneRecords, runningExperiment } from "../../../test/support/control-plane-records.js";
import { eventMessage, exposureMessage } from "../../../test/support/queue-messages.js";
import { startStatsService, type StatsServer } from "../server.js";
import { dayOf } from "./paths.js";
import { attachEventStore } from "./reader.js";
import { localSink } from "./sink.js";
import { createEventStoreWriter } from "./writer.js";

const SECRET = "store-secret";
const DAY = 86_400_000;
let dynamo: LocalDynamo;
let service: StatsServer;
let root: string;
let duckdb: DuckDBInstance;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "stats-store-"));
  duckdb = await DuckDBInstance.create(":memory:");
  dynamo = await startDynalite();
  // A timer that never fires during the test: upkeep is called by hand.
  service = await startStatsService({
    dynamoEndpoint: dynamo.endpoint,
    ingestSecret: SECRET,
    eventStoreRoot: root,
    eventStoreUpkeepEveryMs: 3_600_000,
  });
  const records = await controlPlaneRecords(dynamo.endpoint);
  await records.project("shop");
  // A project that keeps its events 10 days (the record's optional eventRetentionDays).
  await records.db.client.send(
    new PutCommand({
      TableName: records.db.table,
      Item: { ...keys.project("brief"), data: JSON.stringify({ key: "brief", name: "brief", eventRetentionDays: 10 }) },
    }),
  );
  await records.experiment("shop", runningExperiment("exp"));
});
afterAll(async () => {
  await service.close();
  await dynamo.close();
  duckdb.closeSync();
  await rm(root, { recursive: true, force: true });
});

async function deliver(messages: Array<{ id: string; body: unknown }>) {
  const body = JSON.stringify({ messages });
  const response = await fetch(`${service.url}/ingest`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-signature": await sign(SECRET, body) },
    body,
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}
async function count(table: string, project: string) {
  const connection = await duckdb.connect();
  await attachEventStore(connection, { root, project });
  const rows = (await connection.runAndReadAll(`SELECT count(*) AS n FROM ${table}`)).getRowObjectsJson();
  connection.closeSync();
  return Number(rows[0]!["n"]);
}
const files = async (dir: string) => (await readdir(dir, { recursive: true })).filter((f) => f.endsWith(".parquet"));

describe("stats server with an event store", () => {
  it("has a delivery's rows visible when ingest answers, and compacts and expires partitions", async () => {
    const time = Math.floor(Date.now() / DAY) * DAY - 12 * 3_600_000; // yesterday noon: no day boundary in between
    const result = await deliver([
      { id: "a1", body: exposureMessage("u1", "exp", "control", time) },
      { id: "a2", body: eventMessage([{ user_id: "u1", event_type: "purchase" }], time + 1000) },
    ]);
    expect(result).toMatchObject({ exposures: 1, events: 1, stored: 2 });
    expect([await count("exposures", "shop"), await count("events", "shop")]).toEqual([1, 1]);

    // Eight more deliveries into today's events partition, then upkeep compacts it.
    for (let i = 0; i < 8; i++)
      await deliver([{ id: `b${i}`, body: eventMessage([{ user_id: `u${i}`, event_type: "search" }], time) }]);
    const today = join(root, "events", "project=shop", `date=${dayOf(time)}`);
    expect(await files(today)).toHaveLength(9);
    // Old partitions: 20 days old in a project keeping 10 days, and in one keeping the default 400.
    const writer = createEventStoreWriter({ sink: localSink(root), duckdb });
    const old = (project: string) => ({
      project,
      exposures: [],
      events: [
        {
          id: `old-${project}`,
          deployment: "web",
          event_type: "search",
          user_id: "u",
          device_id: null,
          groups: null,
          time: Date.now() - 20 * DAY,
          event_properties: null,
        },
      ],
    });
    await writer.append(["old"], [old("brief"), old("shop")]);
    expect(await count("events", "brief")).toBe(1);
    expect(await count("events", "shop")).toBe(10);

    await service.upkeep();
    expect(await files(today)).toEqual([expect.stringMatching(/^c-[0-9a-f]{32}\.parquet$/)]);
    expect(await count("events", "shop")).toBe(10);
    expect(await count("events", "brief")).toBe(0);
  });
});
