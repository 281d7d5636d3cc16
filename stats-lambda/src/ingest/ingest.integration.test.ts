/**
 * Ingest on real dynalite, through a proxy that counts DynamoDB requests and can fail
 * them: exact counts, redeliveries and races, poison values, dedup without a window, and
 * a run that dies half-way.
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventMessage, exposureMessage } from "../../../test/support/queue-messages.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExposureMessage, QueueMessage } from "../../../shared/events.js";
import { VALUE_SCALE } from "../../../shared/metric-values.js";
import { flagReader } from "../../../shared/node/control-plane-table.js";
import { createDb, ensureTable, type Db } from "../../../shared/node/dynamo.js";
import { startDynalite, type LocalDynamo } from "../../../shared/node/local-dynalite.js";
import { controlPlaneRecords, runningExperiment } from "../../../test/support/control-plane-records.js";
import { startDynamoProxy, type DynamoProxy } from "../../../test/support/dynamo-proxy.js";
import { createCatalog } from "../catalog.js";
import { attachEventStore } from "../event-store/reader.js";
import { localSink } from "../event-store/sink.js";
import { createEventStoreWriter } from "../event-store/writer.js";
import { buildReport } from "../report.js";
import { createStatsStore, EXPOSURES } from "../store.js";
import { DEAD_AFTER_MS, ingest, type DeliveredMessage } from "./index.js";

let dynamo: LocalDynamo;
let proxy: DynamoProxy;
let db: Db;
let catalog: ReturnType<typeof createCatalog>;
let records: Awaited<ReturnType<typeof controlPlaneRecords>>;
const quiet = { log: () => {} };
const T0 = Date.now() - 3_600_000;
let nextId = 0;

beforeAll(async () => {
  dynamo = await startDynalite();
  proxy = await startDynamoProxy(dynamo.endpoint);
  db = createDb({ table: "stats-ingest-test", endpoint: proxy.endpoint, region: "local", exactNumbers: true });
  await ensureTable(db);
  records = await controlPlaneRecords(dynamo.endpoint);
  await records.project("shop");
  catalog = createCatalog(flagReader(records.db), 0, 0);
});
afterAll(async () => {
  await proxy.close();
  await dynamo.close();
});

const exposure = (user: string, flagKey: string, variant: string, time = T0) =>
  exposureMessage(user, flagKey, variant, time);
const events = (...list: Parameters<typeof eventMessage>[0]) => eventMessage(list, T0 + 1000);
const delivery = (...bodies: QueueMessage[]): DeliveredMessage[] =>
  bodies.map((body) => ({ id: `msg-${++nextId}`, body }));

async function report(key: string) {
  const stats = createStatsStore(db);
  const flag = (await catalog.experiment("shop", key))!;
  return buildReport(flag, await stats.aggregates("shop", key), await stats.quality("shop", key), Date.now());
}
const totals = async (key: string, metric: string) => {
  const stats = createStatsStore(db);
  const rows = (await stats.aggregates("shop", key)).filter((r) => r.metric === metric);
  const by = (variant: string) =>
    rows
      .filter((r) => r.variant === variant)
      .reduce(
        (s, r) => ({
          n: s.n + r.n,
          sum: s.sum + Number(r.sum) / VALUE_SCALE,
          sumSquares: s.sumSquares + Number(r.sumSquares) / VALUE_SCALE ** 2,
        }),
        { n: 0, sum: 0, sumSquares: 0 },
      );
  return { control: by("control"), treatment: by("treatment") };
};

/** 200 units × 5 experiments, exposed, then a purchase each: the mix. */
function benchMix(prefix: string, experiments: string[]) {
  const exposures = Array.from({ length: 200 }, (_, i) => ({
    type: "batch" as const,
    messages: experiments.map((key) => exposure(`${prefix}${i}`, key, i % 2 ? "treatment" : "control")),
  }));
  const purchases = Array.from({ length: 200 }, (_, i) =>
    events({ user_id: `${prefix}${i}`, event_type: "purchase", event_properties: { amount: (i % 7) + 0.25 } }),
  );
  return delivery(...exposures, ...purchases);
}

describe("ingest", () => {
  it("counts a delivery of 2,000 applications exactly, in well under one DynamoDB request each", async () => {
    const keys = ["mix-a", "mix-b", "mix-c", "mix-d", "mix-e"];
    for (const key of keys) await records.experiment("shop", runningExperiment(key));
    proxy.reset();
    // What is under test is exactness and the request count, not the run's 20 s deadline (its own test below):
    // beside a CPU hog dynalite takes longer than that for 2,000 applications, and the retry would be correct.
    const result = await ingest(benchMix("m", keys), db, catalog, { ...quiet, deadlineMs: 120_000 });
    const requests = proxy.total();
    expect(result).toMatchObject({ exposures: 1000, events: 1000, duplicates: 0, retry: [] });
    expect(requests / 2000).toBeLessThanOrEqual(0.6);

    for (const key of keys) {
      const exposed = await totals(key, EXPOSURES);
      expect([exposed.control.n, exposed.treatment.n]).toEqual([100, 100]);
      const revenue = await totals(key, "revenue");
      const expected = (odd: number) =>
        Array.from({ length: 200 }, (_, i) => i)
          .filter((i) => i % 2 === odd)
          .reduce((s, i) => s + (i % 7) + 0.25, 0);
      expect(revenue.control.sum).toBeCloseTo(expected(0), 9);
      expect(revenue.treatment.sum).toBeCloseTo(expected(1), 9);
    }
  });

  it("changes nothing when the same delivery comes again, or two overlapping deliveries race", async () => {
    await records.experiment("shop", runningExperiment("race"));
    const messages = [
      ...delivery(...Array.from({ length: 300 }, (_, i) => exposure(`r${i}`, "race", i % 2 ? "treatment" : "control"))),
      ...delivery(
        ...Array.from({ length: 300 }, (_, i) =>
          events({ user_id: `r${i}`, event_type: "pageview" }, { user_id: `r${i}`, event_type: "pageview" }),
        ),
      ),
    ];
    // Two deliveries sharing half their messages, at once; then everything again.
    const [a, b] = await Promise.all([
      ingest(messages.slice(0, 450), db, catalog, quiet),
      ingest(messages.slice(150), db, catalog, quiet),
    ]);
    expect(a.exposures + b.exposures).toBe(300);
    // A message the other run applied but had not settled yet is handed back for later.
    const retried = new Set([...a.retry, ...b.retry]);
    await ingest(
      messages.filter((m) => retried.has(m.id)),
      db,
      catalog,
      { ...quiet, now: () => Date.now() + DEAD_AFTER_MS + 1000 },
    );
    const again = await ingest(messages, db, catalog, quiet);
    expect(again).toMatchObject({ exposures: 0, events: 0, retry: [] });

    const pageviews = await totals("race", "pageviews");
    expect(pageviews.control.sum + pageviews.treatment.sum).toBe(600);
    const exposed = await totals("race", EXPOSURES);
    expect(exposed.control.n + exposed.treatment.n).toBe(300);
  });

  it("drops and counts poison values, counts the honest events, and keeps the report readable", async () => {
    await records.experiment("shop", runningExperiment("poison"));
    await ingest(
      delivery(...Array.from({ length: 12 }, (_, i) => exposure(`p${i}`, "poison", i % 2 ? "treatment" : "control"))),
      db,
      catalog,
      quiet,
    );
    const result = await ingest(
      delivery(
        events({ user_id: "p0", event_type: "purchase", event_properties: { amount: 1e16 } }),
        events({ user_id: "p1", event_type: "purchase", event_properties: { amount: "NaN" } }),
        events({ user_id: "p2", event_type: "purchase", event_properties: { amount: 1e-70 } }),
        events({
          user_id: "p3",
          event_type: "purchase",
          time: Date.now() + 30 * 86_400_000,
          event_properties: { amount: 5 },
        }),
        events({ user_id: "p4", event_type: "purchase", event_properties: { amount: 12.5 } }),
        // Nine units with 9e7 each: Σx² passes 2^53, and must still read back exactly.
        ...Array.from({ length: 7 }, (_, i) =>
          events({ user_id: `p${i + 5}`, event_type: "purchase", event_properties: { amount: 90_000_000 } }),
        ),
      ),
      db,
      catalog,
      quiet,
    );
    // p0 and p1 still convert (purchase), only their amounts are dropped; p3 is from the future
    expect(result.events).toBe(11);
    const r = await report("poison");
    expect(r.dataQuality.droppedValues).toMatchObject({ value_out_of_range: 2, not_a_number: 2, time_out_of_range: 1 });
    const revenue = await totals("poison", "revenue");
    expect(revenue.control.sum + revenue.treatment.sum).toBe(12.5 + 7 * 90_000_000);
    expect(revenue.control.sumSquares + revenue.treatment.sumSquares).toBe(12.5 ** 2 + 7 * 8.1e15);
    expect(r.metrics.find((m) => m.key === "revenue")!.variants).toHaveLength(2);
  });

  it("still knows an event as a duplicate after 1,000 other events of the same user", async () => {
    await records.experiment("shop", runningExperiment("memory"));
    await ingest(delivery(exposure("heavy", "memory", "control")), db, catalog, quiet);
    const first = delivery(events({ user_id: "heavy", event_type: "pageview", insert_id: "first" }));
    expect((await ingest(first, db, catalog, quiet)).events).toBe(1);
    for (let i = 0; i < 4; i++) {
      await ingest(
        delivery(
          events(
            ...Array.from({ length: 250 }, (_, j) => ({
              user_id: "heavy",
              event_type: "pageview",
              insert_id: `other-${i}-${j}`,
            })),
          ),
        ),
        db,
        catalog,
        quiet,
      );
    }
    expect(await ingest(first, db, catalog, quiet)).toMatchObject({ events: 0, duplicates: 1 });
    expect((await totals("memory", "pageviews")).control.sum).toBe(1001);
  });

  it("never loses or doubles what a run wrote before it died: a later run adopts it", async () => {
    await records.experiment("shop", runningExperiment("crash"));
    const messages = [
      ...delivery(...Array.from({ length: 40 }, (_, i) => exposure(`c${i}`, "crash", i % 2 ? "treatment" : "control"))),
      ...delivery(
        ...Array.from({ length: 40 }, (_, i) =>
          events({ user_id: `c${i}`, event_type: "purchase", event_properties: { amount: 10 } }),
        ),
      ),
    ];
    // The run writes its units, then every aggregate write fails: it dies half-way.
    proxy.failWhen = (operation) => operation === "UpdateItem";
    await expect(ingest(messages, db, catalog, quiet)).rejects.toThrow();
    proxy.failWhen = undefined;
    // Redelivered at once: the dead run is not known dead yet, so nothing is counted twice or skipped; all is handed
    // back.
    const soon = await ingest(messages, db, catalog, quiet);
    expect(soon).toMatchObject({ exposures: 0, events: 0 });
    expect(new Set(soon.retry)).toEqual(new Set(messages.map((m) => m.id)));
    // After the dead run's deadline: adopted once.
    const later = await ingest(messages, db, catalog, { ...quiet, now: () => Date.now() + DEAD_AFTER_MS + 1000 });
    expect(later.retry).toEqual([]);
    await ingest(messages, db, catalog, { ...quiet, now: () => Date.now() + DEAD_AFTER_MS + 2000 });
    expect((await totals("crash", EXPOSURES)).control.n + (await totals("crash", EXPOSURES)).treatment.n).toBe(40);
    const revenue = await totals("crash", "revenue");
    expect(revenue.control.sum + revenue.treatment.sum).toBe(400);
  });

  it("counts exposures the edge could not confirm as rejected, not as exposures", async () => {
    await records.experiment("shop", runningExperiment("forged"));
    const forged = Array.from(
      { length: 20 },
      (_, i): ExposureMessage => ({
        ...exposure(`f${i}`, "forged", "control"),
        source: "client",
        exposures: [{ flagKey: "forged", variant: "control", untrusted: true }],
      }),
    );
    const result = await ingest(delivery(...forged, exposure("honest", "forged", "treatment")), db, catalog, quiet);
    expect(result).toMatchObject({ exposures: 1, rejectedExposures: 20 });
    const r = await report("forged");
    expect(r.variants.map((v) => v.exposures)).toEqual([0, 1]);
    expect(r.dataQuality.rejectedExposures).toBe(20);
    expect(r.freshness.lastIngestedAt).not.toBeNull();
  });

  it("keeps ids as long as the edge accepts (1,024 characters), within DynamoDB's key limits", async () => {
    await records.experiment("shop", runningExperiment("long-ids"));
    await records.experiment(
      "shop",
      runningExperiment("long-groups", { bucketing: { unit: "group", groupType: "company" } }),
    );
    const long = (c: string) => c.repeat(1024);
    const user = long("u");
    const result = await ingest(
      delivery(
        { ...exposure(user, "long-ids", "treatment"), deviceId: long("d") },
        { ...exposure("g", "long-groups", "control"), groups: { company: long("c") } },
        {
          ...events({ user_id: user, event_type: "purchase", insert_id: long("i").slice(0, 256) }),
          events: [
            {
              user_id: user,
              device_id: long("d"),
              event_type: "purchase",
              time: T0 + 1000,
              insert_id: long("i").slice(0, 256),
              groups: { company: long("c") },
            },
          ],
        },
      ),
      db,
      catalog,
      quiet,
    );
    expect(result).toMatchObject({ exposures: 2, events: 2 });
    expect((await report("long-ids")).variants.map((v) => v.exposures)).toEqual([0, 1]);
    expect((await report("long-groups")).metrics[0]!.variants[0]!.mean).toBe(1);
  });
});

describe("ingest into the event store", () => {
  it("appends every accepted exposure and event once, with no DynamoDB request per unit or event", async () => {
    const root = await mkdtemp(join(tmpdir(), "ingest-store-"));
    const duckdb = await DuckDBInstance.create(":memory:");
    try {
      const eventStore = createEventStoreWriter({ sink: localSink(root), duckdb });
      await records.experiment("shop", runningExperiment("stored", { bucketing: { unit: "device_id" } }));
      const seen = { ...exposure("s-user", "stored", "treatment", T0 + 5000), deviceId: "s-device" };
      const messages = delivery(
        // a purchase before the exposure: kept (the engine counts from the exposure on)
        events({ user_id: "s-user", event_type: "purchase", time: T0, insert_id: "p1" }),
        {
          type: "batch",
          messages: [
            { ...seen, userProperties: { country: "DE", platform: "ios", plan: "pro" } },
            { ...seen, exposures: [{ flagKey: "stored", variant: "control", untrusted: true }] },
            // not a running experiment, and a variant it does not have: not exposures
            exposure("s-user", "not-running", "control"),
            { ...seen, exposures: [{ flagKey: "stored", variant: "nope" }] },
          ],
        },
        events(
          { user_id: "s-user", event_type: "purchase", event_properties: { amount: 3 } },
          // an event no metric uses yet: kept for metrics defined later
          { user_id: "s-user", event_type: "search", event_properties: { q: "shoes" } },
        ),
      );
      proxy.reset();
      const result = await ingest(messages, db, catalog, { ...quiet, eventStore });
      expect(result).toMatchObject({ stored: 5, exposures: 2, events: 3 });
      // Redelivered, and overlapping with a new message: nothing counted twice.
      await ingest(messages, db, catalog, { ...quiet, eventStore });
      const late = delivery(events({ user_id: "s-user", event_type: "search", time: T0 + 9000 }));
      await ingest([...messages.slice(1), ...late], db, catalog, { ...quiet, eventStore });
      // The stats table saw only the data-quality counters, one per running experiment of the project
      // (earlier tests' too: events go to every one) and run: no unit items, markers or aggregates.
      const running = (await catalog.running("shop", Date.now())).size;
      expect([...proxy.counts.keys()]).toEqual(["UpdateItem"]);
      expect(proxy.counts.get("UpdateItem")! % 3).toBe(0);
      expect(proxy.counts.get("UpdateItem")).toBeLessThanOrEqual(3 * running);

      const connection = await duckdb.connect();
      await attachEventStore(connection, { root, project: "shop" });
      const exposures = (
        await connection.runAndReadAll(
          `SELECT experiment_key, variant, unit_id, user_id, device_id, analysis_period, untrusted, source,
                  country, platform, user_properties, project FROM exposures ORDER BY untrusted`,
        )
      ).getRowObjectsJson();
      expect(exposures).toEqual([
        {
          experiment_key: "stored",
          variant: "treatment",
          unit_id: "s-device",
          user_id: "s-user",
          device_id: "s-device",
          analysis_period: 1,
          untrusted: false,
          source: "remote-evaluation",
          country: "DE",
          platform: "ios",
          user_properties: '{"country":"DE","platform":"ios","plan":"pro"}',
          project: "shop",
        },
        expect.objectContaining({ variant: "control", untrusted: true, country: null }),
      ]);
      const eventRows = (
        await connection.runAndReadAll("SELECT event_type, time FROM events ORDER BY time, event_type")
      ).getRowObjectsJson();
      expect(eventRows).toEqual([
        { event_type: "purchase", time: String(T0) },
        { event_type: "purchase", time: String(T0 + 1000) },
        { event_type: "search", time: String(T0 + 1000) },
        { event_type: "search", time: String(T0 + 9000) },
      ]);
      connection.closeSync();

      // Events no experiment counts cost the DynamoDB path nothing, and the store path never asks it.
      proxy.reset();
      const searches = delivery(
        events(...Array.from({ length: 500 }, (_, i) => ({ user_id: `q${i}`, event_type: "search" }))),
      );
      const unused = await ingest(searches, db, catalog, { ...quiet, eventStore });
      expect(unused.stored).toBe(500);
      expect(proxy.total()).toBe(0);
    } finally {
      duckdb.closeSync();
      await rm(root, { recursive: true, force: true });
    }
  });
});
