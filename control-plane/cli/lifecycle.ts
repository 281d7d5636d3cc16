/**
 * The lifecycle action that moves a flag one step towards the status its file asks for, following the control
 * plane's rules (services/flags.ts: which action applies in which status, and where it leads). A status that
 * cannot be reached (back to `draft`) has no next action: apply reports it.
 */
import type { FlagStatus } from "../../shared/authoring/schema.js";

export type LifecycleAction = "start" | "stop" | "decide" | "activate" | "deactivate" | "archive" | "unarchive";

export interface LifecycleState {
  type: "release" | "experiment";
  status: FlagStatus;
  decidedVariant?: string | undefined;
  statusBeforeArchive?: FlagStatus | undefined;
}

type Edge = { action: LifecycleAction; to: FlagStatus };

/** From `status`; unarchiving leads back to where archiving came from, so only the flag's own archive has it. */
function edges(state: LifecycleState, status: FlagStatus): Edge[] {
  const experiment = state.type === "experiment";
  const out: Edge[] = [];
  if (status === "archived") {
    if (state.status === "archived")
      out.push({ action: "unarchive", to: state.statusBeforeArchive ?? (experiment ? "draft" : "inactive") });
    return out;
  }
  if (experiment) {
    if (status === "draft" || status === "stopped") out.push({ action: "start", to: "running" });
    if (status === "running") out.push({ action: "stop", to: "stopped" });
    if (status === "running" || status === "stopped") out.push({ action: "decide", to: "decided" });
    if (status === "running" || status === "decided") out.push({ action: "deactivate", to: "stopped" });
  } else {
    if (status === "inactive") out.push({ action: "activate", to: "active" });
    if (status === "active") out.push({ action: "deactivate", to: "inactive" });
  }
  out.push({ action: "archive", to: "archived" });
  return out;
}

/** Undefined when the flag is where it should be, or when nothing leads there (`reachable` says which). */
export function nextLifecycleAction(
  state: LifecycleState,
  target: { status: FlagStatus; decidedVariant?: string | undefined },
): { action: LifecycleAction; reachable: true } | { action: undefined; reachable: boolean } {
  const decidedOther =
    state.status === "decided" && target.status === "decided" && state.decidedVariant !== target.decidedVariant;
  if (state.status === target.status && !decidedOther) return { action: undefined, reachable: true };
  // Breadth first over statuses; a decided flag shipping another variant must leave `decided` first.
  const first = new Map<FlagStatus, LifecycleAction>();
  let frontier: FlagStatus[] = [state.status];
  const seen = new Set<FlagStatus>(decidedOther ? [] : [state.status]);
  while (frontier.length > 0) {
    const next: FlagStatus[] = [];
    for (const status of frontier) {
      for (const edge of edges(state, status)) {
        if (seen.has(edge.to)) continue;
        seen.add(edge.to);
        const action = first.get(status) ?? edge.action;
        if (edge.to === target.status)
          return { action: status === state.status ? edge.action : action, reachable: true };
        first.set(edge.to, status === state.status ? edge.action : action);
        next.push(edge.to);
      }
    }
    frontier = next;
  }
  return { action: undefined, reachable: false };
}
