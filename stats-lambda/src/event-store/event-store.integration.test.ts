/** The event store's writer and reader with real DuckDB on a temp folder. */
import { DuckDBInstance } from "@duckdb/node-api";
import fc from "fast-check";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { applyRetention, compact } from "./maintenance.js";
import { attachEventStore } from "./reader.js";
import type { EventRow, ExposureRow, ProjectRows } from "./rows.js";
import { localSink, STAGING_FOLDER } from "./sink.js";
import { createEventStoreWriter } from "./writer.js";

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1, 12);

const exposure = (id: string, time = T0): ExposureRow => ({
  id,
  deployment: "prod",
  experiment_key: "checkout",
  analysis_period: 1,
  variant: "control",
  unit_id: `u-${id}`,
  user_id: `u-${id}`,
  device_id: null,
  groups: null,
  allocation: "control=50,treatment=50",
  source: "remote-evaluation",
  time,
  untrusted: false,
  country: "DE",
  platform: null,
  os: null,
  app_version: null,
  user_properties: '{"country":"DE"}',
});
const event = (id: string, time = T0): EventRow => ({
  id,
  deployment: "prod",
  event_type: "purchase",
  user_id: `u-${id}`,
  device_id: null,
  groups: null,
  time,
  event_properties: '{"revenue":12.5}',
});
const rows = (exposures: ExposureRow[], events: EventRow[], project = "shop"): ProjectRows[] => [
  { project, exposures, events },
];

let root: string;
let duckdb: DuckDBInstance;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "event-store-"));
  duckdb = await DuckDBInstance.create(":memory:");
});
afterEach(async () => {
  duckdb.closeSync();
  await rm(root, { recursive: true, force: true });
});

async function read(sql: string, project = "shop", range: { from?: string; to?: string } = {}) {
  const connection = await duckdb.connect();
  try {
    await attachEventStore(connection, { root, project, ...range });
    return (await connection.runAndReadAll(sql)).getRowObjectsJson();
  } finally {
    connection.closeSync();
  }
}
const count = async (table: string, project = "shop") =>
  Number((await read(`SELECT count(*) AS n FROM ${table}`, project))[0]!["n"]);

async function parquetFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile() && e.name.endsWith(".parquet")).map((e) => join(e.parentPath, e.name));
}

describe("event store writer and reader", () => {
  it("writes Hive partitions by project and UTC day, read back with their partition columns", async () => {
    const writer = createEventStoreWriter({ sink: localSink(root), duckdb });
    const result = await writer.append(["m1"], rows([exposure("a"), exposure("b", T0 + DAY)], [event("e1")]));
    expect(result).toEqual({ rows: 3, files: 3 });
    const files = (await parquetFiles(root)).map((f) => f.slice(root.length + 1)).sort();
    expect(files).toHaveLength(3);
    expect(files[0]).toMatch(/^events\/project=shop\/date=2026-11-01\/d-[0-9a-f]{32}\.parquet$/);
    expect(files[1]).toMatch(/^exposures\/project=shop\/date=2026-11-01\//);
    expect(files[2]).toMatch(/^exposures\/project=shop\/date=2026-11-02\//);
    const read1 = await read("SELECT id, project, date, time, untrusted, country FROM exposures ORDER BY id");
    expect(read1).toEqual([
      { id: "a", project: "shop", date: "2026-11-01", time: String(T0), untrusted: false, country: "DE" },
      { id: "b", project: "shop", date: "2026-11-02", time: String(T0 + DAY), untrusted: false, country: "DE" },
    ]);
    expect(await read("SELECT id, event_type, event_properties, date FROM events")).toEqual([
      { id: "e1", event_type: "purchase", event_properties: '{"revenue":12.5}', date: "2026-11-01" },
    ]);
    // Another project's folder is not read.
    expect(await count("exposures", "other")).toBe(0);
  });

  it("restricts the views to a date range", async () => {
    const writer = createEventStoreWriter({ sink: localSink(root), duckdb });
    await writer.append(["m1"], rows([exposure("a"), exposure("b", T0 + DAY), exposure("c", T0 + 2 * DAY)], []));
    const ids = await read("SELECT id FROM exposures ORDER BY id", "shop", { from: "2026-11-02", to: "2026-11-02" });
    expect(ids).toEqual([{ id: "b" }]);
    expect(await read("SELECT count(*) AS n FROM exposures", "shop", { from: "2026-11-05" })).toEqual([{ n: "0" }]);
    await expect(read("SELECT 1", "shop", { from: "2026-1-1" })).rejects.toThrow(/Not a day/);
  });

  it("a redelivery rewrites the same file; an overlapping delivery's rows are read once", async () => {
    const writer = createEventStoreWriter({ sink: localSink(root), duckdb });
    await writer.append(["m1", "m2"], rows([exposure("a"), exposure("b")], [event("e1")]));
    await writer.append(["m2", "m1"], rows([exposure("a"), exposure("b")], [event("e1")]));
    expect(await parquetFiles(root)).toHaveLength(2);
    // m2 again with m3: another file, the same ids as before for m2's rows.
    await writer.append(["m2", "m3"], rows([exposure("b"), exposure("c")], [event("e1"), event("e2")]));
    expect(await parquetFiles(root)).toHaveLength(4);
    expect(await count("exposures")).toBe(3);
    expect(await count("events")).toBe(2);
  });

  it("a delivery that dies after staging and before publishing leaves nothing visible", async () => {
    const crashing = createEventStoreWriter({
      sink: localSink(root),
      duckdb,
      beforePublish: () => {
        throw new Error("killed");
      },
    });
    await expect(crashing.append(["m1"], rows([exposure("a")], [event("e1")]))).rejects.toThrow("killed");
    expect(await parquetFiles(root)).toEqual([]);
    expect(await readdir(join(root, STAGING_FOLDER))).toEqual([]); // its staging folder is cleaned up
    expect(await count("exposures")).toBe(0);
    // The redelivery publishes it once.
    await createEventStoreWriter({ sink: localSink(root), duckdb }).append(
      ["m1"],
      rows([exposure("a")], [event("e1")]),
    );
    expect(await count("exposures")).toBe(1);
    expect(await count("events")).toBe(1);
  });

  it("any sequence of deliveries with duplicates: the reader sees each id once", async () => {
    const writer = createEventStoreWriter({ sink: localSink(root), duckdb });
    // A pool of messages, each with fixed rows; deliveries are arbitrary subsets, repeated.
    const message = (m: number) => ({
      exposures: [exposure(`x${m}`, T0 + (m % 3) * DAY)],
      events: [event(`e${m}`, T0 + (m % 2) * DAY), event(`e${m}b`)],
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uniqueArray(fc.integer({ min: 0, max: 11 }), { minLength: 1 }), { maxLength: 8 }),
        async (deliveries) => {
          const project = `p${run++}`;
          for (const delivery of deliveries) {
            const messages = delivery.map(message);
            await writer.append(
              delivery.map((m) => `q${m}`),
              rows(
                messages.flatMap((m) => m.exposures),
                messages.flatMap((m) => m.events),
                project,
              ),
            );
          }
          const sent = new Set(deliveries.flat());
          const ids = await read("SELECT id FROM exposures UNION ALL SELECT id FROM events", project);
          expect(ids.map((r) => r["id"]).sort()).toEqual([...sent].flatMap((m) => [`x${m}`, `e${m}`, `e${m}b`]).sort());
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe("event store upkeep", () => {
  it("compaction rewrites a partition of small files into one with exactly the same deduplicated rows", async () => {
    const writer = createEventStoreWriter({ sink: localSink(root), duckdb });
    // Ten deliveries into the same two partitions, overlapping: 30 rows written, 12 distinct.
    for (let d = 0; d < 10; d++) {
      const ids = [d, d + 1, d + 2].map((i) => `e${i % 12}`);
      await writer.append(
        [`delivery-${d}`],
        rows(
          [exposure(`x${d % 4}`)],
          ids.map((id) => event(id)),
        ),
      );
    }
    const before = await read("SELECT * FROM events ORDER BY id");
    const exposuresBefore = await read("SELECT * FROM exposures ORDER BY id");
    expect(before).toHaveLength(12);
    expect(await parquetFiles(join(root, "events"))).toHaveLength(10);

    expect(await compact(root, duckdb, 8)).toEqual({ partitions: 2, filesRemoved: 20 });
    const files = await parquetFiles(root);
    expect(files.map((f) => f.replace(/.*\//, ""))).toEqual([
      expect.stringMatching(/^c-[0-9a-f]{32}\.parquet$/),
      expect.stringMatching(/^c-[0-9a-f]{32}\.parquet$/),
    ]);
    expect(await read("SELECT * FROM events ORDER BY id")).toEqual(before);
    expect(await read("SELECT * FROM exposures ORDER BY id")).toEqual(exposuresBefore);
    // The compacted file holds each id once; a partition below the threshold is left alone.
    const [eventsFile] = await parquetFiles(join(root, "events"));
    const inFile = (
      await (await duckdb.connect()).runAndReadAll(`SELECT count(*) AS n FROM '${eventsFile}'`)
    ).getRowObjectsJson();
    expect(inFile).toEqual([{ n: "12" }]);
    expect(await compact(root, duckdb, 8)).toEqual({ partitions: 0, filesRemoved: 0 });
    // A redelivery after compaction adds a file back: still read once.
    await writer.append(["delivery-3"], rows([exposure("x3")], [event("e3"), event("e4"), event("e5")]));
    expect(await read("SELECT * FROM events ORDER BY id")).toEqual(before);
  });

  it("retention deletes only the partitions older than each project's retention", async () => {
    const writer = createEventStoreWriter({ sink: localSink(root), duckdb });
    const now = Date.UTC(2026, 11, 1, 8);
    const daysAgo = (n: number) => now - n * DAY;
    await writer.append(
      ["m1"],
      rows(
        [exposure("old", daysAgo(401)), exposure("kept", daysAgo(400))],
        [event("e", daysAgo(500)), event("f", daysAgo(2))],
      ),
    );
    await writer.append(["m2"], rows([exposure("short", daysAgo(31)), exposure("recent", daysAgo(30))], [], "brief"));
    const { deleted } = await applyRetention(root, {
      now,
      retentionDays: async (project) => (project === "brief" ? 30 : 400),
    });
    expect(deleted.sort()).toEqual([
      "events/project=shop/date=2025-07-19",
      "exposures/project=brief/date=2026-10-31",
      "exposures/project=shop/date=2025-10-26",
    ]);
    expect(await read("SELECT id FROM exposures ORDER BY id")).toEqual([{ id: "kept" }]);
    expect(await read("SELECT id FROM events")).toEqual([{ id: "f" }]);
    expect(await read("SELECT id FROM exposures", "brief")).toEqual([{ id: "recent" }]);
  });
});
