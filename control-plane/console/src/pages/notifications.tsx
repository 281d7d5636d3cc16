/**
 * The project's notification feed (docs/releases.md#the-notification-feed): every event
 * webhooks are sent, newest first, as the line a person reads. The flags list reads the same
 * feed for its "significant" badge.
 */
import { Link } from "wouter-preact";
import { api } from "../api.js";
import { Loading, useLoad, when } from "../components.js";

export interface Notification {
  id: string;
  type: string;
  at: string;
  data: Record<string, unknown>;
  summary: string;
}

const feedPath = (project: string) => `/projects/${project}/notifications?limit=100`;

/** The experiments whose primary metric the watcher found significant (from the feed). */
export function useSignificant(project: string): Set<string> {
  const state = useLoad(() => api.get<Notification[]>(feedPath(project)), [project]);
  return new Set(
    (state.data ?? []).filter((n) => n.type === "experiment.significant").map((n) => String(n.data["flag"])),
  );
}

/** Markdown-ish `code` spans and *bold* of the summaries, shown as plain text. */
const plain = (text: string) => text.replace(/[`*]/g, "");

export function NotificationsTab({ project }: { project: string }) {
  const state = useLoad(() => api.get<Notification[]>(feedPath(project)), [project]);
  return (
    <Loading state={state}>
      {(feed) =>
        feed.length === 0 ? (
          <p class="muted">Nothing yet: changes, schedules, rollouts and experiment findings show here.</p>
        ) : (
          <table class="notifications">
            <thead>
              <tr>
                <th>When</th>
                <th>Event</th>
                <th>What happened</th>
              </tr>
            </thead>
            <tbody>
              {feed.map((n) => (
                <tr key={n.id} class={`notification-${n.type.replace(".", "-")}`}>
                  <td>{when(n.at)}</td>
                  <td>
                    <code>{n.type}</code>
                  </td>
                  <td style={{ whiteSpace: "pre-line" }}>
                    {plain(n.summary)}
                    {typeof n.data["flag"] === "string" && (
                      <>
                        {" "}
                        <Link href={`/projects/${project}/flags/${n.data["flag"]}`}>open {n.data["flag"]}</Link>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      }
    </Loading>
  );
}
