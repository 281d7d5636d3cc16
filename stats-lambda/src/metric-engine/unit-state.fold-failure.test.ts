/**
 * A fold that fails half-way (unit-state.ts `fold`) leaves the state as it was: the next
 * report folds again and equals the full scan. Each delivery touches old units (their rows
 * read from the files before) and a new one whose event came before its exposure; the fold is
 * made to fail at each of its steps in turn: reading the dirty units' rows, the parts' queries,
 * a part's totals replaced and the parts' file lists written (both inside its one transaction).
 */
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { eventRow, exposureRow } from "../event-store/rows.test-support.js";
import { localSink } from "../event-store/sink.js";
import { createEventStoreWriter } from "../event-store/writer.js";
import { compileMetricQuery } from "./compile.js";
import { duckdb as dialect } from "./dialect.js";
import { runSql } from "./run.js";
import { HOUR, metric, query, T0 } from "./test-kit.test-support.js";
import { attachUnitState, createUnitState } from "./unit-state.js";
import { attachViews, storeFiles } from "./views.js";

let duckdb: DuckDBInstance;
let connection: DuckDBConnection;
beforeAll(async () => {
  duckdb = await DuckDBInstance.create(":memory:");
  connection = await duckdb.connect();
  await attachUnitState(connection);
});
afterAll(() => {
  connection.closeSync();
  duckdb.closeSync();
});

const METRICS = [
  { key: "buy", type: "unique_conversions", eventType: "b" },
  { key: "views", type: "event_totals", eventType: "a", window: { startHours: 0, endHours: 30 } },
  { key: "fun", type: "funnel", steps: [{ eventType: "a" }, { eventType: "b" }] },
].map(metric);

const exposure = (unit: string, variant: string, time: number, i: number) =>
  exposureRow({
    id: `x${i}`,
    deployment: "d",
    variant,
    unit_id: unit,
    allocation: "control=50,treatment=50",
    source: "client",
    time,
  });
const event = (unit: string, type: string, time: number, i: number) =>
  eventRow({ id: `e${i}`, deployment: "d", event_type: type, user_id: unit, time });

/** The connection, with the first statement matching `failing` throwing instead of running. */
function failingOnce(failing: RegExp): DuckDBConnection {
  let failed = false;
  return new Proxy(connection, {
    get(target, property) {
      if (property === "run")
        return (sql: string) => {
          if (!failed && failing.test(sql)) {
            failed = true;
            return Promise.reject(new Error(`the fold dies at ${failing}`));
          }
          return target.run(sql);
        };
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

test("a fold that fails at any write leaves the state as it was", async () => {
  const root = await mkdtemp(join(tmpdir(), "fold-failure-"));
  try {
    const writer = createEventStoreWriter({ sink: localSink(root), duckdb });
    const state = createUnitState();
    const q = query(METRICS, { from: T0 - 12 * HOUR, covariates: true, epochs: true });
    const report = async (on: DuckDBConnection) => {
      const files = storeFiles(root);
      await attachViews(connection, files);
      return state.aggregates(on, q, files);
    };
    const scan = async () => runSql(connection, compileMetricQuery(q, dialect));
    await writer.append(
      ["m0"],
      [
        {
          project: "p",
          exposures: [exposure("u0", "control", T0, 0), exposure("u1", "treatment", T0 + HOUR, 1)],
          events: [event("u0", "a", T0 + 2 * HOUR, 2), event("u1", "b", T0 + 3 * HOUR, 3)],
        },
      ],
    );
    expect(await report(connection)).toEqual(await scan());
    const built = state.stats.builds;
    const failures = [
      /^CREATE OR REPLACE TEMP TABLE fold_events /,
      /^INSERT INTO folded /,
      /^CREATE OR REPLACE TABLE unit_state\."part_/,
      /^INSERT OR REPLACE INTO unit_state\.parts_v2 /,
    ];
    for (const [i, failing] of failures.entries()) {
      const at = T0 + (4 + i) * HOUR;
      await writer.append(
        [`m${i + 1}`],
        [
          {
            project: "p",
            // Old units' later events, a new unit whose event came before its exposure.
            exposures: [exposure(`n${i}`, "control", at + 30 * 60_000, 10 * i + 10)],
            events: [
              event("u0", "b", at, 10 * i + 11),
              event("u1", "a", at, 10 * i + 12),
              event(`n${i}`, "a", at, 10 * i + 13),
              event(`n${i}`, "b", at + HOUR, 10 * i + 14),
            ],
          },
        ],
      );
      const folds = state.stats.folds;
      await expect(report(failingOnce(failing))).rejects.toThrow("the fold dies");
      expect(await report(connection)).toEqual(await scan());
      expect(state.stats.folds).toBeGreaterThan(folds);
    }
    // Every later report folded: a failed fold never turns into a rebuild.
    expect(state.stats.builds).toBe(built);
    expect(state.stats.fallbacks).toBe(0);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
