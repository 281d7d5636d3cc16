/**
 * Experiment settings: hypothesis, metrics and the analysis. While it runs the primary
 * metric and the analysis settings are locked; secondary and guardrail metrics can be
 * added (from the catalog or inline) and removed any time.
 */
import { useState } from "preact/hooks";
import { api } from "../../api.js";
import { metricWindowDays } from "../../metric-window.js";
import { Field, Select, TextArea, useLoad } from "../../components.js";
import type { CatalogMetric, FlagInput, Metric } from "../../types.js";
import type { Edit } from "./draft.js";
import { GroupProblem } from "./problems.js";
import { type EventTypeInfo, MetricForm, useEventTypes } from "../metric-form.js";

const CORRECTIONS = [
  ["bonferroni", "Bonferroni (default)"],
  ["holm", "Holm"],
  ["benjamini-hochberg", "Benjamini–Hochberg"],
] as const;

export function ExperimentFields({
  project,
  draft,
  edit,
  locked,
  isNew,
  withHypothesis = true,
}: {
  project: string;
  draft: FlagInput;
  edit: Edit;
  locked: boolean;
  /** Not stored yet: without a metric window it gets the API's default. */
  isNew: boolean;
  /** False where the hypothesis has a step of its own (the guided flow). */
  withHypothesis?: boolean;
}) {
  const hypothesis = draft.hypothesis ?? { problem: "", proposedChange: "", predictedResult: "" };
  const setHypothesis = (field: keyof typeof hypothesis, value: string) =>
    edit((d) => void (d.hypothesis = { ...hypothesis, [field]: value }));
  const events = useEventTypes(project);
  const catalog =
    useLoad(() => api.get<CatalogMetric[]>(`/projects/${project}/metrics?archived=false`).catch(() => []), [project])
      .data ?? [];
  // Each metric of an experiment has its own key (the API refuses a repeat): none is offered twice.
  const usedKeys = new Set(
    [draft.primaryMetric, ...draft.secondaryMetrics, ...draft.guardrailMetrics].flatMap((m) => (m ? [m.key] : [])),
  );
  let free = 1;
  while (usedKeys.has(`metric-${free}`)) free++;
  const metricList = (field: "secondaryMetrics" | "guardrailMetrics", title: string) => (
    <fieldset data-metric-list={field}>
      <legend>{title}</legend>
      {draft[field].map((metric, i) => (
        <MetricEditor
          key={i}
          title={`${title} ${i + 1}`}
          metric={metric}
          catalog={catalog}
          events={events}
          frozen={locked && i < (lockedCount[field] ?? 0)}
          onChange={(m) => edit((d) => void (d[field][i] = m))}
          onRemove={() => edit((d) => void d[field].splice(i, 1))}
        />
      ))}
      <AddMetric
        what={title.toLowerCase().replace(/ metrics$/, "")}
        catalog={catalog.filter((c) => !usedKeys.has(c.key))}
        onAdd={(m) => edit((d) => void d[field].push(m))}
        nextKey={`metric-${free}`}
      />
    </fieldset>
  );
  // While running, the metrics already saved keep their definitions; the ones added since are still editable.
  const [lockedCount] = useState(() => ({
    secondaryMetrics: draft.secondaryMetrics.length,
    guardrailMetrics: draft.guardrailMetrics.length,
  }));
  return (
    <>
      {withHypothesis && (
        <fieldset>
          <legend>Hypothesis</legend>
          <TextArea
            label="Problem"
            rows={2}
            value={hypothesis.problem}
            onInput={(e) => setHypothesis("problem", e.currentTarget.value)}
          />
          <TextArea
            label="Proposed change"
            rows={2}
            value={hypothesis.proposedChange}
            onInput={(e) => setHypothesis("proposedChange", e.currentTarget.value)}
          />
          <TextArea
            label="Predicted result"
            rows={2}
            value={hypothesis.predictedResult}
            onInput={(e) => setHypothesis("predictedResult", e.currentTarget.value)}
          />
        </fieldset>
      )}
      <fieldset disabled={locked} class="analysis">
        <legend>Primary metric and analysis</legend>
        {locked && (
          <p class="hint">
            Locked while the experiment runs: changing them needs a new analysis period (stop it, edit, start again).
          </p>
        )}
        {draft.primaryMetric ? (
          <MetricEditor
            title="Primary metric"
            metric={draft.primaryMetric}
            catalog={catalog}
            events={events}
            frozen={locked}
            onChange={(m) => edit((d) => void (d.primaryMetric = m))}
            onRemove={() => edit((d) => delete d.primaryMetric)}
          />
        ) : (
          <AddMetric
            what="primary"
            catalog={catalog}
            onAdd={(m) => edit((d) => void (d.primaryMetric = m))}
            nextKey="conversion"
          />
        )}
        <GroupProblem problem="primaryMetric" />
        <div class="row">
          <Select
            label="Statistical method"
            value={draft.statisticalMethod}
            options={
              [
                ["sequential", "Sequential (look any time)"],
                ["ttest", "T-test (one look at the end)"],
              ] as const
            }
            onChange={(m) => edit((d) => void (d.statisticalMethod = m))}
          />
          <Field
            label="Confidence level (%)"
            type="number"
            min={51}
            max={99.9}
            step={0.1}
            value={Math.round(draft.confidenceLevel * 1000) / 10}
            onInput={(e) => edit((d) => void (d.confidenceLevel = Number(e.currentTarget.value) / 100))}
          />
          <Field
            label="Minimum detectable effect (%)"
            hint="Relative to control; tunes the test and sizes the experiment"
            type="number"
            min={0}
            step={0.1}
            value={
              draft.minimumDetectableEffect === undefined ? "" : Math.round(draft.minimumDetectableEffect * 1000) / 10
            }
            onInput={(e) =>
              edit((d) =>
                e.currentTarget.value === ""
                  ? delete d.minimumDetectableEffect
                  : void (d.minimumDetectableEffect = Number(e.currentTarget.value) / 100),
              )
            }
          />
          <Select
            label="Multiple-testing correction"
            value={draft.multipleTestingCorrection ?? "bonferroni"}
            options={CORRECTIONS}
            onChange={(c) => edit((d) => void (d.multipleTestingCorrection = c))}
          />
          <Field
            label="Metric window (days after exposure)"
            hint="Tested once each unit's days have passed; empty: the values so far"
            type="number"
            min={1}
            max={365}
            step={1}
            value={metricWindowDays(draft.defaultMetricWindow, isNew)}
            onInput={(e) =>
              edit(
                (d) =>
                  void (d.defaultMetricWindow =
                    e.currentTarget.value === ""
                      ? "none"
                      : { endHours: Math.round(Number(e.currentTarget.value) * 24) }),
              )
            }
          />
        </div>
      </fieldset>
      <fieldset class="analysis">
        <legend>Secondary and guardrail metrics</legend>
        {locked && (
          <p class="hint">
            The experiment runs: you can add and remove these; an added metric is computed over the whole period.
          </p>
        )}
        {metricList("secondaryMetrics", "Secondary metrics")}
        {metricList("guardrailMetrics", "Guardrail metrics")}
      </fieldset>
    </>
  );
}

/** "Add metric": from the catalog (a pinned copy) or a new inline one. */
function AddMetric({
  what: role,
  catalog,
  onAdd,
  nextKey,
}: {
  what: string;
  catalog: CatalogMetric[];
  onAdd: (metric: Metric) => void;
  nextKey: string;
}) {
  const [choice, setChoice] = useState("");
  const picked = catalog.find((c) => c.key === choice) ?? catalog[0];
  return (
    <div class="row add-metric">
      {catalog.length > 0 && picked && (
        <>
          <Select
            label={`Catalog metric for ${role}`}
            value={picked.key}
            options={catalog.map((c) => [c.key, c.name ? `${c.name} (${c.key})` : c.key] as const)}
            onChange={setChoice}
          />
          <button type="button" class="small" onClick={() => onAdd(fromCatalog(picked))}>
            Add {role} metric from catalog
          </button>
        </>
      )}
      <button
        type="button"
        class="small"
        onClick={() => onAdd({ key: nextKey, type: "unique_conversions", eventType: "", filters: [] } as Metric)}
      >
        Add inline {role} metric
      </button>
    </div>
  );
}

/** One metric: its form, and when it is a copy of a catalog entry, where from (and "update" on a draft). */
function MetricEditor({
  title,
  metric,
  catalog,
  events,
  frozen,
  onChange,
  onRemove,
}: {
  title: string;
  metric: Metric;
  catalog: CatalogMetric[];
  events: EventTypeInfo[];
  /** Running: the definition is fixed (remove it and add another instead). */
  frozen: boolean;
  onChange: (metric: Metric) => void;
  onRemove: () => void;
}) {
  const entry = metric.catalog && catalog.find((m) => m.key === metric.catalog!.key);
  return (
    <fieldset class="metric-editor">
      <legend>{title}</legend>
      {metric.catalog && (
        <p class="hint">
          From the catalog: <code>{metric.catalog.key}</code> version {metric.catalog.version} (a copy: editing the
          catalog does not change this experiment).{" "}
          {entry && entry.version > metric.catalog.version && !frozen && (
            <button type="button" class="small" onClick={() => onChange(fromCatalog(entry))}>
              Update to the catalog's version {entry.version}
            </button>
          )}
        </p>
      )}
      <fieldset disabled={frozen} class="plain">
        <MetricForm title={title} metric={metric} events={events} onChange={onChange} />
      </fieldset>
      <button type="button" class="small danger" onClick={onRemove}>
        Remove {metric.key}
      </button>
    </fieldset>
  );
}

/** A catalog entry as an experiment's metric: its definition, pinned to its version. */
export function fromCatalog(entry: CatalogMetric): Metric {
  const { archived, version, createdAt, updatedAt, lastChange, ...definition } = entry;
  return { ...definition, catalog: { key: entry.key, version } } as Metric;
}
