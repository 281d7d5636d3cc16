/**
 * Change requests (docs/control-plane.md#change-requests): the project's list, filterable by
 * status, and a flag's own on its page. Each shows its diff, who asked and who reviewed; an
 * editor other than the author approves (applies exactly that diff on its base version) or
 * rejects with a comment. A request whose flag moved on is marked conflicting. A request on a
 * segment links to the Segments tab and shows its diff as a flag's is ("Condition 1 › Values");
 * one on a group (mutual exclusion, holdout) links to the Groups & holdouts tab, its diff
 * labelled ("Holdout (%)").
 */
import { useState } from "preact/hooks";
import { api } from "../api.js";
import { ChangeList, ErrorBanner, useAction, useLoad, when } from "../components.js";
import type { Change } from "../diff.js";
import { useCan } from "../me.js";

interface ChangeRequest {
  id: string;
  flag?: string;
  segment?: string;
  group?: string;
  kind: string;
  action?: string;
  baseVersion: number;
  /** The flag's editable fields (the segment, the group) as they will be: names list items in the diff. */
  input?: unknown;
  /** The request's changes against its base version, as the history's diffs are (diff.ts). */
  diff: Array<{ type: string; path: Array<string | number>; value?: unknown; oldValue?: unknown }>;
  title: string;
  author: string;
  createdAt: string;
  status: string;
  conflicting: boolean;
  review?: { by: string; at: string; comment: string };
  appliedVersion?: number;
  bypass?: { by: string; reason: string };
}

const STATUSES = ["", "open", "conflicting", "applied", "rejected", "bypassed"];
export function ChangeRequestsList({ project, flag }: { project: string; flag?: string }) {
  const can = useCan();
  const [status, setStatus] = useState(flag ? "" : "open");
  const [comment, setComment] = useState("");
  const query = new URLSearchParams({ ...(status ? { status } : {}), ...(flag ? { flag } : {}) }).toString();
  const state = useLoad(() => api.get<ChangeRequest[]>(`/projects/${project}/change-requests?${query}`), [query]);
  const { error, run } = useAction();
  const review = async (id: string, decision: "approve" | "reject") => {
    if (await run(() => api.post(`/projects/${project}/change-requests/${id}/${decision}`, { comment }))) {
      setComment("");
      state.reload();
    }
  };

  return (
    <section class="change-requests" aria-labelledby="requests-heading">
      <h2 id="requests-heading">Change requests</h2>
      <label style={{ display: "flex", gap: "0.4rem", alignItems: "center" }}>
        Status
        <select value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s || "all"}
            </option>
          ))}
        </select>
      </label>
      {state.data && state.data.length === 0 && <p class="muted">No change requests.</p>}
      {state.data && state.data.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Request</th>
              {!flag && <th>Flag, segment or group</th>}
              <th>Change</th>
              <th>On version</th>
              <th>Asked by</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {state.data.map((r) => (
              <tr key={r.id}>
                <td>
                  {r.title}
                  <div class="muted">{when(r.createdAt)}</div>
                </td>
                {!flag && (
                  <td>
                    {r.segment ? (
                      <a href={`#/projects/${project}/segments`}>segment {r.segment}</a>
                    ) : r.group ? (
                      <a href={`#/projects/${project}/groups`}>group {r.group}</a>
                    ) : (
                      <a href={`#/projects/${project}/flags/${r.flag}`}>{r.flag}</a>
                    )}
                  </td>
                )}
                <td class="request-change">
                  {r.kind === "action" ? (
                    `lifecycle action: ${r.action}`
                  ) : (
                    <ChangeList changes={r.diff as Change[]} after={r.input} />
                  )}
                </td>
                <td>{r.baseVersion}</td>
                <td>{r.author}</td>
                <td>
                  <span class={`badge request-${r.conflicting && r.status === "open" ? "conflicting" : r.status}`}>
                    {r.conflicting && r.status === "open"
                      ? `conflicting: the ${r.segment ? "segment" : r.group ? "group" : "flag"} changed since`
                      : r.status}
                  </span>
                  {r.review && (
                    <div class="muted">
                      by {r.review.by}
                      {r.review.comment ? `: “${r.review.comment}”` : ""}
                    </div>
                  )}
                  {r.bypass && (
                    <div class="muted">
                      bypassed by {r.bypass.by}: {r.bypass.reason}
                    </div>
                  )}
                  {r.appliedVersion !== undefined && <div class="muted">version {r.appliedVersion}</div>}
                </td>
                <td class="request-actions">
                  {can.edit && r.status === "open" && (
                    <>
                      <button type="button" disabled={r.conflicting} onClick={() => review(r.id, "approve")}>
                        Approve and apply
                      </button>{" "}
                      <button type="button" onClick={() => review(r.id, "reject")}>
                        Reject
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {can.edit && state.data?.some((r) => r.status === "open") && (
        <label style={{ display: "flex", gap: "0.4rem", alignItems: "center", marginTop: "0.5rem" }}>
          Review comment
          <input value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
        </label>
      )}
      <ErrorBanner error={error ?? state.error} />
    </section>
  );
}
