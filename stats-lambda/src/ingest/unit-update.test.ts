/** The per-unit rules of ingest, as a table: pure, no DynamoDB. */
import { describe, expect, it } from "vitest";
import type { LegacyMetric as Metric } from "../../../shared/authoring/schema.js";
import { cellsOf } from "./runs.js";
import {
  cellOf,
  contributionsOf,
  decodeDelta,
  encodeDelta,
  parseCell,
  seriesCell,
  updateUnit,
  type EntryStatus,
  type PendingEntry,
  type UnitItem,
  type UnitUpdateInput,
} from "./unit-update.js";

const T = Date.UTC(2026, 10, 20, 12);
const DAY = "2026-11-20";
const totals: Metric = { key: "views", type: "event_totals", eventType: "view" };
const view = (id: string, message = "m1") => ({
  id,
  time: T + 1000,
  message,
  amounts: [[totals, 10_000]] as Array<[Metric, number]>,
});
const entry = (run: string, ev: string[] = []): PendingEntry => ({
  run,
  at: T,
  d: { [`${DAY}|views`]: [0, "10000", "100000000"] },
  ev,
});
const unit = (pending: PendingEntry[]): UnitItem => ({
  variant: "control",
  firstExposure: T,
  version: 3,
  metrics: { views: [10_000, 1, 10_000] },
  pending,
});
const input = (over: Partial<UnitUpdateInput>): UnitUpdateInput => ({
  current: undefined,
  exposures: [],
  events: [],
  seenEvents: new Set(),
  status: () => ({ kind: "settled" }),
  run: "me",
  now: T,
  ...over,
});
const dead = (days: string[]): EntryStatus => ({
  kind: "dead",
  unappliedCells: new Set(days.map((day) => `${day}|views`)),
});
type Expected = {
  exposures?: number;
  events?: number;
  duplicates: number;
  defer?: string[];
  written: boolean;
  adopted?: string;
};

describe("updateUnit", () => {
  it.each<[string, UnitUpdateInput, Expected]>([
    [
      "a first exposure creates the unit and counts once",
      input({
        exposures: [
          { variant: "treatment", time: T, message: "x" },
          { variant: "treatment", time: T + 5, message: "y" },
        ],
      }),
      { exposures: 1, duplicates: 1, written: true },
    ],
    [
      "an event before any exposure counts for nothing",
      input({ events: [view("e1")] }),
      { events: 0, duplicates: 0, written: false },
    ],
    [
      "a settled marker makes an event a duplicate",
      input({ current: unit([]), events: [view("e1")], seenEvents: new Set(["e1"]) }),
      { events: 0, duplicates: 1, written: false },
    ],
    [
      "an event a running run applied is a duplicate, handed back",
      input({ current: unit([entry("other", ["e1"])]), events: [view("e1")], status: () => ({ kind: "running" }) }),
      { events: 0, duplicates: 1, defer: ["m1"], written: false },
    ],
    [
      "a dead run's unapplied day is adopted, its events kept as applied",
      input({ current: unit([entry("gone", ["e1"])]), events: [view("e1")], status: () => dead([DAY]) }),
      { events: 0, duplicates: 1, written: true, adopted: "10000" },
    ],
    [
      "a dead run whose add landed is only dropped",
      input({ current: unit([entry("gone", ["e1"])]), events: [view("e2")], status: () => dead([]) }),
      { events: 1, duplicates: 0, written: true, adopted: "10000" },
    ],
  ])("%s", (_, given, expected) => {
    const update = updateUnit(given);
    expect(update.exposures).toBe(expected.exposures ?? 0);
    expect(update.events).toBe(expected.events ?? 0);
    expect(update.duplicates).toBe(expected.duplicates);
    expect([...update.defer]).toEqual(expected.defer ?? []);
    expect(update.next !== undefined).toBe(expected.written);
    // The contribution to views: what was adopted, or this run's own (a second view: 20000 − 10000).
    if (expected.adopted) expect(update.own?.d[`${DAY}|views`]?.[1]).toBe(expected.adopted);
  });

  it("keeps a running run's entry and drops a settled one when it writes", () => {
    const status = (e: PendingEntry): EntryStatus => ({ kind: e.run === "busy" ? "running" : "settled" });
    const update = updateUnit(input({ current: unit([entry("busy"), entry("done")]), events: [view("e9")], status }));
    expect(update.next?.pending.map((e) => e.run)).toEqual(["busy", "me"]);
    expect(update.next?.version).toBe(4);
  });
});

describe("cell keys and stored deltas", () => {
  it("parses what cellOf and seriesCell build; a histogram bucket's cell is its metric's", () => {
    expect(parseCell(seriesCell(DAY, "views"))).toEqual({ day: DAY, metric: "views" });
    expect(parseCell(seriesCell(DAY, "$alloc:control=50,treatment=50"))).toEqual({
      day: DAY,
      metric: "$alloc:control=50,treatment=50",
    });
    const bucket = "latency~3"; // `~`: BUCKET_SEPARATOR, what baseMetric strips
    expect(cellOf(DAY, bucket)).toBe(cellOf(DAY, "latency"));
    expect(parseCell(cellOf(DAY, bucket))).toEqual({ day: DAY, metric: "latency" });
  });

  it("round-trips a delta exactly, beyond 2^53", () => {
    const delta = { n: 3, sum: 2n ** 60n + 1n, sumSquares: 2n ** 100n };
    expect(encodeDelta(delta)).toEqual([3, "1152921504606846977", "1267650600228229401496703205376"]);
    expect(decodeDelta(encodeDelta(delta))).toEqual(delta);
  });

  it("names an entry's contributions, and its cells once per metric", () => {
    const stored: PendingEntry = {
      run: "r",
      at: T,
      d: {
        [`${DAY}|latency~1`]: [1, "5", "25"],
        [`${DAY}|latency~2`]: [1, "7", "49"],
        [`${DAY}|views`]: [0, "1", "1"],
      },
      ev: [],
    };
    expect(contributionsOf(stored)[0]).toEqual({
      day: DAY,
      series: "latency~1",
      delta: { n: 1, sum: 5n, sumSquares: 25n },
    });
    expect(cellsOf(stored)).toEqual([
      { day: DAY, metric: "latency" },
      { day: DAY, metric: "views" },
    ]);
  });
});
