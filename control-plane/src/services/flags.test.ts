/**
 * The flag service's pure rules, without a store: the lifecycle table, the analysis periods an
 * action leaves, which write is a retry of one that landed, and how a history diff too large to
 * keep is cut down. The service's writes are tested against dynalite (writes.integration.test.ts).
 */
import { describe, expect, it } from "vitest";
import { FLAG_STATUSES, flagInputSchema, type Flag, type FlagStatus } from "../../../shared/authoring/schema.js";
import { ApiError } from "../../../shared/http/errors.js";
import {
  FLAG_ACTIONS,
  flagDiff,
  isReplay,
  keepDefaultMetricWindow,
  periodsAfter,
  transition,
  withDefaultMetricWindow,
  type FlagAction,
} from "./flags.js";

type FlagType = Flag["type"];
const AT = "2026-05-01T00:00:00.000Z";

function flag(type: FlagType, status: FlagStatus, extra: Partial<Flag> = {}): Flag {
  const input = flagInputSchema.parse({
    key: "f",
    name: "F",
    type,
    variants: [{ key: "control" }, { key: "treatment" }],
    ...(type === "experiment" ? { primaryMetric: { key: "buy", type: "unique_conversions", eventType: "buy" } } : {}),
  });
  return {
    ...input,
    status,
    version: 3,
    createdAt: AT,
    updatedAt: AT,
    lastChange: { actor: "ana", at: AT, action: "update" },
    ...extra,
  };
}

/** Where `action` leads from `status`, or the HTTP status of its refusal. */
function outcome(type: FlagType, status: FlagStatus, action: FlagAction, extra: Partial<Flag> = {}): string | number {
  try {
    return transition(flag(type, status, extra), action);
  } catch (error) {
    if (error instanceof ApiError) return error.status;
    throw error;
  }
}

describe("the lifecycle table", () => {
  // Rows: status; columns: FLAG_ACTIONS (start stop decide activate deactivate archive unarchive).
  // 400: the action does not apply to the flag's type; 409: not from this status.
  const experiments: Record<string, Array<string | number>> = {
    draft: ["running", 409, 409, 400, 409, "archived", 409],
    running: [409, "stopped", "decided", 400, "stopped", "archived", 409],
    stopped: ["running", 409, "decided", 400, 409, "archived", 409],
    decided: [409, 409, 409, 400, "stopped", "archived", 409],
    archived: [409, 409, 409, 400, 409, 409, "draft"],
  };
  const releases: Record<string, Array<string | number>> = {
    active: [400, 400, 400, 409, "inactive", "archived", 409],
    inactive: [400, 400, 400, "active", 409, "archived", 409],
    archived: [400, 400, 400, 409, 409, 409, "inactive"],
  };

  it.each([
    ["experiment", experiments],
    ["release", releases],
  ] as const)("%s flags move as the table says", (type, table) => {
    for (const [status, row] of Object.entries(table)) {
      const actual = FLAG_ACTIONS.map((action) => outcome(type, status as FlagStatus, action));
      expect(actual, status).toEqual(row);
    }
  });

  it("unarchives to the status before archiving", () => {
    expect(outcome("experiment", "archived", "unarchive", { statusBeforeArchive: "stopped" })).toBe("stopped");
    expect(outcome("release", "archived", "unarchive", { statusBeforeArchive: "active" })).toBe("active");
  });

  it("names every status in some row", () => {
    expect(new Set([...Object.keys(experiments), ...Object.keys(releases)])).toEqual(new Set(FLAG_STATUSES));
  });
});

describe("periodsAfter", () => {
  const open = { startedAt: "2026-04-01T00:00:00.000Z", settings: expect.any(Object) };

  it("opens a period on start, with the flag's analysis settings", () => {
    const draft = flag("experiment", "draft");
    const periods = periodsAfter(draft, "start", "running", AT);
    expect(periods).toEqual([
      { startedAt: AT, settings: expect.objectContaining({ primaryMetric: draft.primaryMetric }) },
    ]);
    const restarted = periodsAfter(
      flag("experiment", "stopped", { analysisPeriods: periods!.map((p) => ({ ...p, stoppedAt: AT })) }),
      "start",
      "running",
      "2026-05-02T00:00:00.000Z",
    );
    expect(restarted).toHaveLength(2);
    expect(restarted![1]!.startedAt).toBe("2026-05-02T00:00:00.000Z");
  });

  it("closes the open period when a running experiment stops serving, and only then", () => {
    const settings = periodsAfter(flag("experiment", "draft"), "start", "running", open.startedAt)![0]!.settings;
    const running = flag("experiment", "running", { analysisPeriods: [{ startedAt: open.startedAt, settings }] });
    for (const [action, status] of [
      ["stop", "stopped"],
      ["decide", "decided"],
      ["archive", "archived"],
    ] as const)
      expect(periodsAfter(running, action, status, AT), action).toEqual([{ ...open, stoppedAt: AT }]);
    // A closed period stays as it was; a flag that never started has none.
    const stopped = flag("experiment", "stopped", { analysisPeriods: [{ ...open, settings, stoppedAt: AT }] });
    expect(periodsAfter(stopped, "decide", "decided", "2026-06-01T00:00:00.000Z")).toBe(stopped.analysisPeriods);
    expect(periodsAfter(flag("release", "active"), "archive", "archived", AT)).toBeUndefined();
  });
});

describe("the default metric window", () => {
  it("is a week for a new experiment that names none, its own otherwise, and none for a release flag", () => {
    expect(withDefaultMetricWindow(flag("experiment", "draft")).defaultMetricWindow).toEqual({ endHours: 168 });
    const none = flag("experiment", "draft", { defaultMetricWindow: "none" });
    expect(withDefaultMetricWindow(none).defaultMetricWindow).toBe("none");
    expect(withDefaultMetricWindow(flag("release", "inactive")).defaultMetricWindow).toBeUndefined();
  });

  it("an edit that leaves it out keeps the stored one; a stored experiment without it stays without", () => {
    const stored = flag("experiment", "running", { defaultMetricWindow: { endHours: 72 } });
    expect(keepDefaultMetricWindow(flag("experiment", "running"), stored).defaultMetricWindow).toEqual({
      endHours: 72,
    });
    const edit = flag("experiment", "running", { defaultMetricWindow: "none" });
    expect(keepDefaultMetricWindow(edit, stored).defaultMetricWindow).toBe("none");
    const old = flag("experiment", "running");
    expect(keepDefaultMetricWindow(old, old).defaultMetricWindow).toBeUndefined();
  });
});

describe("isReplay", () => {
  const landed = flag("release", "active", { version: 4, lastChange: { actor: "ana", at: AT, action: "update" } });
  const input = flagInputSchema.parse(landed);

  it("is the same actor and action, at the version the write made, with the same content", () => {
    expect(isReplay(landed, input, "ana", "update", 4)).toBe(true);
  });

  it.each([
    ["another version", { version: 5 }],
    ["another actor", { actor: "ben" }],
    ["another action", { action: "restore" }],
    ["other content", { input: { ...input, name: "Renamed" } }],
  ])("is not with %s", (_, change: { version?: number; actor?: string; action?: string; input?: typeof input }) => {
    expect(
      isReplay(landed, change.input ?? input, change.actor ?? "ana", change.action ?? "update", change.version ?? 4),
    ).toBe(false);
  });
});

describe("flagDiff", () => {
  const before = flag("release", "active");

  it("lists the changed fields and their values, without bookkeeping", () => {
    const after = { ...before, name: "G", version: 4, updatedAt: "2026-06-01T00:00:00.000Z" };
    expect(flagDiff(before, after)).toEqual([{ type: "CHANGE", path: ["name"], value: "G", oldValue: "F" }]);
    expect(flagDiff(undefined, after)).toEqual([]);
  });

  it("names only the top-level fields when the diff would exceed 128 KiB", () => {
    const ids = Array.from({ length: 12_000 }, (_, i) => `user-${i}`);
    const after = { ...before, name: "G", inclusions: { treatment: { userIds: ids, deviceIds: [] } } };
    expect(flagDiff(before, after)).toEqual([
      { type: "CHANGE", path: ["name"] },
      { type: "CHANGE", path: ["inclusions"] },
    ]);
    // Just under the limit, the values are kept.
    const fewer = { ...before, inclusions: { treatment: { userIds: ids.slice(0, 100), deviceIds: [] } } };
    expect(flagDiff(before, fewer)).toHaveLength(1);
    expect(JSON.stringify(flagDiff(before, fewer))).toContain("user-99");
  });
});
