/**
 * The project's metric catalog: the list (search, archived), and one metric's page: its
 * form (every type), a live preview from the stats service ("last 7 days: N units, mean x"),
 * archive, and its history with restore. Experiments copy a catalog metric when saved.
 */
import { useEffect, useState } from "preact/hooks";
import { Link, useLocation } from "wouter-preact";
import { isBinaryMetric } from "../../../../shared/metrics/binary.js";
import { api, ApiFailure, statsApi } from "../api.js";
import { ConfirmButton, ErrorBanner, Loading, TextArea, useAction, useLoad, when } from "../components.js";
import { useCan } from "../me.js";
import type { CatalogMetric, Metric } from "../types.js";
import { VersionHistory } from "./history.js";
import { describeMetric, MetricForm, useEventTypes } from "./metric-form.js";

export function MetricsTab({ project }: { project: string }) {
  const [q, setQ] = useState("");
  const [archived, setArchived] = useState(false);
  const can = useCan();
  const query = new URLSearchParams({ archived: String(archived), ...(q ? { q } : {}) }).toString();
  const metrics = useLoad(() => api.get<CatalogMetric[]>(`/projects/${project}/metrics?${query}`), [project, query]);
  return (
    <section>
      <div class="toolbar">
        <label class="field grow">
          <span class="field-label">Search</span>
          <input
            type="search"
            placeholder="Key, name, description or event"
            value={q}
            onInput={(e) => setQ(e.currentTarget.value)}
          />
        </label>
        <label class="check">
          <input type="checkbox" checked={archived} onChange={(e) => setArchived(e.currentTarget.checked)} />
          Archived
        </label>
        {can.edit && (
          <Link href={`/projects/${project}/metrics/new`} class="button primary">
            New metric
          </Link>
        )}
      </div>
      <p class="hint">
        Experiments name a catalog metric and keep a copy of the version they were saved with: editing a metric here
        never changes a running analysis.
      </p>
      <Loading state={metrics}>
        {(list) =>
          list.length === 0 ? (
            <p class="muted">{archived ? "No archived metric." : "No metric yet."}</p>
          ) : (
            <table class="list">
              <thead>
                <tr>
                  <th scope="col">Metric</th>
                  <th scope="col">Measures</th>
                  <th scope="col">Version</th>
                  <th scope="col">Last change</th>
                </tr>
              </thead>
              <tbody>
                {list.map((metric) => (
                  <tr key={metric.key} data-metric-row={metric.key}>
                    <td>
                      <Link href={`/projects/${project}/metrics/${metric.key}`}>{metric.name ?? metric.key}</Link>
                      <div>
                        <code class="muted">{metric.key}</code>
                      </div>
                    </td>
                    <td>{describeMetric(metric as Metric)}</td>
                    <td>{metric.version}</td>
                    <td>
                      {metric.lastChange.actor} <span class="muted">({metric.lastChange.action})</span>
                      <div class="muted">{when(metric.updatedAt)}</div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loading>
    </section>
  );
}

const definitionOf = (entry: CatalogMetric): Metric => {
  const { archived, version, createdAt, updatedAt, lastChange, ...definition } = entry;
  return definition as Metric;
};

const NEW_METRIC = { key: "", type: "unique_conversions", eventType: "", filters: [] } as unknown as Metric;

/** A catalog metric: edit (or create), preview, archive, history. */
export function MetricPage({ project, metricKey }: { project: string; metricKey?: string | undefined }) {
  const state = useLoad(
    () =>
      metricKey ? api.get<CatalogMetric>(`/projects/${project}/metrics/${metricKey}`) : Promise.resolve(undefined),
    [project, metricKey],
  );
  return (
    <>
      <p class="crumbs">
        <Link href="/">Projects</Link> / <Link href={`/projects/${project}/metrics`}>{project} metrics</Link> /
      </p>
      {metricKey ? (
        <Loading state={state}>
          {(entry) =>
            entry && <MetricEditorView key={entry.version} project={project} entry={entry} onSaved={state.reload} />
          }
        </Loading>
      ) : (
        <MetricEditorView project={project} onSaved={() => undefined} />
      )}
    </>
  );
}

function MetricEditorView({
  project,
  entry,
  onSaved,
}: {
  project: string;
  entry?: CatalogMetric;
  onSaved: () => void;
}) {
  const [draft, setDraft] = useState<Metric>(entry ? definitionOf(entry) : NEW_METRIC);
  const [, navigate] = useLocation();
  const events = useEventTypes(project);
  const { error, run } = useAction();
  const can = useCan();
  const save = () =>
    run(async () => {
      const saved = entry
        ? await api.put<CatalogMetric>(`/projects/${project}/metrics/${entry.key}`, draft, entry.version)
        : await api.post<CatalogMetric>(`/projects/${project}/metrics`, draft);
      if (entry) onSaved();
      else navigate(`/projects/${project}/metrics/${saved.key}`);
    });
  const act = (action: "archive" | "unarchive") =>
    run(async () => {
      await api.post(`/projects/${project}/metrics/${entry!.key}/${action}`, {}, entry!.version);
      onSaved();
    });
  return (
    <section class="metric-page">
      <h1>
        {entry ? (entry.name ?? entry.key) : "New metric"} {entry && <code>{entry.key}</code>}{" "}
        {entry?.archived && <span class="badge status-archived">archived</span>}
      </h1>
      {entry && (
        <p class="muted">
          Version {entry.version}, last changed by {entry.lastChange.actor} {when(entry.updatedAt)}.
        </p>
      )}
      <ErrorBanner error={error} />
      <fieldset disabled={!can.edit || entry?.archived} class="plain">
        <MetricForm title="Metric" metric={draft} events={events} keyLocked={!!entry} onChange={setDraft} />
        <TextArea
          label="Metric: description"
          rows={2}
          value={(draft as { description?: string }).description ?? ""}
          onInput={(e) => {
            const { description, ...rest } = draft as Metric & { description?: string };
            setDraft((e.currentTarget.value ? { ...rest, description: e.currentTarget.value } : rest) as Metric);
          }}
        />
      </fieldset>
      <Preview project={project} metric={draft} />
      {can.edit && (
        <div class="save-bar">
          {!entry?.archived && (
            <button type="button" class="primary" onClick={save}>
              {entry ? `Save as version ${entry.version + 1}` : "Create metric"}
            </button>
          )}
          {entry && !entry.archived && (
            <ConfirmButton
              label="Archive"
              question="Archive it? Experiments keep their copies; new ones can no longer name it."
              confirmLabel="Archive metric"
              onConfirm={() => void act("archive")}
              danger
            />
          )}
          {entry?.archived && (
            <button type="button" onClick={() => act("unarchive")}>
              Unarchive
            </button>
          )}
        </div>
      )}
      {entry && <MetricHistory project={project} entry={entry} onRestored={onSaved} />}
    </section>
  );
}

interface PreviewResult {
  days: number;
  units: number;
  mean: number | null;
}

/** The first field of the metric a validation error names (`details: [{path: ["metric", …]}]`), as ErrorBanner shows paths. */
function refusedField(error: ApiFailure): string {
  const path = Array.isArray(error.details) ? (error.details[0] as { path?: unknown[] } | undefined)?.path : undefined;
  return (path ?? []).slice(path?.[0] === "metric" ? 1 : 0).join(".") || "the definition";
}

/** "Last 7 days: N units, mean x", recomputed a moment after the definition stops changing. */
function Preview({ project, metric }: { project: string; metric: Metric }) {
  // `incomplete`: the stats service refused the definition (400), as a half-filled form is; the field it named.
  const [result, setResult] = useState<PreviewResult | "none" | { incomplete: string } | undefined>();
  const body = JSON.stringify(metric);
  useEffect(() => {
    let current = true;
    const timer = setTimeout(() => {
      // Inside the promise: without a stats URL statsApi throws at once, and that too means "no data".
      Promise.resolve()
        .then(() =>
          statsApi.post<PreviewResult>(`/projects/${project}/metrics/preview`, { metric: JSON.parse(body), days: 7 }),
        )
        .then(
          (r) => current && setResult(r),
          (error: unknown) =>
            current &&
            setResult(
              error instanceof ApiFailure && error.status === 400 ? { incomplete: refusedField(error) } : "none",
            ),
        );
    }, 400); // one request per pause in typing, not per keystroke
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [project, body]);
  return (
    <output class="preview" aria-live="polite" data-testid="metric-preview">
      <strong>Preview: </strong>
      {result === undefined ? (
        "computing…"
      ) : typeof result === "object" && "incomplete" in result ? (
        <>
          complete the definition to see its values (<code>{result.incomplete}</code> is missing or not valid)
        </>
      ) : result === "none" || result.units === 0 ? (
        "no event data yet"
      ) : (
        `last ${result.days} days: ${result.units.toLocaleString()} units, mean ${
          result.mean === null ? "—" : result.mean.toPrecision(4)
        }${
          // A 0/1 metric's mean is the share of units that converted: say it as people read it.
          result.mean !== null && isBinaryMetric(metric) ? ` (${(result.mean * 100).toFixed(1)}% of units)` : ""
        }`
      )}
    </output>
  );
}

function MetricHistory({
  project,
  entry,
  onRestored,
}: {
  project: string;
  entry: CatalogMetric;
  onRestored: () => void;
}) {
  return (
    <section>
      <h2>History</h2>
      <VersionHistory
        path={`/projects/${project}/metrics/${entry.key}`}
        current={entry.version}
        restorable={!entry.archived}
        onRestored={onRestored}
      />
    </section>
  );
}
