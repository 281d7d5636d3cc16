/** The audit log's filters and order, on entries made up here (the route is exercised in test/e2e/console-guided.test.ts). */
import { describe, expect, it } from "vitest";
import { auditPage, boundInstant, isValidBound, type AuditEntry } from "./audit.js";

const entry = (extra: Partial<AuditEntry>): AuditEntry => ({
  resource: "flag",
  key: "checkout",
  name: "Checkout",
  version: 1,
  action: "create",
  actor: "ana",
  at: "2026-12-01T10:00:00.000Z",
  diff: [],
  ...extra,
});

const LOG = [
  entry({}),
  entry({
    version: 2,
    action: "update",
    at: "2026-12-01T11:00:00.000Z",
    diff: [{ type: "CHANGE", path: ["rollout"], value: 50, oldValue: 25 }],
  }),
  entry({ version: 3, action: "start", actor: "Ben", at: "2026-12-02T08:00:00.000Z" }),
  entry({
    resource: "metric",
    key: "revenue",
    name: "Revenue",
    action: "create",
    actor: "ben",
    at: "2026-11-30T23:59:59.999Z",
  }),
];

const versions = (entries: AuditEntry[]) => entries.map((e) => `${e.key}@${e.version}`);

describe("the audit log", () => {
  it("lists every change newest first, with what the filters can choose from", () => {
    const page = auditPage(LOG);
    expect(versions(page.entries)).toEqual(["checkout@3", "checkout@2", "checkout@1", "revenue@1"]);
    expect(page).toMatchObject({ total: 4, actors: ["ana", "ben", "Ben"], actions: ["create", "start", "update"] });
    expect(page.keys).toEqual(["checkout", "revenue"]);
  });

  it.each([
    [{ actor: "ben" }, ["checkout@3", "revenue@1"]], // who: any case
    [{ key: "revenue" }, ["revenue@1"]],
    [{ resource: "metric" as const }, ["revenue@1"]],
    [{ action: "update" }, ["checkout@2"]],
    [{ from: "2026-12-01", to: "2026-12-01" }, ["checkout@2", "checkout@1"]], // a date: the whole day
    [{ to: "2026-11-30" }, ["revenue@1"]], // its last millisecond is in
    [{ from: "2026-12-01T10:30:00Z" }, ["checkout@3", "checkout@2"]],
    [{ from: "2026-12-02", to: "2026-12-01" }, []],
    [{ q: "ROLLOUT" }, ["checkout@2"]], // a changed field's name
    [{ q: "25" }, ["checkout@2"]], // its old value
    [{ q: "reven" }, ["revenue@1"]],
    [{ actor: "ana", action: "create" }, ["checkout@1"]], // filters combine
  ])("filters by %o", (filter, expected) => {
    expect(versions(auditPage(LOG, filter).entries)).toEqual(expected);
  });

  it("cuts the page to the limit but counts every match", () => {
    const page = auditPage(LOG, { limit: 2 });
    expect(versions(page.entries)).toEqual(["checkout@3", "checkout@2"]);
    expect(page.total).toBe(4);
  });

  it("reads dates and times as bounds, and refuses what is neither", () => {
    expect(boundInstant("2026-12-01", "to")).toBe("2026-12-02T00:00:00.000Z");
    expect(boundInstant("2026-12-01T10:00:00Z", "to")).toBe("2026-12-01T10:00:00.001Z");
    expect(isValidBound("2026-12-01")).toBe(true);
    expect(isValidBound("yesterday")).toBe(false);
    expect(isValidBound("2026-13-45")).toBe(false);
  });
});
