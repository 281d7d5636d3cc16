/**
 * The writer's rows, exactly: what a delivery's queue messages become in the Parquet files
 * (a golden digest taken from the writer before its columns went to DuckDB as texts), and any
 * values, however odd, read back as they were given.
 */
import { DuckDBInstance } from "@duckdb/node-api";
import fc from "fast-check";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runningExperiment } from "../../../test/support/control-plane-records.js";
import { parseDelivery, type DeliveredMessage } from "../ingest/work.js";
import { columnTexts } from "./column-text.js";
import { EVENT_COLUMNS, EXPOSURE_COLUMNS, type Column } from "./columns.js";
import { storeRows } from "./rows.js";
import { localSink } from "./sink.js";
import { createEventStoreWriter, createWriterDuckDB } from "./writer.js";

/** Values that a text encoding, SQL quoting or a C string could get wrong. */
const ODD = [
  "",
  "ü",
  "😀x",
  'q"uote',
  "it's",
  "back\\slash",
  "new\nline",
  "tab\t",
  "us\u001fsep",
  "rs\u001e",
  "\u001e",
];
const ODDER = [...ODD, "nul\u0000x", "lone\ud800", "\uffff", "a,b", "日本語"];
const T = Date.UTC(2026, 11, 1, 23, 59, 59, 500); // a delivery across midnight: two days

/** Queue messages with every kind of value, in two projects, exposures and events, some dropped. */
function oddDelivery(): DeliveredMessage[] {
  return ODDER.map((w, i) => ({
    id: `q-${i}-${w}`,
    body: {
      type: "batch",
      messages: [
        {
          type: "exposures",
          project: i % 3 ? "shop" : "sh op/ü",
          deployment: `dep${w}`,
          ...(i % 4 ? { userId: `u${w}` } : {}),
          ...(i % 2 ? { deviceId: `d${w}` } : {}),
          time: T - 1000 + i * 100,
          source: "remote-evaluation",
          ...(i % 5 ? { groups: { company: `c${w}` } } : {}),
          userProperties: i % 2 ? { country: w, platform: "web", os: i, app_version: true, extra: `x${w}` } : {},
          exposures: [
            {
              flagKey: "checkout",
              variant: i % 2 ? "treatment" : "control",
              allocation: `control=50,treatment=50${w}`,
            },
            { flagKey: "search", variant: "control", untrusted: true },
            { flagKey: "not-running", variant: "control" },
          ],
        },
        {
          type: "events",
          project: i % 3 ? "shop" : "sh op/ü",
          deployment: "web",
          events: [
            {
              user_id: `u${w}`,
              event_type: `pageview${w}`,
              time: T - 500 + i * 100,
              event_properties: { path: `/c${w}`, n: i, f: 1.5, nested: { a: [1, w, null] }, [`k${w}`]: w },
            },
            { device_id: `d${w}`, event_type: "purchase", time: T + i, event_properties: {}, insert_id: `ins${w}` },
            { user_id: `u${w}`, event_type: "purchase", time: T + i, event_properties: { amount: i % 97 } },
            { user_id: `u${w}`, event_type: "purchase", time: T + i, event_properties: { amount: i % 97 } },
            { user_id: `u${w}`, event_type: "purchase", time: T + i, groups: { company: [w] } },
          ],
        },
      ],
    },
  }));
}

let root: string;
let duckdb: DuckDBInstance;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "event-store-writer-"));
  duckdb = await createWriterDuckDB();
});
afterEach(async () => {
  duckdb.closeSync();
  await rm(root, { recursive: true, force: true });
});

/** Every Parquet file under the root: its key, Parquet schema, column chunks' encodings and statistics, and rows in file order. */
async function dump(): Promise<string> {
  const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith(".parquet")).sort();
  const connection = await duckdb.connect();
  try {
    const all = async (sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJson();
    const out = [];
    for (const file of files) {
      const path = `'${join(root, file).replaceAll("'", "''")}'`;
      out.push({
        file,
        schema: await all(`SELECT name, type, repetition_type, converted_type FROM parquet_schema(${path})`),
        chunks: await all(
          `SELECT row_group_id, row_group_num_rows, path_in_schema, type, compression, encodings,
             stats_min_value, stats_max_value, stats_null_count FROM parquet_metadata(${path})`,
        ),
        rows: await all(`SELECT * FROM read_parquet(${path})`),
      });
    }
    return JSON.stringify(out);
  } finally {
    connection.closeSync();
  }
}

describe("event store writer: the rows exactly", () => {
  it("writes a delivery of odd values as the writer always has: the same files, schema, statistics and rows", async () => {
    const messages = oddDelivery();
    const running = new Map(["checkout", "search"].map((key) => [key, runningExperiment(key)]));
    const { byProject } = parseDelivery(messages, () => {});
    const rows = [...byProject].map(([project, m]) => storeRows(project, m, running, T + 1000));
    const writer = createEventStoreWriter({ sink: localSink(root), duckdb });
    expect(
      await writer.append(
        messages.map((m) => m.id),
        rows,
      ),
    ).toEqual({ rows: 104, files: 7 });
    await writer.append(
      messages.slice(0, 3).map((m) => m.id),
      rows,
    ); // the same rows under a second name
    const text = await dump();
    // A few rows spelled out, so a failure says what changed.
    expect(text).toContain(
      '"id":"x|29A7IKmJobgqGU0PC6ky-BRG-wggefGr","deployment":"depq\\"uote","experiment_key":"checkout","analysis_period":1,"variant":"treatment","unit_id":"uq\\"uote","user_id":"uq\\"uote","device_id":"dq\\"uote","groups":"{\\"company\\":\\"cq\\\\\\"uote\\"}"',
    );
    expect(text).toContain('"user_id":"ulone\ufffd"'); // a lone surrogate becomes U+FFFD, as it always did
    expect(text).toContain('"device_id":"dnul\\u0000x"'); // NUL kept
    // The digest of all of it, taken from the appender-based writer (commit 13f0f88) on this delivery.
    expect(createHash("sha256").update(text).digest("hex")).toBe(
      "20213a24e29932010adce6194867f3088a3eacca57dbcc8a955cb7594afa085c",
    );
  });

  it("a project twice in one delivery still makes one file per partition", async () => {
    const writer = createEventStoreWriter({ sink: localSink(root), duckdb });
    const event = (id: string) => ({
      id,
      deployment: "web",
      event_type: "purchase",
      user_id: "u",
      device_id: null,
      groups: null,
      time: T,
      event_properties: null,
    });
    const result = await writer.append(
      ["m1"],
      [
        { project: "shop", exposures: [], events: [event("a")] },
        { project: "shop", exposures: [], events: [event("b")] },
      ],
    );
    expect(result).toEqual({ rows: 2, files: 1 });
    const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith(".parquet"));
    const read = await (await duckdb.connect()).runAndReadAll(`SELECT id FROM '${join(root, files[0]!)}' ORDER BY id`);
    expect(read.getRowObjectsJson()).toEqual([{ id: "a" }, { id: "b" }]);
  });

  it("reads back any values as given, columns constant or not, through the column texts", async () => {
    const connection = await DuckDBInstance.create(":memory:").then((db) => db.connect());
    const oddText = fc
      .array(fc.oneof(fc.constantFrom(...ODDER), fc.string({ unit: "binary", maxLength: 4 })), { maxLength: 3 })
      .map((parts) => parts.join(""));
    type Value = string | number | boolean | null;
    const anyValue = (column: Column): fc.Arbitrary<Value> => {
      const value: fc.Arbitrary<Value> =
        column.type === "VARCHAR"
          ? oddText
          : column.type === "BOOLEAN"
            ? fc.boolean()
            : column.type === "INTEGER"
              ? fc.integer()
              : fc.maxSafeInteger();
      return column.nullable ? fc.option(value, { nil: null }) : value;
    };
    // Each column either one value for all rows (written as a literal) or a value per row (split).
    const table = (columns: readonly Column[]) =>
      fc.integer({ min: 1, max: 12 }).chain((n) =>
        fc.tuple(
          ...columns.map((column) =>
            fc.oneof(
              anyValue(column).map((v) => Array.from({ length: n }, () => v)),
              fc.array(anyValue(column), { minLength: n, maxLength: n }),
            ),
          ),
        ),
      );
    const wellFormed = (v: unknown) => (typeof v === "string" ? v.replace(/\p{Surrogate}/gu, "\ufffd") : v);
    try {
      for (const columns of [EXPOSURE_COLUMNS, EVENT_COLUMNS]) {
        await fc.assert(
          fc.asyncProperty(table(columns), async (values) => {
            const rows = values[0]!.map((_, r) =>
              Object.fromEntries(columns.map((column, c) => [column.name, values[c]![r]])),
            );
            const { query, params } = columnTexts(columns, rows);
            const statement = await connection.prepare(query);
            for (const [i, param] of params.entries()) statement.bindVarchar(i + 1, param);
            const read = (await statement.runAndReadAll()).getRowObjects();
            statement.destroySync();
            const expected = rows.map((row) =>
              Object.fromEntries(
                columns.map((c) => [
                  c.name,
                  c.type === "BIGINT" ? BigInt(row[c.name] as number) : wellFormed(row[c.name]),
                ]),
              ),
            );
            expect(read).toEqual(expected);
          }),
          { numRuns: 50, seed: 21 },
        );
      }
    } finally {
      connection.closeSync();
    }
  });
});
