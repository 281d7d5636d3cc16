/** Every version of a flag: who, when, what changed (readable diff), and restore. */
import { useState } from "preact/hooks";
import { api } from "../api.js";
import { ChangeList, ConfirmButton, ErrorBanner, Loading, useAction, useLoad, when } from "../components.js";
import type { Change } from "../diff.js";
import { useCan } from "../me.js";
import type { Flag, HistoryEntry } from "../types.js";

export function HistoryTab({ project, flag, onRestored }: { project: string; flag: Flag; onRestored: () => void }) {
  const history = useLoad(
    () => api.get<HistoryEntry[]>(`/projects/${project}/flags/${flag.key}/versions`),
    [project, flag.key, flag.version],
  );
  const [open, setOpen] = useState<number | undefined>();
  const { error, run } = useAction();
  const can = useCan();
  const restore = async (version: number) =>
    void (
      (await run(() =>
        api.post(`/projects/${project}/flags/${flag.key}/versions/${version}/restore`, {}, flag.version),
      )) && onRestored()
    );
  return (
    <section>
      <ErrorBanner error={error} />
      <Loading state={history}>
        {(entries) => (
          <ol class="history" reversed>
            {[...entries]
              .sort((a, b) => b.version - a.version)
              .map((entry) => (
                <li key={entry.version} data-version={entry.version}>
                  <div class="history-row">
                    <button
                      type="button"
                      class="link"
                      aria-expanded={open === entry.version}
                      onClick={() => setOpen(open === entry.version ? undefined : entry.version)}
                    >
                      Version {entry.version}
                    </button>
                    <span>
                      <strong>{entry.action}</strong> by {entry.actor}, {when(entry.at)} · {entry.diff.length} change
                      {entry.diff.length === 1 ? "" : "s"}
                    </span>
                    {entry.version === flag.version ? (
                      <span class="badge">current</span>
                    ) : (
                      can.edit &&
                      flag.status !== "archived" && (
                        <ConfirmButton
                          label="Restore"
                          question={`Make version ${entry.version} current again (as version ${flag.version + 1})?`}
                          confirmLabel={`Restore version ${entry.version}`}
                          onConfirm={() => restore(entry.version)}
                        />
                      )
                    )}
                  </div>
                  {open === entry.version && (
                    <ChangeList changes={entry.diff as Change[]} empty="Created (no earlier version)." />
                  )}
                </li>
              ))}
          </ol>
        )}
      </Loading>
    </section>
  );
}
