/** Every version of a versioned resource (a flag, a catalog metric): who, when, what changed, and restore. */
import { useState } from "preact/hooks";
import { api } from "../api.js";
import { ChangeList, ConfirmButton, ErrorBanner, Loading, useAction, useLoad, when } from "../components.js";
import type { Change } from "../diff.js";
import { useCan } from "../me.js";
import type { Flag } from "../types.js";

/** What a history entry of any versioned resource shows. */
interface VersionEntry {
  version: number;
  action: string;
  actor: string;
  at: string;
  diff: unknown[];
  /** The resource as this version left it (a flag's or a metric's history). */
  flag?: unknown;
  metric?: unknown;
}
const documentOf = (entry: VersionEntry | undefined) => entry?.flag ?? entry?.metric;

/** "3 changes"; a first version has no earlier one to differ from, so it says what it is. */
export const changeCount = (entry: Pick<VersionEntry, "version" | "diff">): string =>
  entry.version === 1 && entry.diff.length === 0
    ? "first version"
    : `${entry.diff.length} change${entry.diff.length === 1 ? "" : "s"}`;

/**
 * The versions of the resource at `path` (`/projects/p/flags/k`), newest first, each with its
 * readable diff; a version other than `current` can be restored when `restorable` and the
 * admin may edit.
 */
export function VersionHistory({
  path,
  current,
  restorable,
  onRestored,
}: {
  path: string;
  current: number;
  restorable: boolean;
  onRestored: () => void;
}) {
  const history = useLoad(() => api.get<VersionEntry[]>(`${path}/versions`), [path, current]);
  const [open, setOpen] = useState<number | undefined>();
  const { error, run } = useAction();
  const can = useCan();
  const restore = async (version: number) =>
    void ((await run(() => api.post(`${path}/versions/${version}/restore`, {}, current))) && onRestored());
  return (
    <>
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
                      <strong>{entry.action}</strong> by {entry.actor}, {when(entry.at)} · {changeCount(entry)}
                    </span>
                    {entry.version === current ? (
                      <span class="badge">current</span>
                    ) : (
                      can.edit &&
                      restorable && (
                        <ConfirmButton
                          label="Restore"
                          question={`Make version ${entry.version} current again (as version ${current + 1})?`}
                          confirmLabel={`Restore version ${entry.version}`}
                          onConfirm={() => restore(entry.version)}
                        />
                      )
                    )}
                  </div>
                  {open === entry.version && (
                    <ChangeList
                      changes={entry.diff as Change[]}
                      empty="Created (no earlier version)."
                      after={documentOf(entry)}
                      before={documentOf(entries.find((e) => e.version === entry.version - 1))}
                    />
                  )}
                </li>
              ))}
          </ol>
        )}
      </Loading>
    </>
  );
}

export function HistoryTab({ project, flag, onRestored }: { project: string; flag: Flag; onRestored: () => void }) {
  return (
    <section>
      <VersionHistory
        path={`/projects/${project}/flags/${flag.key}`}
        current={flag.version}
        restorable={flag.status !== "archived"}
        onRestored={onRestored}
      />
    </section>
  );
}
