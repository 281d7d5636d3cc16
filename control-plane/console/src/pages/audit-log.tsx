/**
 * The project's audit log (GET /projects/{p}/audit): every change to its flags and catalog metrics,
 * newest first, filtered by who, which flag or metric, which action and when, and searched as text.
 */
import { useRef, useState } from "preact/hooks";
import { Link } from "wouter-preact";
import { api } from "../api.js";
import { ChangeList, Loading, Select, useLoad, when } from "../components.js";
import type { Change } from "../diff.js";

interface AuditEntry {
  resource: "flag" | "metric";
  key: string;
  name: string;
  version: number;
  action: string;
  actor: string;
  at: string;
  diff: Change[];
}
interface AuditPage {
  entries: AuditEntry[];
  total: number;
  actors: string[];
  actions: string[];
  keys: string[];
}

const PAGE = 100;

export function AuditLogTab({ project }: { project: string }) {
  const [filter, setFilter] = useState({ actor: "", key: "", action: "", from: "", to: "", q: "" });
  const [limit, setLimit] = useState(PAGE);
  const [open, setOpen] = useState<string | undefined>();
  const set = (field: keyof typeof filter) => (value: string) => {
    setFilter((f) => ({ ...f, [field]: value }));
    setLimit(PAGE);
  };
  const query = new URLSearchParams(
    Object.entries({ ...filter, limit: String(limit) }).filter(([, v]) => v !== ""),
  ).toString();
  const log = useLoad(() => api.get<AuditPage>(`/projects/${project}/audit?${query}`), [project, query]);
  // The choices come from the whole log; kept from the first answer so they do not shrink as filters narrow.
  const first = useRef<Pick<AuditPage, "actors" | "actions" | "keys">>();
  if (log.data && !first.current) first.current = log.data;
  const choices = first.current;
  const filtered = Object.values(filter).some((v) => v !== "");

  return (
    <section>
      <div class="toolbar">
        <label class="field grow">
          <span class="field-label">Search</span>
          <input
            type="search"
            placeholder="Key, name, person, field or value"
            value={filter.q}
            onInput={(e) => set("q")(e.currentTarget.value)}
          />
        </label>
        <Select
          label="Who"
          value={filter.actor}
          options={[["", "Anyone"] as const, ...(choices?.actors ?? []).map((a) => [a, a] as const)]}
          onChange={set("actor")}
        />
        <Select
          label="Flag or metric"
          value={filter.key}
          options={[["", "All"] as const, ...(choices?.keys ?? []).map((k) => [k, k] as const)]}
          onChange={set("key")}
        />
        <Select
          label="Action"
          value={filter.action}
          options={[["", "Any action"] as const, ...(choices?.actions ?? []).map((a) => [a, a] as const)]}
          onChange={set("action")}
        />
        <label class="field">
          <span class="field-label">From</span>
          <input type="date" value={filter.from} onInput={(e) => set("from")(e.currentTarget.value)} />
        </label>
        <label class="field">
          <span class="field-label">To</span>
          <input type="date" value={filter.to} onInput={(e) => set("to")(e.currentTarget.value)} />
        </label>
      </div>
      <Loading state={log}>
        {(page) =>
          page.total === 0 ? (
            <p class="muted">{filtered ? "No change matches these filters." : "No changes yet in this project."}</p>
          ) : (
            <>
              <p class="muted" data-testid="audit-count">
                {page.total === page.entries.length
                  ? `${page.total} change${page.total === 1 ? "" : "s"}`
                  : `Newest ${page.entries.length} of ${page.total} changes`}
                , newest first
              </p>
              <table class="list audit">
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Who</th>
                    <th scope="col">Action</th>
                    <th scope="col">Flag or metric</th>
                    <th scope="col">Changes</th>
                  </tr>
                </thead>
                <tbody>
                  {page.entries.map((entry) => {
                    const id = `${entry.resource}/${entry.key}/${entry.version}`;
                    return (
                      <AuditRow
                        key={id}
                        project={project}
                        entry={entry}
                        open={open === id}
                        onToggle={() => setOpen(open === id ? undefined : id)}
                      />
                    );
                  })}
                </tbody>
              </table>
              {page.total > page.entries.length && (
                <button type="button" onClick={() => setLimit(limit + PAGE)}>
                  Show {Math.min(PAGE, page.total - page.entries.length)} more
                </button>
              )}
            </>
          )
        }
      </Loading>
    </section>
  );
}

function AuditRow({
  project,
  entry,
  open,
  onToggle,
}: {
  project: string;
  entry: AuditEntry;
  open: boolean;
  onToggle: () => void;
}) {
  const href =
    entry.resource === "flag"
      ? `/projects/${project}/flags/${entry.key}/history`
      : `/projects/${project}/metrics/${entry.key}`;
  const count =
    entry.version === 1 && entry.diff.length === 0
      ? "first version"
      : `${entry.diff.length} change${entry.diff.length === 1 ? "" : "s"}`;
  return (
    <>
      <tr data-audit={`${entry.key}@${entry.version}`}>
        <td>{when(entry.at)}</td>
        <td>{entry.actor}</td>
        <td>
          <span class="tag">{entry.action}</span>
        </td>
        <td>
          <Link href={href}>{entry.name}</Link> <span class="muted">{entry.resource}</span>
          <div>
            <code class="muted">{entry.key}</code> · version {entry.version}
          </div>
        </td>
        <td>
          {entry.diff.length === 0 ? (
            <span class="muted">{count}</span>
          ) : (
            <button type="button" class="link" aria-expanded={open} onClick={onToggle}>
              {count}
            </button>
          )}
        </td>
      </tr>
      {open && (
        <tr>
          <td colSpan={5}>
            <ChangeList changes={entry.diff} />
          </td>
        </tr>
      )}
    </>
  );
}
