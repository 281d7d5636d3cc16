/** Experiment settings: hypothesis, metrics and the analysis (locked while it runs). */
import { Field, Select, TextArea } from "../../components.js";
import type { FlagInput, Metric } from "../../types.js";
import type { Edit } from "../flag-editor.js";

const METRIC_TYPES = [
  ["unique_conversions", "Conversion (did the unit do it)"],
  ["event_totals", "Event count per unit"],
  ["property_sum", "Sum of a property per unit"],
  ["property_average", "Average of a property per unit"],
] as const;
const CORRECTIONS = [
  ["bonferroni", "Bonferroni (default)"],
  ["holm", "Holm"],
  ["benjamini-hochberg", "Benjamini–Hochberg"],
] as const;

export function ExperimentFields({ draft, edit, locked }: { draft: FlagInput; edit: Edit; locked: boolean }) {
  const hypothesis = draft.hypothesis ?? { problem: "", proposedChange: "", predictedResult: "" };
  const setHypothesis = (field: keyof typeof hypothesis, value: string) =>
    edit((d) => void (d.hypothesis = { ...hypothesis, [field]: value }));
  const metricList = (field: "secondaryMetrics" | "guardrailMetrics", title: string) => (
    <fieldset>
      <legend>{title}</legend>
      {draft[field].map((metric, i) => (
        <MetricEditor
          key={i}
          title={`${title} ${i + 1}`}
          metric={metric}
          onChange={(m) => edit((d) => void (d[field][i] = m))}
          onRemove={() => edit((d) => void d[field].splice(i, 1))}
        />
      ))}
      <button
        type="button"
        class="small"
        onClick={() =>
          edit(
            (d) =>
              void d[field].push({ key: `metric-${d[field].length + 1}`, type: "unique_conversions", eventType: "" }),
          )
        }
      >
        Add {title.toLowerCase().replace(/s$/, "")}
      </button>
    </fieldset>
  );
  return (
    <>
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
      <fieldset disabled={locked} class="analysis">
        <legend>Metrics and analysis</legend>
        {locked && (
          <p class="hint">
            Locked while the experiment runs: stop it to change the analysis (a new run starts afresh).
          </p>
        )}
        {draft.primaryMetric ? (
          <MetricEditor
            title="Primary metric"
            metric={draft.primaryMetric}
            onChange={(m) => edit((d) => void (d.primaryMetric = m))}
            onRemove={() => edit((d) => delete d.primaryMetric)}
          />
        ) : (
          <button
            type="button"
            onClick={() =>
              edit((d) => void (d.primaryMetric = { key: "conversion", type: "unique_conversions", eventType: "" }))
            }
          >
            Add a primary metric
          </button>
        )}
        {metricList("secondaryMetrics", "Secondary metrics")}
        {metricList("guardrailMetrics", "Guardrail metrics")}
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
        </div>
      </fieldset>
    </>
  );
}

function MetricEditor({
  title,
  metric,
  onChange,
  onRemove,
}: {
  title: string;
  metric: Metric;
  onChange: (metric: Metric) => void;
  onRemove: () => void;
}) {
  const numeric = metric.type === "property_sum" || metric.type === "property_average";
  const set = (patch: Partial<Metric>) => {
    const next: Metric = { ...metric, ...patch };
    for (const key of Object.keys(next) as Array<keyof Metric>)
      if (next[key] === undefined || next[key] === "") delete next[key];
    onChange(next);
  };
  return (
    <fieldset class="metric-editor">
      <legend>{title}</legend>
      <div class="row">
        <Field
          label={`${title}: key`}
          value={metric.key}
          required
          onInput={(e) => set({ key: e.currentTarget.value })}
        />
        <Field
          label={`${title}: name`}
          value={metric.name ?? ""}
          onInput={(e) => set({ name: e.currentTarget.value })}
        />
        <Select
          label={`${title}: type`}
          value={metric.type}
          options={METRIC_TYPES}
          onChange={(type) =>
            set(
              type === "property_sum" || type === "property_average"
                ? { type, property: metric.property ?? "revenue" }
                : { type, property: undefined, capPercentile: undefined, capValue: undefined },
            )
          }
        />
        <Field
          label={`${title}: event type`}
          value={metric.eventType}
          required
          onInput={(e) => set({ eventType: e.currentTarget.value })}
        />
        {numeric && (
          <Field
            label={`${title}: event property`}
            value={metric.property ?? ""}
            required
            onInput={(e) => set({ property: e.currentTarget.value })}
          />
        )}
        <Select
          label={`${title}: better when it`}
          value={metric.direction ?? "increase"}
          options={
            [
              ["increase", "increases"],
              ["decrease", "decreases"],
            ] as const
          }
          onChange={(direction) => set({ direction })}
        />
        {numeric && (
          <Field
            label={`${title}: cap at percentile`}
            hint="Default 99; 100 turns capping off"
            type="number"
            min={90}
            max={100}
            step={0.1}
            value={metric.capPercentile === undefined ? "" : metric.capPercentile * 100}
            onInput={(e) =>
              set({ capPercentile: e.currentTarget.value === "" ? undefined : Number(e.currentTarget.value) / 100 })
            }
          />
        )}
        {numeric && (
          <Field
            label={`${title}: or cap at value`}
            type="number"
            min={0}
            value={metric.capValue ?? ""}
            onInput={(e) => set({ capValue: e.currentTarget.value === "" ? undefined : Number(e.currentTarget.value) })}
          />
        )}
      </div>
      <button type="button" class="small danger" onClick={onRemove}>
        Remove {metric.key}
      </button>
    </fieldset>
  );
}
