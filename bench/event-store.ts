/**
 * The event store's write side on this machine: rows/s one stats instance appends (from the
 * delivery's queue messages: parse, rows with their ids, DuckDB, Parquet, rename), alone and
 * with deliveries in parallel, and how long a delivery takes to become visible to a reader.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Flag } from "../shared/authoring/schema.js";
import { runningExperiment } from "../test/support/control-plane-records.js";
import { attachEventStore } from "../stats-lambda/src/event-store/reader.js";
import { storeRows } from "../stats-lambda/src/event-store/rows.js";
import { localSink } from "../stats-lambda/src/event-store/sink.js";
import {
  createEventStoreWriter,
  createWriterDuckDB,
  type EventStoreWriter,
} from "../stats-lambda/src/event-store/writer.js";
import { parseDelivery, type DeliveredMessage } from "../stats-lambda/src/ingest/work.js";
import { percentile, round } from "./percentiles.js";

export interface EventStoreResult {
  /** rowsPerCpuSecond: rows per second of CPU this process used (all its threads), which a shared machine's load does not shrink. */
  throughput: Array<{
    parallel: number;
    deliveries: number;
    rowsPerDelivery: number;
    rowsPerSecond: number;
    rowsPerCpuSecond: number;
  }>;
  visibility: { deliveries: number; rowsPerDelivery: number; p50Ms: number; p99Ms: number };
  rowsRead: number;
}

const EXPERIMENTS = ["checkout", "search", "pricing", "onboarding", "banner"];

/** A delivery as the edge sends it: batches of exposures to 5 experiments, and events with properties. */
function delivery(seq: number, users: number, now: number): DeliveredMessage[] {
  const messages: DeliveredMessage[] = [];
  for (let i = 0; i < users; i += 50) {
    const batch = Array.from({ length: Math.min(50, users - i) }, (_, j) => {
      const user = `u${seq}-${i + j}`;
      return [
        {
          type: "exposures",
          project: "shop",
          deployment: "web",
          userId: user,
          time: now - 1000,
          source: "remote-evaluation",
          userProperties: { country: "DE", platform: "web" },
          exposures: EXPERIMENTS.map((flagKey, k) => ({
            flagKey,
            variant: (i + j + k) % 2 ? "treatment" : "control",
            allocation: "control=50,treatment=50",
          })),
        },
        {
          type: "events",
          project: "shop",
          deployment: "web",
          events: [
            { user_id: user, event_type: "pageview", time: now - 500, event_properties: { path: "/cart" } },
            { user_id: user, event_type: "purchase", time: now, event_properties: { amount: (i + j) % 97 } },
          ],
        },
      ];
    }).flat();
    messages.push({ id: `q${seq}-${i}`, body: { type: "batch", messages: batch } });
  }
  return messages;
}

async function append(writer: EventStoreWriter, messages: DeliveredMessage[], running: Map<string, Flag>, now: number) {
  const { byProject } = parseDelivery(messages, () => {});
  const rows = [...byProject].map(([project, m]) => storeRows(project, m, running, now));
  return writer.append(
    messages.map((m) => m.id),
    rows,
  );
}

export async function benchEventStore(): Promise<EventStoreResult> {
  const root = await mkdtemp(join(tmpdir(), "bench-event-store-"));
  const duckdb = await createWriterDuckDB();
  try {
    const writer = createEventStoreWriter({ sink: localSink(root), duckdb });
    const running = new Map(EXPERIMENTS.map((key) => [key, runningExperiment(key)]));
    const now = Date.now();
    let seq = 0;
    // 1,000 users a delivery: 5,000 exposures + 2,000 events = 7,000 rows (about 1 MiB of messages).
    const users = 1000;
    const rowsPerDelivery = users * (EXPERIMENTS.length + 2);
    for (let i = 0; i < 3; i++) await append(writer, delivery(seq++, users, now), running, now); // warm-up
    const throughput: EventStoreResult["throughput"] = [];
    for (const parallel of [1, 2, 4]) {
      const deliveries = 24;
      const batches = Array.from({ length: deliveries }, () => delivery(seq++, users, now));
      const started = performance.now();
      const cpu = process.cpuUsage();
      let next = 0;
      await Promise.all(
        Array.from({ length: parallel }, async () => {
          while (next < batches.length) await append(writer, batches[next++]!, running, now);
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      const cpuSeconds = (used.user + used.system) / 1e6;
      throughput.push({
        parallel,
        deliveries,
        rowsPerDelivery,
        rowsPerSecond: Math.round((deliveries * rowsPerDelivery) / seconds),
        rowsPerCpuSecond: Math.round((deliveries * rowsPerDelivery) / cpuSeconds),
      });
    }

    // Visibility: a small delivery (20 users, 140 rows) is read by a query as soon as append resolves.
    const connection = await duckdb.connect();
    await attachEventStore(connection, { root, project: "shop" });
    const count = async () =>
      Number((await connection.runAndReadAll("SELECT count(*) AS n FROM events")).getRowObjectsJson()[0]!["n"]);
    let before = await count();
    const latencies: number[] = [];
    for (let i = 0; i < 50; i++) {
      const messages = delivery(seq++, 20, now);
      const started = performance.now();
      await append(writer, messages, running, now);
      latencies.push(performance.now() - started);
      const after = await count();
      if (after !== before + 40) throw new Error(`Delivery ${i} not visible: ${after - before} of 40 events`);
      before = after;
    }
    latencies.sort((a, b) => a - b);
    const rowsRead = before;
    connection.closeSync();
    return {
      throughput,
      visibility: {
        deliveries: 50,
        rowsPerDelivery: 140,
        p50Ms: round(percentile(latencies, 50), 1),
        p99Ms: round(percentile(latencies, 99), 1),
      },
      rowsRead,
    };
  } finally {
    duckdb.closeSync();
    await rm(root, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await benchEventStore();
  console.table(result.throughput);
  console.table(result.visibility);
}
