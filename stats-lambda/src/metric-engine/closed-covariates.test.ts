/**
 * CUPED over a window's closed units (closed-window.ts): `K:closed:pre` and
 * `K:closed:pre:cross` on the closing day, from each unit's history before its first exposure
 * and its value within the window, on DuckDB against sums worked out by hand.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import { beforeAll, describe, expect, test } from "vitest";
import type { AggregateRow } from "../store.js";
import { runMetricQuery } from "./run.js";
import { createTable } from "./tables.js";
import { connect, DAY, event, exposure, HOUR, metric, query, T0 } from "./test-kit.test-support.js";

const window = { endHours: 48 };
const metrics = [
  metric({ key: "t", type: "event_totals", eventType: "buy", window }),
  metric({ key: "c", type: "unique_conversions", eventType: "buy", window }),
];
const S = 10_000n; // VALUE_SCALE

let db: DuckDBConnection;
beforeAll(async () => {
  db = await connect();
  const store = (row: object) => ({ deployment: "d", source: "client", ...row });
  const exposures = [
    exposure("u1", "control", T0 + HOUR), // window ends T0 + 49 h: closes on 03-04
    exposure("u2", "treatment", T0 + 2 * HOUR), // no history
    exposure("u3", "treatment", T0 + 3 * HOUR),
  ];
  const events = [
    event("u1", "buy", T0 - 12 * HOUR), // history: 2 before exposure
    event("u1", "buy", T0 - 11 * HOUR),
    event("u1", "buy", T0 + 2 * HOUR), // in the window: 2
    event("u1", "buy", T0 + DAY),
    event("u1", "buy", T0 + 50 * HOUR), // after the window
    event("u2", "buy", T0 + 5 * HOUR),
    event("u3", "buy", T0 - 2 * HOUR), // history: 1
    event("u3", "buy", T0 + 4 * HOUR), // in the window: 3
    event("u3", "buy", T0 + 5 * HOUR),
    event("u3", "buy", T0 + 6 * HOUR),
    event("u2", "buy", T0 + 3 * DAY), // after u2's window: the data's horizon, every window closed
  ];
  await createTable(db, "exposures", exposures.map(store));
  await createTable(db, "events", events.map(store));
});

const on = (rows: readonly AggregateRow[], variant: string, series: string) =>
  rows.filter((r) => r.variant === variant && r.metric === series).map((r) => [r.day, r.n, r.sum, r.sumSquares]);

describe("CUPED's covariate over closed windows", () => {
  test("each closed unit's history and its window value, on the closing day", async () => {
    const rows = await runMetricQuery(db, query(metrics, { covariates: true }));
    expect(on(rows, "control", "t:closed:pre")).toEqual([["2026-03-04", 1, 2n * S, 4n * S * S]]);
    expect(on(rows, "control", "t:closed:pre:cross")).toEqual([["2026-03-04", 0, 2n * S * 2n * S, 0n]]); // x 2 · y 2
    expect(on(rows, "treatment", "t:closed:pre")).toEqual([["2026-03-04", 1, S, S * S]]); // u3 only: u2 has none
    expect(on(rows, "treatment", "t:closed:pre:cross")).toEqual([["2026-03-04", 0, 3n * S * S, 0n]]); // x 1 · y 3
    expect(on(rows, "control", "c:closed:pre:cross")).toEqual([["2026-03-04", 0, S * S, 0n]]);
    expect(on(rows, "treatment", "c:closed:pre:cross")).toEqual([["2026-03-04", 0, S * S, 0n]]);
  });

  test("none without covariates", async () => {
    const rows = await runMetricQuery(db, query(metrics));
    expect(rows.some((r) => r.metric.includes(":closed:pre"))).toBe(false);
    expect(rows.some((r) => r.metric === "t:closed")).toBe(true);
  });
});
