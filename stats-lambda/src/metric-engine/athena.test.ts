/**
 * The Athena (Trino) rendering: every metric type's SQL parses under the Trino grammar
 * (dt-sql-parser), and it is the DuckDB rendering wherever the dialects agree.
 *
 * The two renderings differ only in reading JSON members (dialect.ts): DuckDB has no
 * `json_parse` or `json_extract_scalar`, and its `element_at` on a map returns a list, so
 * Athena's JSON reads cannot run on DuckDB. A query that reads no JSON (user or device
 * bucketing, metrics without properties or filters) renders to the same text in both (but
 * DuckDB's `AS MATERIALIZED` hint, dialect.ts), and
 * that text runs here on DuckDB and gives the reference's rows.
 */
import { TrinoSQL } from "dt-sql-parser";
import { expect, test } from "vitest";
import { FILTER_OPERATORS, type FilterOperator } from "../../../shared/metrics/definition.js";
import { compileMetricQuery } from "./compile.js";
import { athena, duckdb } from "./dialect.js";
import { referenceAggregates } from "./reference.test-support.js";
import { runSql } from "./run.js";
import { canonical, connect, DAY, event, exposure, HOUR, metric, query, T0 } from "./test-kit.test-support.js";
import { createTable } from "./tables.js";

const filtered = [
  { property: "a'b\"c", op: "in", value: ["x'", 'y"', 3, true] },
  { property: "plan", op: "contains", value: "PRO" },
  { property: "n", op: ">=", value: 2.5 },
  { property: "country", scope: "user", op: "!=", value: "DE" },
  { property: "tier", scope: "user", op: "is_set" },
];
const everyType = [
  { key: "conv", type: "unique_conversions", eventType: "buy", filters: filtered },
  { key: "totals", type: "event_totals", eventType: "buy", capValue: 20, window: { startHours: 1, endHours: 48 } },
  { key: "sum", type: "property_sum", eventType: "buy", property: "price" },
  { key: "avg", type: "property_average", eventType: "buy", property: "a'b\"c" },
  {
    key: "ratio",
    type: "ratio",
    numerator: { eventType: "buy", property: "price" },
    denominator: { eventType: "session", filters: [{ property: "n", op: "not_in", value: [1, 2] }] },
  },
  { key: "funnel", type: "funnel", steps: [{ eventType: "view" }, { eventType: "cart" }, { eventType: "buy" }] },
  { key: "retention", type: "retention", eventType: "open", day: 7, mode: "within" },
].map(metric);

test.each([
  ["user bucketing, running", query(everyType)],
  [
    "group bucketing, stopped",
    query(everyType, { bucketing: { unit: "group", groupType: `company"s` }, until: T0 + 30 * DAY }),
  ],
])("every metric type's Athena SQL parses as Trino (%s)", (_, q) => {
  const sql = compileMetricQuery(q, athena);
  const parser = new TrinoSQL();
  expect(parser.validate(sql)).toEqual([]);
  // The grammar does refuse what Trino cannot parse (a syntax check: it knows no function names).
  expect(parser.validate(sql.replace("GROUP BY day_no, variant, metric", "GROUP day_no"))).not.toEqual([]);
});

test("every filter operator, on event properties, user columns and configured user properties, parses as Trino", () => {
  const valueFor = (op: FilterOperator) =>
    op === "in" || op === "not_in"
      ? ["a'", 2]
      : op === "is_set"
        ? undefined
        : op.includes("<") || op.includes(">")
          ? 3
          : "x";
  const targets = [
    { scope: "event", property: `it's "n"` },
    { scope: "user", property: "country" }, // a column of the store
    { scope: "user", property: "plan" }, // in the exposure's user_properties JSON
  ];
  const metrics = FILTER_OPERATORS.flatMap((op, i) =>
    targets.map((target, j) =>
      metric({
        key: `m${i}-${j}`,
        type: "unique_conversions",
        eventType: "buy",
        filters: [{ ...target, op, ...(valueFor(op) === undefined ? {} : { value: valueFor(op) }) }],
      }),
    ),
  );
  const sql = compileMetricQuery(query(metrics), athena);
  for (const op of ["<=", ">=", "<", ">"]) expect(sql).toContain(` ${op} CAST('3' AS DOUBLE)`);
  expect(new TrinoSQL().validate(sql)).toEqual([]);
});

test("where the dialects agree the SQL is the same, and the Athena text runs on DuckDB", async () => {
  const plain = [
    metric({ key: "conv", type: "unique_conversions", eventType: "buy" }),
    metric({ key: "totals", type: "event_totals", eventType: "buy", window: { endHours: 24 } }),
    metric({ key: "ratio", type: "ratio", numerator: { eventType: "buy" }, denominator: { eventType: "view" } }),
    metric({ key: "funnel", type: "funnel", steps: [{ eventType: "view" }, { eventType: "buy" }] }),
    metric({ key: "ret", type: "retention", eventType: "view", day: 1 }),
  ];
  const q = query(plain, { bucketing: { unit: "device_id" } });
  const sql = compileMetricQuery(q, athena);
  // The same text but DuckDB's materialization hint and its name for "the value at the least key".
  expect(sql).toBe(
    compileMetricQuery(q, duckdb)
      .replaceAll("AS MATERIALIZED", "AS")
      .replaceAll(/arg_min_null\(([^()]+), \(([^()]+)\)\)/g, "min_by($1, ROW($2))")
      .replaceAll('hash("id") AS event_id', '"id" AS event_id'),
  );
  const exposures = [
    exposure("d1", "control", T0, { device_id: "d1" }),
    exposure("d2", "treatment", T0, { device_id: "d2" }),
  ];
  const events = [
    event(undefined, "view", T0 + HOUR, undefined, { device_id: "d1" }),
    event(undefined, "buy", T0 + 2 * HOUR, undefined, { device_id: "d1" }),
    event(undefined, "view", T0 + 25 * HOUR, undefined, { device_id: "d2" }),
  ];
  const db = await connect();
  const store = { deployment: "d", source: "client" };
  await createTable(
    db,
    "exposures",
    exposures.map((x) => ({ ...store, ...x })),
  );
  await createTable(
    db,
    "events",
    events.map((e) => ({ ...store, ...e })),
  );
  expect(canonical(await runSql(db, sql))).toEqual(canonical(referenceAggregates(q, exposures, events)));
});
