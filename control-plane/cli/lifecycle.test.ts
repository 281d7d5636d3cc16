import { describe, expect, it } from "vitest";
import { type LifecycleState, nextLifecycleAction } from "./lifecycle.js";

/** Follows next actions as the control plane would move the flag, and returns the actions taken. */
function walk(state: LifecycleState, target: { status: LifecycleState["status"]; decidedVariant?: string }) {
  const taken: string[] = [];
  const to: Record<string, LifecycleState["status"]> = {
    start: "running",
    stop: "stopped",
    decide: "decided",
    activate: "active",
    archive: "archived",
  };
  let current = { ...state };
  for (let i = 0; i < 6; i++) {
    const next = nextLifecycleAction(current, target);
    if (!next.action) return next.reachable ? taken : [...taken, "unreachable"];
    taken.push(next.action);
    const status =
      next.action === "deactivate"
        ? current.type === "experiment"
          ? "stopped"
          : "inactive"
        : next.action === "unarchive"
          ? (current.statusBeforeArchive ?? (current.type === "experiment" ? "draft" : "inactive"))
          : to[next.action]!;
    current = {
      ...current,
      status,
      decidedVariant: next.action === "decide" ? target.decidedVariant : current.decidedVariant,
      statusBeforeArchive: next.action === "archive" ? current.status : current.statusBeforeArchive,
    };
  }
  return [...taken, "loop"];
}

describe("nextLifecycleAction", () => {
  it.each([
    ["release", "inactive", "active", ["activate"]],
    ["release", "active", "archived", ["archive"]],
    ["release", "archived", "active", ["unarchive", "activate"]],
    ["experiment", "draft", "running", ["start"]],
    ["experiment", "draft", "stopped", ["start", "stop"]],
    ["experiment", "draft", "decided", ["start", "decide"]],
    ["experiment", "decided", "running", ["deactivate", "start"]],
    ["experiment", "running", "draft", ["unreachable"]],
    ["experiment", "stopped", "stopped", []],
  ] as const)("%s: %s → %s by %j", (type, status, target, actions) => {
    expect(walk({ type, status }, { status: target, decidedVariant: "treatment" })).toEqual(actions);
  });

  it("re-decides a decided experiment that ships another variant: deactivate, then decide", () => {
    expect(
      walk(
        { type: "experiment", status: "decided", decidedVariant: "control" },
        { status: "decided", decidedVariant: "treatment" },
      ),
    ).toEqual(["deactivate", "decide"]);
  });

  it("unarchives to the status before archiving", () => {
    expect(
      walk({ type: "experiment", status: "archived", statusBeforeArchive: "running" }, { status: "running" }),
    ).toEqual(["unarchive"]);
  });
});
